package relay

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relayapi"
)

// replyDrop is a ready drop that takes replies, with what its recipient
// learns by decrypting it.
type replyDrop struct {
	id       string
	replyKey string // hex
}

// replyable makes a ready drop signed with the harness sender's (bound)
// key and a reply verifier; maxDownloads 0 means the relay default.
func (h *harness) replyable(key *envelope.Key, maxDownloads int, verifier bool) replyDrop {
	h.t.Helper()
	sk := make([]byte, 32)
	rand.Read(sk)
	req := relayapi.CreateDropRequest{SenderKey: armoredPublic(h.t, key), Recipients: []string{"martin@police.example"}}
	if verifier {
		req.ReplyVerifier = envelope.ReplyVerifier(sk)
	}
	if maxDownloads > 0 {
		req.MaxDownloads = intp(maxDownloads)
	}
	id := h.ready(randomBytes(h.t, 100), req)
	return replyDrop{id: id, replyKey: hex.EncodeToString(envelope.ReplyKey(sk))}
}

// download fetches the drop's blob and returns its receipt token.
func (h *harness) downloadToken(id string) string {
	h.t.Helper()
	resp, body := h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	expect(h.t, resp, body, http.StatusOK)
	return resp.Header.Get(relayapi.HeaderReceiptToken)
}

func (h *harness) replyGrant(id, token, replyKey string) (*http.Response, []byte) {
	h.t.Helper()
	return h.do("POST", "/api/v1/drops/"+id+"/reply-grant", relayapi.ReplyGrantRequest{Token: token, ReplyKey: replyKey})
}

func (h *harness) grant(d replyDrop) relayapi.ReplyGrantResponse {
	h.t.Helper()
	resp, body := h.replyGrant(d.id, h.downloadToken(d.id), d.replyKey)
	return decode[relayapi.ReplyGrantResponse](h.t, expect(h.t, resp, body, http.StatusOK))
}

func (h *harness) createReply(id, grant string, data []byte) (*http.Response, []byte) {
	h.t.Helper()
	return h.do("POST", "/api/v1/drops/"+id+"/replies", relayapi.CreateReplyRequest{Size: int64(len(data)), SHA256: hexSHA(data)},
		relayapi.HeaderReplyGrant, grant)
}

