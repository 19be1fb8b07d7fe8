package relay

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relayapi"
)

func armoredPublic(t *testing.T, k *envelope.Key) string {
	t.Helper()
	var b strings.Builder
	if err := k.Public().WritePublic(&b, true); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// enrollWith exchanges an organisation token for a sender credential.
func (h *harness) enrollWith(orgToken string, key *envelope.Key) (*http.Response, relayapi.EnrollResponse) {
	h.t.Helper()
	var b strings.Builder
	key.Public().WritePublic(&b, true)
	resp, body := h.do("POST", "/api/v1/enroll", relayapi.EnrollRequest{SenderKey: b.String()}, "Authorization", "Bearer "+orgToken)
	var er relayapi.EnrollResponse
	json.Unmarshal(body, &er)
	return resp, er
}

// createAs creates a drop with the given credential and sender key.
func (h *harness) createAs(token, senderKey string) (*http.Response, []byte) {
	h.t.Helper()
	data := []byte("0123456789")
	return h.do("POST", "/api/v1/drops", relayapi.CreateDropRequest{Size: 10, SHA256: hexSHA(data), Mode: "key",
		Recipients: []string{"martin@police.example"}, SenderKey: senderKey}, "Authorization", "Bearer "+token)
}

func info(t *testing.T, h *harness, id string) relayapi.DropInfo {
	t.Helper()
	_, b := h.do("GET", "/api/v1/drops/"+id, nil)
	var di relayapi.DropInfo
	json.Unmarshal(b, &di)
	return di
}

// Two senders enrolled with one organisation token: the second cannot
// sign as the first, and only the first, once approved, is vouched for.
func TestSenderIdentityBoundAtEnrolment(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	org, orgToken, err := CreateToken(ctx, h.srv.store, TokenSpec{Kind: KindOrg, Name: "CHU de Lyon — UMJ", Org: "CHU de Lyon — UMJ", Uses: 3}, h.clock.Now())
	if err != nil || !strings.HasPrefix(orgToken, OrgTokenPrefix) {
		t.Fatal(err, orgToken)
	}
	// An organisation token does not send.
	if resp, body := h.createAs(orgToken, ""); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "organisation token") {
		t.Fatalf("drop with an organisation token: %d %s", resp.StatusCode, body)
	}
	claire, _ := envelope.GenerateKey("Dr Claire Durand", "claire.durand@chu.example", nil)
	mallory, _ := envelope.GenerateKey("Mallory", "mallory@chu.example", nil)
	forged, _ := envelope.GenerateKey("Dr Claire Durand", "claire.durand@chu.example", nil)

	resp, ce := h.enrollWith(orgToken, claire)
	if resp.StatusCode != http.StatusCreated || ce.Fingerprint != claire.Fingerprint() || ce.Verified || ce.Org != "CHU de Lyon — UMJ" {
		t.Fatalf("enrol claire: %d %+v", resp.StatusCode, ce)
	}
	resp, me := h.enrollWith(orgToken, mallory)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("enrol mallory: %d", resp.StatusCode)
	}
	// Mallory cannot enrol a key in Claire's name either.
	if resp, _ := h.enrollWith(orgToken, forged); resp.StatusCode != http.StatusConflict {
		t.Fatalf("enrol a forged key for an enrolled address: %d", resp.StatusCode)
	}
	// The impostor's drop with the forged key is refused at creation.
	resp, body := h.createAs(me.Token, armoredPublic(t, forged))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "not the key bound") {
		t.Fatalf("impostor drop: %d %s", resp.StatusCode, body)
	}
	// Its own key: accepted, not vouched for.
	resp, body = h.createAs(me.Token, armoredPublic(t, mallory))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("mallory's own drop: %d %s", resp.StatusCode, body)
	}
	var md relayapi.CreateDropResponse
	json.Unmarshal(body, &md)
	// Claire's drop: vouched for once an administrator approves her.
	resp, body = h.createAs(ce.Token, armoredPublic(t, claire))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("claire's drop: %d %s", resp.StatusCode, body)
	}
	var cd relayapi.CreateDropResponse
	json.Unmarshal(body, &cd)
	if di := info(t, h, cd.ID); di.SenderVerified {
		t.Fatalf("vouched for before approval: %+v", di)
	}
	if _, err := ApproveSender(ctx, h.srv.store, ce.SenderID); err != nil {
		t.Fatal(err)
	}
	if di := info(t, h, cd.ID); !di.SenderVerified || di.SenderOrg != "CHU de Lyon — UMJ" || di.SenderFingerprint != claire.Fingerprint() {
		t.Fatalf("claire's drop after approval: %+v", di)
	}
	if di := info(t, h, md.ID); di.SenderVerified {
		t.Fatalf("mallory's drop vouched for: %+v", di)
	}
	// Uses run out: 3 allowed, 3 made (one refused by the address check
	// does not count).
	if resp, _ := h.enrollWith(orgToken, mustGen(t, "c@chu.example")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("third enrolment: %d", resp.StatusCode)
	}
	if resp, _ := h.enrollWith(orgToken, mustGen(t, "d@chu.example")); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("enrolment past --uses: %d", resp.StatusCode)
	}
	_ = org
}

