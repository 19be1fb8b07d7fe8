package relay

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/relayapi"
)

func TestExpiry(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 100)
	id := h.ready(data, relayapi.CreateDropRequest{ExpiresInSeconds: 3600})
	pending := h.create(data, relayapi.CreateDropRequest{ExpiresInSeconds: 60})
	resp, body := h.tusCreate(pending.ID, 100, h.auth()...)
	expect(t, resp, body, http.StatusCreated)

	h.clock.Advance(59 * time.Minute)
	resp, body = h.do("GET", "/api/v1/drops/"+id, nil)
	expect(t, resp, body, http.StatusOK)
	// The pending drop expired: its upload can no longer go on.
	resp, body = h.patch(pending.ID, 0, data, h.auth()...)
	expect(t, resp, body, http.StatusGone)
	resp, body = h.complete(pending.ID)
	expect(t, resp, body, http.StatusGone)

	h.clock.Advance(time.Minute)
	for _, p := range []string{"", "/blob"} {
		resp, body = h.do("GET", "/api/v1/drops/"+id+p, nil)
		if e := decode[relayapi.Error](t, expect(t, resp, body, http.StatusGone)); e.State != StateExpired {
			t.Fatalf("GET %s: state %q", p, e.State)
		}
	}
	if st := h.status(id); st.State != StateExpired {
		t.Fatalf("status %q", st.State)
	}
	// Nothing deleted until the sweeper runs; then both drops' data goes.
	if !h.blobExists(id) {
		t.Fatal("blob deleted before sweep")
	}
	n, err := h.srv.Sweep(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2", n, err)
	}
	if h.blobExists(id) {
		t.Fatal("expired blob still on disk")
	}
	if _, err := os.Stat(h.srv.uploads.(*uploadArea).binPath(pending.ID)); !os.IsNotExist(err) {
		t.Fatalf("expired upload still on disk: %v", err)
	}
	if !h.hasEvent(EventExpire, id) || !h.hasEvent(EventExpire, pending.ID) {
		t.Error("no expire audit events")
	}
	if n, _ := h.srv.Sweep(context.Background()); n != 0 {
		t.Fatalf("second sweep swept %d", n)
	}
	// The sender hears that the ready drop expired unopened (only that one).
	h.waitMail()
	m := h.mail.next(t)
	if m.To[0] != "durand@hospital.example" || !strings.Contains(m.Subject, "expired unopened") || !strings.Contains(m.Text, id) {
		t.Fatalf("mail %q to %v: %s", m.Subject, m.To, m.Text)
	}
	h.mail.none(t)
}

func TestDownloadLimit(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 100)
	id := h.ready(data, relayapi.CreateDropRequest{MaxDownloads: intp(2)})
	for i := 0; i < 2; i++ {
		resp, body := h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
		expect(t, resp, body, http.StatusOK)
	}
	resp, body := h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	if e := decode[relayapi.Error](t, expect(t, resp, body, http.StatusGone)); e.State != StateExhausted {
		t.Fatalf("state %q", e.State)
	}
	resp, body = h.do("GET", "/api/v1/drops/"+id, nil)
	expect(t, resp, body, http.StatusGone)
	if st := h.status(id); st.Downloads != 2 || st.State != StateExhausted {
		t.Fatalf("status %+v", st)
	}
	if n, err := h.srv.Sweep(context.Background()); n != 1 || err != nil {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	if h.blobExists(id) {
		t.Fatal("exhausted blob still on disk")
	}
	if !h.hasEvent(EventExhaust, id) {
		t.Error("no exhaust audit event")
	}

	// max_downloads 0 means no limit.
	id = h.ready(data, relayapi.CreateDropRequest{MaxDownloads: intp(0)})
	for i := 0; i < DefaultDownloads+2; i++ {
		resp, body := h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
		expect(t, resp, body, http.StatusOK)
	}
	resp, body = h.do("GET", "/api/v1/drops/"+id, nil)
	if info := decode[relayapi.DropInfo](t, expect(t, resp, body, 200)); info.DownloadsLeft != nil {
		t.Fatalf("downloads_left %d for an unlimited drop", *info.DownloadsLeft)
	}
}