// TestReply: the recipient of a drop obtains a reply grant with the
// receipt token of its download and the reply key, creates a reply,
// uploads it with tus and completes it; the sender lists and fetches it,
// and nobody else reaches it.
func TestReply(t *testing.T) {
	h := newHarness(t)
	key, _ := envelope.GenerateKey("Dr Durand", "durand@hospital.example", nil)
	d := h.replyable(key, 0, true)
	if di := info(t, h, d.id); di.ReplyMaxSize != 1<<20 {
		t.Fatalf("drop info offers replies up to %d bytes, want the relay's 1 MiB", di.ReplyMaxSize)
	}
	g := h.grant(d)
	if g.MaxSize != 1<<20 || g.Grant == "" {
		t.Fatalf("grant %+v", g)
	}
	reply := randomBytes(t, 5000)
	resp, body := h.createReply(d.id, g.Grant, reply)
	cr := decode[relayapi.CreateReplyResponse](t, expect(t, resp, body, http.StatusCreated))

	// The upload needs the grant: without credentials 401, with the
	// sender's own token the reply is not found.
	resp, body = h.tusCreate(cr.ID, int64(len(reply)))
	expect(t, resp, body, http.StatusUnauthorized)
	resp, body = h.tusCreate(cr.ID, int64(len(reply)), h.auth()...)
	expect(t, resp, body, http.StatusNotFound)
	resp, body = h.tusCreate(cr.ID, int64(len(reply)), relayapi.HeaderReplyGrant, tamper(g.Grant))
	expect(t, resp, body, http.StatusNotFound)
	resp, body = h.tusCreate(cr.ID, int64(len(reply)), relayapi.HeaderReplyGrant, g.Grant)
	expect(t, resp, body, http.StatusCreated)
	resp, body = h.patch(cr.ID, 0, reply, relayapi.HeaderReplyGrant, g.Grant)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = h.do("POST", cr.CompleteURL, nil)
	expect(t, resp, body, http.StatusForbidden)
	resp, body = h.do("POST", cr.CompleteURL, nil, relayapi.HeaderReplyGrant, g.Grant)
	expect(t, resp, body, http.StatusOK)

	st := h.status(d.id)
	if len(st.Replies) != 1 || st.Replies[0].ID != cr.ID || st.Replies[0].State != StateReady ||
		st.Replies[0].Size != int64(len(reply)) || st.Replies[0].SHA256 != hexSHA(reply) {
		t.Fatalf("status replies %+v", st.Replies)
	}
	resp, body = h.do("GET", "/api/v1/drops/"+d.id+"/replies", nil, h.auth()...)
	if rr := decode[relayapi.RepliesResponse](t, expect(t, resp, body, http.StatusOK)); len(rr.Replies) != 1 {
		t.Fatalf("replies %+v", rr)
	}
	blobPath := "/api/v1/drops/" + d.id + "/replies/" + cr.ID + "/blob"
	resp, body = h.do("GET", blobPath, nil, h.auth()...)
	if !bytes.Equal(expect(t, resp, body, http.StatusOK), reply) {
		t.Fatal("the sender gets other bytes than the reply")
	}
	resp, body = h.do("GET", blobPath, nil)
	expect(t, resp, body, http.StatusUnauthorized)
	other, otherTok := h.enrol("Dr Autre", "autre@hospital.example")
	_ = other
	resp, body = h.do("GET", blobPath, nil, "Authorization", "Bearer "+otherTok)
	expect(t, resp, body, http.StatusNotFound)
	// A reply is no public drop.
	for _, p := range []string{"/api/v1/drops/" + cr.ID, "/api/v1/drops/" + cr.ID + "/blob"} {
		resp, body = h.do("GET", p, nil)
		expect(t, resp, body, http.StatusNotFound)
	}
	for _, ev := range []string{EventReplyGrant, EventReply} {
		if !h.hasEvent(ev, d.id) {
			t.Errorf("no %s event for the drop", ev)
		}
	}
	if !h.hasEvent(EventComplete, cr.ID) || !h.hasEvent(EventReplyDownload, cr.ID) {
		t.Error("the reply's completion and download are not in the audit log")
	}

	// The proof of delivery of the original lists the reply.
	resp, body = h.do("GET", "/api/v1/drops/"+d.id+"/proof", nil, h.auth()...)
	var sp SignedProof
	json.Unmarshal(expect(t, resp, body, http.StatusOK), &sp)
	var p Proof
	json.Unmarshal(sp.Proof, &p)
	if len(p.Replies) != 1 || p.Replies[0].ID != cr.ID || p.Replies[0].SHA256 != hexSHA(reply) || p.Replies[0].ReadyAt == nil {
		t.Fatalf("proof replies %+v", p.Replies)
	}
}

// TestReplyGrantRefused: a drop id alone, a download token without the
// reply key, a token of another drop or a drop whose sender did not allow
// replies give no grant; a grant is good for its own drop only; a reply
// larger than the limit is refused.
func TestReplyGrantRefused(t *testing.T) {
	h := newHarness(t)
	key, _ := envelope.GenerateKey("Dr Durand", "durand@hospital.example", nil)
	a := h.replyable(key, 0, true)
	b := h.replyable(key, 0, true)
	tokA := h.downloadToken(a.id)
	tokB := h.downloadToken(b.id)
	for name, c := range map[string]struct {
		id, token, key string
		status         int
	}{
		"no token":            {a.id, "", a.replyKey, http.StatusBadRequest},
		"no reply key":        {a.id, tokA, "", http.StatusBadRequest},
		"forged token":        {a.id, tamper(tokA), a.replyKey, http.StatusForbidden},
		"other drop's token":  {a.id, tokB, a.replyKey, http.StatusForbidden},
		"other drop's key":    {a.id, tokA, b.replyKey, http.StatusForbidden},
		"unknown drop":        {"AAAAAAAAAAAAAAAAAAAAAA", tokA, a.replyKey, http.StatusNotFound},
		"right token and key": {a.id, tokA, a.replyKey, http.StatusOK},
	} {
		resp, body := h.replyGrant(c.id, c.token, c.key)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", name, resp.StatusCode, body, c.status)
		}
	}
	noVerifier := h.replyable(key, 0, false)
	resp, body := h.replyGrant(noVerifier.id, h.downloadToken(noVerifier.id), noVerifier.replyKey)
	expect(t, resp, body, http.StatusForbidden)
	if info(t, h, noVerifier.id).ReplyMaxSize != 0 {
		t.Error("a drop without a reply verifier offers replies")
	}
	// Before any download there is no receipt token to show.
	fresh := h.replyable(key, 0, true)
	resp, body = h.replyGrant(fresh.id, tokA, fresh.replyKey)
	expect(t, resp, body, http.StatusForbidden)

	g := h.grant(a)
	small := []byte("reply")
	resp, body = h.createReply(a.id, "", small)
	expect(t, resp, body, http.StatusForbidden)
	resp, body = h.createReply(b.id, g.Grant, small) // a's grant on b
	expect(t, resp, body, http.StatusForbidden)
	resp, body = h.do("POST", "/api/v1/drops/"+a.id+"/replies", relayapi.CreateReplyRequest{Size: 2 << 20, SHA256: hexSHA(small)},
		relayapi.HeaderReplyGrant, g.Grant)
	expect(t, resp, body, http.StatusRequestEntityTooLarge)
	// The policy lowers the bound.
	if err := SavePolicy(h.data.PolicyFile(), relayapi.Policy{MaxReplySize: 1000}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Second) // the policy file is read again when it changes
	resp, body = h.createReply(a.id, g.Grant, randomBytes(t, 1001))
	expect(t, resp, body, http.StatusRequestEntityTooLarge)
	resp, body = h.createReply(a.id, g.Grant, randomBytes(t, 1000))
	expect(t, resp, body, http.StatusCreated)
	// The upload must be the announced size.
	cr := decode[relayapi.CreateReplyResponse](t, body)
	resp, body = h.tusCreate(cr.ID, 2000, relayapi.HeaderReplyGrant, g.Grant)
	expect(t, resp, body, http.StatusBadRequest)
}

