package relay

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/sealprint/sealprint/relayapi"
)

// proofOfAFullFlow returns a proof of a drop created, uploaded,
// downloaded and acknowledged, and the relay's audit key.
func proofOfAFullFlow(t *testing.T, h *harness) ([]byte, ed25519.PublicKey, string) {
	t.Helper()
	id := h.ready(randomBytes(t, 10), relayapi.CreateDropRequest{Mode: "link"})
	if resp, _ := h.do("GET", "/api/v1/drops/"+id+"/blob", nil); resp.StatusCode != 200 {
		t.Fatalf("download: %d", resp.StatusCode)
	}
	resp, b := h.do("GET", "/api/v1/drops/"+id+"/proof", nil, h.auth()...)
	if resp.StatusCode != 200 {
		t.Fatalf("proof: %d %s", resp.StatusCode, b)
	}
	pub, err := LoadAuditPublicKey(h.data.AuditKey())
	if err != nil {
		t.Fatal(err)
	}
	return b, pub, id
}

func TestProofOfDelivery(t *testing.T) {
	h := newHarness(t)
	b, pub, id := proofOfAFullFlow(t, h)
	p, got, err := VerifyProof(b, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(pub) || p.Drop != id || p.UploadedAt == nil || len(p.Downloads) != 1 || p.Checkpoint == nil {
		t.Fatalf("proof %+v", p)
	}
	var events []string
	for _, e := range p.Events {
		events = append(events, e.Event)
	}
	if len(events) != 4 || events[0] != EventCreate || events[3] != EventDownload {
		t.Fatalf("events %v", events)
	}
	// Another relay's key refuses it.
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey)
	if _, _, err := VerifyProof(b, other); !errors.Is(err, ErrBadProof) {
		t.Fatalf("foreign key: %v", err)
	}
	// Any changed byte is refused: every position, one bit each.
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		if _, _, err := VerifyProof(c, nil); err == nil {
			t.Fatalf("byte %d changed (%q → %q) and the proof still verifies", i, b[i], c[i])
		}
	}
	// Nor a byte added or removed.
	if _, _, err := VerifyProof(append(bytes.Clone(b), '\n'), nil); err == nil {
		t.Fatal("trailing byte accepted")
	}
	if _, _, err := VerifyProof(b[:len(b)-1], nil); err == nil {
		t.Fatal("truncated proof accepted")
	}
}

// FuzzVerifyProof: the proof parser never panics and accepts nothing but
// a proof signed by the key.
func FuzzVerifyProof(f *testing.F) {
	f.Add([]byte(`{"proof":{},"key_id":"","public_key":"","signature":""}`))
	f.Add([]byte("{}"))
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	d := &Drop{ID: "d1", SHA256: "00", Mode: "link"}
	cp := signCheckpoint(key, 5, zeroHash, d.CreatedAt)
	good, err := buildProof(proofSource{drop: d, events: []AuditEvent{{Seq: 1, Event: EventCreate, Drop: "d1", Prev: zeroHash}}, cp: &cp}, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	pub := key.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, _, err := VerifyProof(b, pub)
		if err == nil && !bytes.Equal(b, good) {
			t.Fatalf("accepted a proof that is not the signed one: %+v", p)
		}
	})
}
