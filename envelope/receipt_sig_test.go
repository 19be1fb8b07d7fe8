package envelope

import (
	"strings"
	"testing"
	"time"
)

// A receipt signed by a recipient verifies with that recipient's public
// key only, and only for the statement signed.
func TestSignedReceipt(t *testing.T) {
	martin, err := GenerateKey("Cdt Martin", "martin@police.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	blanc, err := GenerateKey("Adj Blanc", "blanc@police.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	st := []byte("sealprint receipt v1\ndrop: d1\nsha256: 00\nopened-at: 2026-12-01T10:00:00Z\n")
	sig, err := SignReceipt(martin, st, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyReceipt(martin.Public(), st, sig); err != nil {
		t.Fatalf("good receipt: %v", err)
	}
	if err := VerifyReceipt(blanc.Public(), st, sig); err == nil {
		t.Fatal("verified with another recipient's key")
	}
	other := []byte(strings.Replace(string(st), "d1", "d2", 1))
	if err := VerifyReceipt(martin.Public(), other, sig); err == nil {
		t.Fatal("verified for another drop")
	}
	for _, bad := range []string{"", "!!", strings.Repeat("A", 8000)} {
		if err := VerifyReceipt(martin.Public(), st, bad); err == nil {
			t.Fatalf("malformed signature %q accepted", bad[:min(len(bad), 10)])
		}
	}
	if _, err := SignReceipt(martin.Public(), st, time.Now()); err == nil {
		t.Fatal("signed with a public key")
	}
}

// FuzzVerifyReceipt: the receipt signature parser never panics.
func FuzzVerifyReceipt(f *testing.F) {
	k, err := GenerateKey("Cdt Martin", "martin@police.example", nil)
	if err != nil {
		f.Fatal(err)
	}
	st := []byte("statement")
	sig, _ := SignReceipt(k, st, time.Now())
	f.Add(sig)
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		VerifyReceipt(k.Public(), st, s)
	})
}

// BindsEncryptionKey accepts a key's own encryption subkey only.
func TestBindsEncryptionKey(t *testing.T) {
	a, _ := GenerateKey("Cdt Martin", "martin@police.example", nil)
	b, _ := GenerateKey("Adj Blanc", "blanc@police.example", nil)
	var buf strings.Builder
	w, err := Seal(&buf, SealOptions{Signer: a, Recipients: []*Key{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	ka, kb := w.Keys()[0], w.Keys()[1]
	now := time.Now()
	if !a.Public().BindsEncryptionKey(ka.EncryptionKey, now) || !a.BindsEncryptionKey(strings.ToLower(ka.EncryptionKey), now) {
		t.Fatal("a key's own encryption subkey refused")
	}
	if a.BindsEncryptionKey(kb.EncryptionKey, now) {
		t.Fatal("another key's subkey accepted")
	}
	if a.BindsEncryptionKey(a.Fingerprint(), now) {
		t.Fatal("an Ed25519 signing primary key accepted as an encryption key")
	}
}