// TestReplyToGoneDrop: once the drop expired, was revoked or used up its
// downloads, its grant and new grants are refused with 410; the download
// that used up the limit may still reply.
func TestReplyToGoneDrop(t *testing.T) {
	h := newHarness(t)
	key, _ := envelope.GenerateKey("Dr Durand", "durand@hospital.example", nil)

	exp := h.replyable(key, 0, true)
	tok := h.downloadToken(exp.id)
	g := h.grant(exp)
	h.clock.Advance(DefaultExpiry + time.Minute)
	resp, body := h.createReply(exp.id, g.Grant, []byte("late"))
	expect(t, resp, body, http.StatusGone)
	resp, body = h.replyGrant(exp.id, tok, exp.replyKey)
	expect(t, resp, body, http.StatusGone)

	rev := h.replyable(key, 0, true)
	g = h.grant(rev)
	resp, body = h.do("DELETE", "/api/v1/drops/"+rev.id, nil, h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = h.createReply(rev.id, g.Grant, []byte("after revocation"))
	expect(t, resp, body, http.StatusGone)

	two := h.replyable(key, 2, true)
	first := h.downloadToken(two.id)
	second := h.downloadToken(two.id)
	resp, body = h.replyGrant(two.id, first, two.replyKey)
	expect(t, resp, body, http.StatusGone)
	resp, body = h.replyGrant(two.id, second, two.replyKey)
	g2 := decode[relayapi.ReplyGrantResponse](t, expect(t, resp, body, http.StatusOK))
	resp, body = h.createReply(two.id, g2.Grant, []byte("thanks"))
	expect(t, resp, body, http.StatusCreated)
}

// TestReplyGrantToken: grants are bound to their drop and expire.
func TestReplyGrantToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	g := newReplyGrant(key, "drop-a", 3, now.Add(time.Hour))
	if n, ok := checkReplyGrant(key, "drop-a", g, now); !ok || n != 3 {
		t.Fatalf("valid grant refused (%d, %v)", n, ok)
	}
	if _, ok := checkReplyGrant(key, "drop-b", g, now); ok {
		t.Error("grant accepted for another drop")
	}
	if _, ok := checkReplyGrant(key, "drop-a", g, now.Add(time.Hour)); ok {
		t.Error("expired grant accepted")
	}
	if _, ok := checkReplyGrant([]byte("another key of thirty-two bytes!"), "drop-a", g, now); ok {
		t.Error("grant accepted under another key")
	}
	if _, ok := checkReplyGrant(key, "drop-a", strconv.Itoa(42), now); ok {
		t.Error("junk accepted")
	}
}

// tamper changes one character in the middle of a token.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