func TestRevoke(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 100)
	id := h.ready(data, relayapi.CreateDropRequest{})
	resp, body := h.do("DELETE", "/api/v1/drops/"+id, nil, h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	if h.blobExists(id) {
		t.Fatal("revoked blob still on disk")
	}
	for _, p := range []string{"", "/blob"} {
		resp, body = h.do("GET", "/api/v1/drops/"+id+p, nil)
		if e := decode[relayapi.Error](t, expect(t, resp, body, http.StatusGone)); e.State != StateRevoked {
			t.Fatalf("state %q", e.State)
		}
	}
	if st := h.status(id); st.State != StateRevoked {
		t.Fatalf("status %q", st.State)
	}
	resp, body = h.do("DELETE", "/api/v1/drops/"+id, nil, h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = h.complete(id)
	expect(t, resp, body, http.StatusGone)
	if !h.hasEvent(EventRevoke, id) {
		t.Error("no revoke audit event")
	}
	// Revoking a pending drop deletes its partial upload.
	c := h.create(data, relayapi.CreateDropRequest{})
	resp, body = h.tusCreate(c.ID, 100, h.auth()...)
	expect(t, resp, body, http.StatusCreated)
	resp, body = h.patch(c.ID, 0, data[:50], h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = h.do("DELETE", "/api/v1/drops/"+c.ID, nil, h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	if _, err := os.Stat(h.srv.uploads.(*uploadArea).binPath(c.ID)); !os.IsNotExist(err) {
		t.Fatalf("upload of revoked drop still on disk: %v", err)
	}
}

func TestReceipts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Mail = nil })
	data := randomBytes(t, 100)
	id := h.ready(data, relayapi.CreateDropRequest{MaxDownloads: new(int)})
	proof := strings.Repeat("0f", 32)
	receipt := func(proof, token string) (*http.Response, []byte) {
		return h.do("POST", "/api/v1/drops/"+id+"/receipt", relayapi.ReceiptRequest{Proof: proof, Token: token})
	}
	resp, body := receipt(proof, "")
	expect(t, resp, body, http.StatusConflict) // not downloaded yet
	resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	expect(t, resp, body, http.StatusOK)
	token := resp.Header.Get(relayapi.HeaderReceiptToken)
	if token == "" {
		t.Fatal("the blob answer carries no receipt token")
	}
	for _, bad := range []string{`{"proof":"xyz"}`, `{"proof":"abcd"}`, `{}`, `{"proof":"` + proof + `","x":1}`} {
		resp, body = h.do("POST", "/api/v1/drops/"+id+"/receipt", bad)
		expect(t, resp, body, http.StatusBadRequest)
	}
	// Without a token, with a forged one, with another drop's: 403.
	other := h.ready(data, relayapi.CreateDropRequest{})
	resp, _ = h.do("GET", "/api/v1/drops/"+other+"/blob", nil)
	otherToken := resp.Header.Get(relayapi.HeaderReceiptToken)
	for _, tok := range []string{"", "AAAAAQ", newReceiptToken([]byte("not the relay's key"), id, 1), otherToken,
		newReceiptToken(h.srv.cfg.GrantKey, id, 2)} {
		resp, body = receipt(proof, tok)
		expect(t, resp, body, http.StatusForbidden)
	}
	if st := h.status(id); len(st.Receipts) != 0 {
		t.Fatalf("refused receipts were kept: %+v", st.Receipts)
	}
	h.clock.Advance(time.Minute)
	resp, body = receipt(strings.ToUpper(proof), token)
	expect(t, resp, body, http.StatusNoContent)
	st := h.status(id)
	if len(st.Receipts) != 1 || st.Receipts[0].Proof != proof || !st.Receipts[0].At.Equal(h.clock.Now()) || st.Receipts[0].Download != 1 {
		t.Fatalf("receipts %+v", st.Receipts)
	}
	if !h.hasEvent(EventReceipt, id) {
		t.Error("no receipt audit event")
	}
	// A token is good once.
	resp, body = receipt(proof, token)
	expect(t, resp, body, http.StatusForbidden)
	// Each download brings its own token, up to the cap on receipts.
	for i := 1; i < maxReceiptsPerDrop; i++ {
		resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
		expect(t, resp, body, http.StatusOK)
		resp, body = receipt(proof, resp.Header.Get(relayapi.HeaderReceiptToken))
		expect(t, resp, body, http.StatusNoContent)
	}
	resp, _ = h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	resp, body = receipt(proof, resp.Header.Get(relayapi.HeaderReceiptToken))
	expect(t, resp, body, http.StatusTooManyRequests)
}

// TestLinkReceiptProof: a link-mode receipt may carry a second HMAC, keyed
// from the link secret (64 hex digits, kept and given back to the sender);
// a malformed one, or one on a key-mode drop, is refused before the
// download's token is spent.
func TestLinkReceiptProof(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Mail = nil })
	data := randomBytes(t, 100)
	proof, linkProof := strings.Repeat("0f", 32), strings.Repeat("Ab", 32)
	id := h.ready(data, relayapi.CreateDropRequest{Mode: relayapi.ModeLink, MaxDownloads: new(int)})
	resp, body := h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	expect(t, resp, body, http.StatusOK)
	token := resp.Header.Get(relayapi.HeaderReceiptToken)
	for _, bad := range []string{"xyz", "abcd", strings.Repeat("0g", 32), strings.Repeat("0f", 33)} {
		resp, body = h.do("POST", "/api/v1/drops/"+id+"/receipt", relayapi.ReceiptRequest{Proof: proof, LinkProof: bad, Token: token})
		expect(t, resp, body, http.StatusBadRequest)
	}
	resp, body = h.do("POST", "/api/v1/drops/"+id+"/receipt", relayapi.ReceiptRequest{Proof: proof, LinkProof: linkProof, Token: token})
	expect(t, resp, body, http.StatusNoContent)
	st := h.status(id)
	if len(st.Receipts) != 1 || st.Receipts[0].LinkProof != strings.ToLower(linkProof) || st.Receipts[0].Proof != proof {
		t.Fatalf("receipts %+v", st.Receipts)
	}

	key := h.ready(data, relayapi.CreateDropRequest{MaxDownloads: new(int)})
	resp, body = h.do("GET", "/api/v1/drops/"+key+"/blob", nil)
	expect(t, resp, body, http.StatusOK)
	token = resp.Header.Get(relayapi.HeaderReceiptToken)
	resp, body = h.do("POST", "/api/v1/drops/"+key+"/receipt", relayapi.ReceiptRequest{Proof: proof, LinkProof: linkProof, Token: token})
	expect(t, resp, body, http.StatusBadRequest)
	resp, body = h.do("POST", "/api/v1/drops/"+key+"/receipt", relayapi.ReceiptRequest{Proof: proof, Token: token})
	expect(t, resp, body, http.StatusNoContent)
}