func mustGen(t *testing.T, email string) *envelope.Key {
	k, err := envelope.GenerateKey("X", email, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Revocation and expiry take effect on the running relay, with the real
// reason in the 401.
func TestTokenRevokeAndExpiryOnRunningRelay(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	snd, tok, err := CreateToken(ctx, h.srv.store, TokenSpec{Name: "Dr X", ExpiresAt: h.clock.Now().Add(24 * time.Hour)}, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := h.createAs(tok, ""); resp.StatusCode != http.StatusCreated {
		t.Fatalf("fresh token: %d %s", resp.StatusCode, body)
	}
	h.clock.Advance(25 * time.Hour)
	if resp, body := h.createAs(tok, ""); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "expired") {
		t.Fatalf("expired token: %d %s", resp.StatusCode, body)
	}
	_ = snd
	if _, err := RevokeToken(ctx, h.srv.store, h.sender.ID, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if resp, body := h.createAs(h.token, ""); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "revoked") {
		t.Fatalf("revoked token: %d %s", resp.StatusCode, body)
	}
	if resp, body := h.createAs("spt_unknown", ""); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "unknown") {
		t.Fatalf("unknown token: %d %s", resp.StatusCode, body)
	}
}

// A data directory from before organisation tokens opens, and its tokens
// keep working as single-sender credentials that bind their first key.
func TestOldDataDirMigrates(t *testing.T) {
	path := oldSendersDB(t, TokenHash("spt_old"))
	st, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	snd, err := st.SenderByTokenHash(context.Background(), TokenHash("spt_old"))
	if err != nil || snd.Kind != KindSender || snd.KeyFPR != "" || snd.TokenProblem(time.Now()) != "" {
		t.Fatalf("migrated sender %+v, %v", snd, err)
	}
}

// An admin command and the relay opening an old data directory at the
// same moment both migrate it without tripping on each other's columns.
func TestOldDataDirMigratesConcurrently(t *testing.T) {
	path := oldSendersDB(t, TokenHash("spt_old"))
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			st, err := OpenSQLite(path)
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// An old data directory (rollback journal) opens while another process
// holds a write transaction on it: the switch to WAL waits for that
// writer. SQLite answered it SQLITE_BUSY at once, busy_timeout or not,
// and the open failed (the flaky failure of the test above, under load).
func TestOldDataDirOpensWhileWritten(t *testing.T) {
	path := oldSendersDB(t, TokenHash("spt_old"))
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE senders SET name = name`); err != nil {
		t.Fatal(err)
	}
	var committed atomic.Bool
	go func() {
		time.Sleep(300 * time.Millisecond)
		committed.Store(true)
		tx.Commit()
	}()
	st, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("open while another process writes: %v", err)
	}
	defer st.Close()
	if !committed.Load() {
		t.Error("opened (and switched to WAL) before the writer let go of its lock")
	}
	if _, err := st.SenderByTokenHash(context.Background(), TokenHash("spt_old")); err != nil {
		t.Fatal(err)
	}
}

// oldSendersDB writes a relay database as made before organisation
// tokens, holding one sender whose token hashes to tokenHash, and returns
// its path.
func oldSendersDB(t *testing.T, tokenHash []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "relay.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE senders (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL DEFAULT '',
		token_hash BLOB NOT NULL UNIQUE, created_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO senders VALUES ('s_old', 'Dr Old', 'old@chu.example', ?, 1)`, tokenHash); err != nil {
		t.Fatal(err)
	}
	return path
}

// A credential from before key binding binds the first key it sends.
func TestLegacyCredentialBindsFirstKey(t *testing.T) {
	h := newHarness(t)
	a, _ := envelope.GenerateKey("Dr Durand", "durand@hospital.example", nil)
	b, _ := envelope.GenerateKey("Dr Durand", "durand@hospital.example", nil)
	if resp, body := h.createAs(h.token, armoredPublic(t, a)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first key: %d %s", resp.StatusCode, body)
	}
	if resp, _ := h.createAs(h.token, armoredPublic(t, b)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("second key: %d", resp.StatusCode)
	}
}
