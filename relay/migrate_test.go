package relay

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// An embedded relay with drops in every state is migrated to PostgreSQL
// and S3; a relay on the new storage serves every ready drop intact, keeps
// the limits, states and receipts, and continues the same audit chain.
func TestMigrate(t *testing.T) {
	testutil.NeedIntegration(t)
	ctx := context.Background()
	old := newHarness(t)
	plain := randomBytes(t, 200<<10)
	coded := randomBytes(t, 5000)
	once := randomBytes(t, 3000)
	idPlain := old.ready(plain, relayapi.CreateDropRequest{})
	idCoded := old.ready(coded, relayapi.CreateDropRequest{AccessCode: "48213907"})
	idOnce := old.ready(once, relayapi.CreateDropRequest{MaxDownloads: intp(1)})
	resp, body := old.do("GET", "/api/v1/drops/"+idOnce+"/blob", nil)
	expect(t, resp, body, http.StatusOK)
	pending := old.create(randomBytes(t, 10), relayapi.CreateDropRequest{})
	revoked := old.ready(randomBytes(t, 10), relayapi.CreateDropRequest{})
	resp, body = old.do("DELETE", "/api/v1/drops/"+revoked, nil, old.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	if err := old.srv.store.AddReceipt(ctx, idPlain, relayapi.Receipt{At: old.clock.Now(), Proof: strings.Repeat("ab", 32)}); err != nil {
		t.Fatal(err)
	}
	oldLines := strings.Count(old.auditLogText(), "\n")

	pg, _ := openTestPG(t, PGOptions{CallerClock: true})
	blobs := testS3Blobs(t, filepath.Join(t.TempDir(), "tmp"))

	// While the old relay serves its data dir, nothing migrates it: drops
	// it took after the copy would be lost.
	if _, err := Migrate(ctx, old.data, pg, blobs, nil); !errors.Is(err, ErrDataDirBusy) {
		t.Fatalf("migrate beside a running relay: %v", err)
	}
	old.stop()

	// A corrupted blob stops the migration before anything is written.
	p := filepath.Join(old.data.Blobs(), idCoded[:2], idCoded)
	good, _ := os.ReadFile(p)
	bad := append([]byte(nil), good...)
	bad[100] ^= 1
	os.WriteFile(p, bad, 0o600)
	if _, err := Migrate(ctx, old.data, pg, blobs, nil); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("migrate with a corrupt blob: %v", err)
	}
	if all, _ := pg.Drops(ctx); len(all) != 0 {
		t.Fatalf("failed migration left %d drops", len(all))
	}
	os.WriteFile(p, good, 0o600)

	rep, err := Migrate(ctx, old.data, pg, blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Drops != 5 || rep.Blobs != 3 || rep.Receipts != 1 || rep.AuditEvents != int64(oldLines) || rep.Senders != 1 {
		t.Fatalf("report %+v (audit lines before: %d)", rep, oldLines)
	}
	if _, err := Migrate(ctx, old.data, pg, blobs, nil); err == nil {
		t.Fatal("second migration into a populated database accepted")
	}

	// The new relay: same sender token, same drops.
	h := newHarness(t, func(c *Config) {
		c.Store, c.Audit, c.Blobs = pg, pg, blobs
		c.Now = old.clock.Now
	})
	h.clock = old.clock
	h.token = old.token
	resp, body = h.do("GET", "/api/v1/drops/"+idPlain+"/blob", nil)
	if !bytes.Equal(expect(t, resp, body, http.StatusOK), plain) {
		t.Fatal("migrated drop differs")
	}
	resp, body = h.do("POST", "/api/v1/drops/"+idCoded+"/code", map[string]string{"code": "48213907"})
	grant := decode[relayapi.CodeResponse](t, expect(t, resp, body, http.StatusOK)).Grant
	resp, body = h.do("GET", "/api/v1/drops/"+idCoded+"/blob", nil, "X-Sealprint-Grant", grant)
	if !bytes.Equal(expect(t, resp, body, http.StatusOK), coded) {
		t.Fatal("migrated coded drop differs")
	}
	for _, id := range []string{idOnce, revoked} {
		resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
		expect(t, resp, body, http.StatusGone)
	}
	st := h.status(idPlain)
	if len(st.Receipts) != 1 || st.Downloads != 1 {
		t.Fatalf("migrated status %+v", st)
	}
	if st := h.status(pending.ID); st.State != StatePending {
		t.Fatalf("pending drop: %s", st.State)
	}
	var buf bytes.Buffer
	if err := pg.WriteAudit(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), old.auditLogText()) {
		t.Fatal("the audit chain in the database does not start with the old log")
	}
	if n, err := VerifyAudit(&buf); err != nil || n <= int64(oldLines) {
		t.Fatalf("audit after migration and new events: %d, %v", n, err)
	}
}

// The same through the binaries: `sealrelay migrate`, then a replica on
// the shared storage serves the drops and `audit verify --db` is clean.
func TestMigrateBinary(t *testing.T) {
	testutil.NeedIntegration(t)
	// The replica runs on the real clock.
	old := newHarness(t, func(c *Config) { c.Now = time.Now })
	data := randomBytes(t, 100<<10)
	id := old.ready(data, relayapi.CreateDropRequest{})
	// A published key in the old key directory.
	key, err := envelope.GenerateKey("Cdt Martin", "martin@police.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "martin.asc")
	var pub bytes.Buffer
	key.WritePublic(&pub, true)
	os.WriteFile(keyFile, pub.Bytes(), 0o600)
	c := newCluster(t)
	old.stop()
	if out, err := exec.Command(c.bin, "keys", "import", "--data", old.dir, "--verified", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("keys import: %v\n%s", err, out)
	}
	out := c.run("migrate", "--data", old.dir)
	if !strings.Contains(out, "migrated 1 senders, 1 drops (1 blobs") || !strings.Contains(out, "migrated 1 keys") {
		t.Fatalf("migrate: %s", out)
	}
	if out := c.run("keys", "list"); !strings.Contains(out, key.Fingerprint()) || !strings.Contains(out, "martin@police.example") {
		t.Fatalf("keys list --db after migrate: %s", out)
	}
	r := c.start()
	_, got := c.must(r, http.StatusOK, "GET", "/api/v1/drops/"+id+"/blob", nil, false)
	if !bytes.Equal(got, data) {
		t.Fatal("migrated drop differs")
	}
	// The replica serves the migrated key directory.
	c.must(r, http.StatusOK, "GET", "/vks/v1/by-email/martin@police.example", nil, false)
	if out := c.run("audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("audit verify: %s", out)
	}
}
