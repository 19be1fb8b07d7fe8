package relay

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relayapi"
)

// sealStating seals a short document to the keys and returns the message and
// the keys it states.
func sealStating(t *testing.T, signer *envelope.Key, prof envelope.Profile, to ...*envelope.Key) ([]byte, []relayapi.RecipientKey) {
	t.Helper()
	var buf bytes.Buffer
	w, err := envelope.Seal(&buf, envelope.SealOptions{Signer: signer, Recipients: to, FileName: "r.pdf", Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("rapport médico-légal"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var keys []relayapi.RecipientKey
	for _, k := range w.Keys() {
		keys = append(keys, relayapi.RecipientKey{Fingerprint: k.Fingerprint, EncryptionKey: k.EncryptionKey})
	}
	return buf.Bytes(), keys
}

func genKey(t *testing.T, name, email string, prof envelope.Profile) *envelope.Key {
	t.Helper()
	k, err := envelope.GenerateKey(name, email, &envelope.KeyOptions{Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The keys a sender states are checked against the message's key
// packets at completion: exactly those keys, none left out and none
// added; the proof of delivery names them and the audit's create line
// records them.
func TestRecipientKeysCheckedAtCompletion(t *testing.T) {
	h := newHarness(t)
	signer := genKey(t, "Dr Durand", "durand@chu.example", envelope.ProfileCompat)
	a := genKey(t, "Cdt Martin", "martin@police.example", envelope.ProfileCompat)
	b := genKey(t, "Adj Blanc", "blanc@police.example", envelope.ProfileCompat)
	v6 := genKey(t, "Lt Roux", "roux@police.example", envelope.ProfileRFC9580)
	msg, keys := sealStating(t, signer, envelope.ProfileCompat, a)
	if keys[0].Fingerprint != a.Fingerprint() || keys[0].EncryptionKey == a.Fingerprint() {
		t.Fatalf("stated keys %+v: want the certificate and its encryption subkey", keys)
	}
	_, bKeys := sealStating(t, signer, envelope.ProfileCompat, b)

	complete := func(msg []byte, keys []relayapi.RecipientKey) (string, int, string) {
		t.Helper()
		c := h.create(msg, relayapi.CreateDropRequest{Recipients: []string{"martin@police.example"}, RecipientKeys: keys})
		h.upload(c.ID, msg)
		resp, body := h.complete(c.ID)
		return c.ID, resp.StatusCode, string(body)
	}
	id, status, body := complete(msg, keys)
	if status != http.StatusOK {
		t.Fatalf("stated keys match the message: %d %s", status, body)
	}
	// Another key than the one the message is encrypted to.
	bad, status, body := complete(msg, bKeys)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "does not name") {
		t.Fatalf("wrong key stated: %d %s", status, body)
	}
	if d, _ := h.srv.store.Drop(t.Context(), bad); d.State != StatePending || h.blobExists(bad) || !h.hasEvent(EventUploadRejected, bad) {
		t.Fatalf("refused upload kept: %+v", d)
	}
	// A key stated that the message is not encrypted to.
	if _, status, body = complete(msg, append(slices.Clone(keys), bKeys...)); status != http.StatusUnprocessableEntity || !strings.Contains(body, "not encrypted to") {
		t.Fatalf("extra key stated: %d %s", status, body)
	}
	// The certificate's fingerprint in place of its encryption key.
	if _, status, body = complete(msg, []relayapi.RecipientKey{{Fingerprint: a.Fingerprint(), EncryptionKey: a.Fingerprint()}}); status != http.StatusUnprocessableEntity {
		t.Fatalf("primary key stated as the encryption key: %d %s", status, body)
	}
	// A client from before states nothing: not checked.
	if _, status, body = complete(msg, nil); status != http.StatusOK {
		t.Fatalf("no keys stated: %d %s", status, body)
	}
	// v6 keys (RFC 9580): the key id is the fingerprint's first 8 bytes.
	m6, k6 := sealStating(t, signer, envelope.ProfileRFC9580, v6)
	if len(k6[0].Fingerprint) != 64 {
		t.Fatalf("v6 fingerprint %q", k6[0].Fingerprint)
	}
	if _, status, body = complete(m6, k6); status != http.StatusOK {
		t.Fatalf("v6 key: %d %s", status, body)
	}

	// The proof names the keys, as the create line recorded them.
	resp, pb := h.do("GET", "/api/v1/drops/"+id+"/proof", nil, h.auth()...)
	expect(t, resp, pb, http.StatusOK)
	p, _, err := VerifyProof(pb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.RecipientKeys) != 1 || p.RecipientKeys[0] != keys[0] {
		t.Fatalf("proof recipient keys %+v, want %+v", p.RecipientKeys, keys)
	}
	if p.Events[0].Event != EventCreate || !slices.Equal(p.Events[0].Keys, []string{a.Fingerprint()}) {
		t.Fatalf("create line %+v", p.Events[0])
	}
}

// A proof whose recipient keys differ from its audit create line is
// refused even when the relay signed it.
func TestProofRecipientKeysMatchTheAuditLine(t *testing.T) {
	h := newHarness(t)
	key := h.srv.cfg.AuditKey
	fa, fb := strings.Repeat("A", 40), strings.Repeat("B", 40)
	d := &Drop{ID: "d1", SHA256: "00", Mode: "key", RecipientKeys: []relayapi.RecipientKey{{Fingerprint: fa, EncryptionKey: fb}}}
	cp := signCheckpoint(key, 5, zeroHash, d.CreatedAt)
	for _, tc := range []struct {
		keys []string
		ok   bool
	}{{[]string{fa}, true}, {[]string{fb}, false}, {nil, false}} {
		b, err := buildProof(proofSource{drop: d, events: []AuditEvent{{Seq: 1, Event: EventCreate, Drop: "d1", Prev: zeroHash, Keys: tc.keys}}, cp: &cp}, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := VerifyProof(b, nil); (err == nil) != tc.ok {
			t.Fatalf("create line keys %v: %v", tc.keys, err)
		}
	}
}

// Stated recipient keys are validated at creation.
func TestRecipientKeysValidated(t *testing.T) {
	h := newHarness(t)
	f40, g40 := strings.Repeat("a", 40), strings.Repeat("b", 40)
	many := make([]relayapi.RecipientKey, relayapi.MaxRecipientKeys+1)
	for i := range many {
		many[i] = relayapi.RecipientKey{Fingerprint: f40, EncryptionKey: strings.Repeat("0", 38) + string("0123456789abcdef"[i%16]) + string("0123456789abcdef"[i/16])}
	}
	for _, tc := range []struct {
		name string
		keys []relayapi.RecipientKey
		want int
	}{
		{"good, lower case", []relayapi.RecipientKey{{Fingerprint: f40, EncryptionKey: g40, Address: "martin@police.example"}}, http.StatusCreated},
		{"v6", []relayapi.RecipientKey{{Fingerprint: strings.Repeat("c", 64), EncryptionKey: strings.Repeat("d", 64)}}, http.StatusCreated},
		{"short", []relayapi.RecipientKey{{Fingerprint: f40[:38], EncryptionKey: g40}}, http.StatusBadRequest},
		{"not hex", []relayapi.RecipientKey{{Fingerprint: f40, EncryptionKey: strings.Repeat("z", 40)}}, http.StatusBadRequest},
		{"key id only", []relayapi.RecipientKey{{Fingerprint: f40, EncryptionKey: g40[:16]}}, http.StatusBadRequest},
		{"twice", []relayapi.RecipientKey{{Fingerprint: f40, EncryptionKey: g40}, {Fingerprint: f40, EncryptionKey: g40}}, http.StatusBadRequest},
		{"address not a recipient", []relayapi.RecipientKey{{Fingerprint: f40, EncryptionKey: g40, Address: "x@evil.example"}}, http.StatusBadRequest},
		{"too many", many, http.StatusBadRequest},
	} {
		data := []byte(tc.name)
		resp, body := h.do("POST", "/api/v1/drops", relayapi.CreateDropRequest{Size: int64(len(data)), SHA256: hexSHA(data), Mode: "key",
			Recipients: []string{"martin@police.example"}, RecipientKeys: tc.keys}, h.auth()...)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.want)
		}
		if tc.want == http.StatusCreated {
			c := decode[relayapi.CreateDropResponse](t, body)
			d, err := h.srv.store.Drop(t.Context(), c.ID)
			if err != nil || d.RecipientKeys[0].Fingerprint != strings.ToUpper(tc.keys[0].Fingerprint) {
				t.Errorf("%s: stored %+v, %v", tc.name, d, err)
			}
		}
	}
}

// A receipt signed with a recipient's key is kept with its signer and
// signature, recorded in the audit line and listed in the proof; one
// signed by a key the drop is not encrypted to is refused, and a partial
// signed receipt is malformed.
func TestSignedReceipts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Mail = nil })
	signer := genKey(t, "Dr Durand", "durand@chu.example", envelope.ProfileCompat)
	a := genKey(t, "Cdt Martin", "martin@police.example", envelope.ProfileCompat)
	b := genKey(t, "Adj Blanc", "blanc@police.example", envelope.ProfileCompat)
	// Every key is made before the signing time below: a key created in a
	// later second than the signature cannot make it.
	eve := genKey(t, "Eve", "eve@evil.example", envelope.ProfileCompat)
	msg, keys := sealStating(t, signer, envelope.ProfileCompat, a, b)
	id := h.ready(msg, relayapi.CreateDropRequest{Recipients: []string{"martin@police.example", "blanc@police.example"}, RecipientKeys: keys})
	download := func() string {
		resp, body := h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
		expect(t, resp, body, http.StatusOK)
		return resp.Header.Get(relayapi.HeaderReceiptToken)
	}
	at := time.Now().UTC().Truncate(time.Second) // the recipient's clock; its key is from now
	sign := func(k *envelope.Key) string {
		s, err := envelope.SignReceipt(k, relayapi.ReceiptStatement(id, hexSHA(msg), at), at)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	proof := strings.Repeat("0f", 32)
	post := func(req relayapi.ReceiptRequest) (*http.Response, []byte) {
		return h.do("POST", "/api/v1/drops/"+id+"/receipt", req)
	}
	tok := download()
	// Signed by a key the drop is not encrypted to.
	resp, body := post(relayapi.ReceiptRequest{Proof: proof, Token: tok, Signer: eve.Fingerprint(), Signature: sign(eve), SignedAt: at})
	expect(t, resp, body, http.StatusForbidden)
	// Partial: a signer without a signature, a signature without a time.
	for _, req := range []relayapi.ReceiptRequest{
		{Proof: proof, Token: tok, Signer: a.Fingerprint()},
		{Proof: proof, Token: tok, Signer: a.Fingerprint(), Signature: sign(a)},
		{Proof: proof, Token: tok, Signer: "XYZ", Signature: sign(a), SignedAt: at},
		{Proof: proof, Token: tok, Signer: a.Fingerprint(), Signature: strings.Repeat("A", relayapi.MaxReceiptSignature+4), SignedAt: at},
	} {
		resp, body = post(req)
		expect(t, resp, body, http.StatusBadRequest)
	}
	sigA := sign(a) // signatures are salted: keep the one posted
	resp, body = post(relayapi.ReceiptRequest{Proof: proof, Token: tok, Signer: a.Fingerprint(), Signature: sigA, SignedAt: at})
	expect(t, resp, body, http.StatusNoContent)
	// An unsigned receipt still counts (link mode, the browser page).
	resp, body = post(relayapi.ReceiptRequest{Proof: proof, Token: download()})
	expect(t, resp, body, http.StatusNoContent)

	st := h.status(id)
	if len(st.Receipts) != 2 || st.Receipts[0].Signer != a.Fingerprint() || st.Receipts[0].Signature != sigA ||
		!st.Receipts[0].SignedAt.Equal(at) || st.Receipts[1].Signer != "" {
		t.Fatalf("receipts %+v", st.Receipts)
	}
	if err := envelope.VerifyReceipt(a.Public(), relayapi.ReceiptStatement(id, hexSHA(msg), st.Receipts[0].SignedAt), st.Receipts[0].Signature); err != nil {
		t.Fatalf("stored signature: %v", err)
	}
	resp, pb := h.do("GET", "/api/v1/drops/"+id+"/proof", nil, h.auth()...)
	expect(t, resp, pb, http.StatusOK)
	p, _, err := VerifyProof(pb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Receipts) != 2 || len(p.SignedReceipts) != 1 || p.SignedReceipts[0].Signer != a.Fingerprint() || p.SignedReceipts[0].Signature != sigA {
		t.Fatalf("proof receipts %v, signed %+v", p.Receipts, p.SignedReceipts)
	}
	var lines [][]string
	for _, e := range p.Events {
		if e.Event == EventReceipt {
			lines = append(lines, e.Keys)
		}
	}
	if len(lines) != 2 || !slices.Equal(lines[0], []string{a.Fingerprint()}) || lines[1] != nil {
		t.Fatalf("receipt audit lines %v", lines)
	}
}
