package envelope

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/sealprint/sealprint/internal/testutil"
)

func mustKey(t testing.TB, name, email string, opts *KeyOptions) *Key {
	t.Helper()
	k, err := GenerateKey(name, email, opts)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func seal(t testing.TB, plaintext []byte, opts SealOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := Seal(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSealOpen(t *testing.T) {
	for _, lib := range []bool{false, true} {
		libraryOnly = lib
		t.Run(map[bool]string{false: "fast", true: "library"}[lib], testSealOpen)
	}
	libraryOnly = false
}

func testSealOpen(t *testing.T) {
	sender := mustKey(t, "Dr Alice Doc", "alice@hospital.example", nil)
	bob := mustKey(t, "Cdt Bob Martin", "bob@police.example", nil)
	carol := mustKey(t, "Carol", "carol@police.example", nil)
	v6sender := mustKey(t, "Dr Six", "six@hospital.example", &KeyOptions{Profile: ProfileRFC9580})
	v6bob := mustKey(t, "Bob Six", "bob6@police.example", &KeyOptions{Profile: ProfileRFC9580})
	secret, err := NewLinkSecret()
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("%PDF-1.7 forensic report MARKER-123\n")
	tests := []struct {
		name string
		seal SealOptions
		open OpenOptions
	}{
		{"one recipient", SealOptions{Signer: sender, Recipients: []*Key{bob}},
			OpenOptions{Keys: []*Key{bob}, Verifiers: []*Key{sender.Public()}}},
		{"second of two recipients", SealOptions{Signer: sender, Recipients: []*Key{bob, carol}},
			OpenOptions{Keys: []*Key{carol}, Verifiers: []*Key{sender.Public()}}},
		{"link secret", SealOptions{Signer: sender, Secret: secret},
			OpenOptions{Secret: secret, Verifiers: []*Key{sender.Public()}}},
		{"key or link: link opens", SealOptions{Signer: sender, Recipients: []*Key{bob}, Secret: secret},
			OpenOptions{Secret: secret, Verifiers: []*Key{sender.Public()}}},
		{"rfc9580 keys", SealOptions{Signer: v6sender, Recipients: []*Key{v6bob}, Profile: ProfileRFC9580},
			OpenOptions{Keys: []*Key{v6bob}, Verifiers: []*Key{v6sender.Public()}}},
		{"rfc9580 link", SealOptions{Signer: v6sender, Secret: secret, Profile: ProfileRFC9580},
			OpenOptions{Secret: secret, Verifiers: []*Key{v6sender.Public()}}},
		{"compat sender to v6 recipient", SealOptions{Signer: sender, Recipients: []*Key{v6bob}},
			OpenOptions{Keys: []*Key{v6bob}, Verifiers: []*Key{sender.Public()}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.seal.FileName = "report.pdf"
			ct := seal(t, plain, tc.seal)
			if bytes.Contains(ct, []byte("MARKER-123")) {
				t.Fatal("plaintext visible in ciphertext")
			}
			var out bytes.Buffer
			msg, err := Open(bytes.NewReader(ct), &out, tc.open)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), plain) {
				t.Fatalf("plaintext mismatch: %q", out.Bytes())
			}
			if !msg.Verified || msg.Signer == nil || msg.Signer.Fingerprint() != tc.seal.Signer.Fingerprint() {
				t.Fatalf("signature not verified: %+v", msg)
			}
			if msg.FileName != "report.pdf" {
				t.Fatalf("file name %q", msg.FileName)
			}
			if len(msg.SessionKey) == 0 {
				t.Fatal("no session key")
			}
		})
	}
}

func TestSessionKeyMatchesReceipt(t *testing.T) {
	sender := mustKey(t, "A", "a@example.org", nil)
	bob := mustKey(t, "B", "b@example.org", nil)
	var buf bytes.Buffer
	w, err := Seal(&buf, SealOptions{Signer: sender, Recipients: []*Key{bob}})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "hello")
	w.Close()
	msg, err := Open(bytes.NewReader(buf.Bytes()), io.Discard, OpenOptions{Keys: []*Key{bob}, Verifiers: []*Key{sender}})
	if err != nil {
		t.Fatal(err)
	}
	proof := ReceiptProof(msg.SessionKey, "AB12")
	if !CheckReceipt(w.SessionKey(), "ab12", proof) {
		t.Fatal("receipt proof from the recipient's session key does not match the sender's")
	}
	if CheckReceipt([]byte("other"), "ab12", proof) {
		t.Fatal("receipt accepted with the wrong key")
	}
}

func TestOpenErrors(t *testing.T) {
	sender := mustKey(t, "A", "a@example.org", nil)
	bob := mustKey(t, "B", "b@example.org", nil)
	eve := mustKey(t, "E", "e@example.org", nil)
	mallory := mustKey(t, "M", "a@example.org", nil) // same email as sender, other key
	plain := bytes.Repeat([]byte("x"), 100000)
	ct := seal(t, plain, SealOptions{Signer: sender, Recipients: []*Key{bob}})

	check := func(name string, ct []byte, opts OpenOptions, want error) {
		t.Run(name, func(t *testing.T) {
			_, err := Open(bytes.NewReader(ct), io.Discard, opts)
			if err == nil || (want != errAny && !errors.Is(err, want)) {
				t.Fatalf("got %v, want %v", err, want)
			}
		})
	}
	check("wrong key", ct, OpenOptions{Keys: []*Key{eve}, Verifiers: []*Key{sender}}, ErrNoKey)
	check("wrong secret", seal(t, plain, SealOptions{Signer: sender, Secret: mustSecret(t)}),
		OpenOptions{Secret: mustSecret(t), Verifiers: []*Key{sender}}, ErrNoKey)
	check("unknown signer", ct, OpenOptions{Keys: []*Key{bob}, Verifiers: []*Key{mallory.Public()}}, ErrUnknownSigner)
	check("no verifier", ct, OpenOptions{Keys: []*Key{bob}}, ErrUnknownSigner)
	for _, off := range []int{len(ct) / 2, len(ct) - 30, len(ct) - 2} {
		bad := append([]byte(nil), ct...)
		bad[off] ^= 0x40
		check("tampered", bad, OpenOptions{Keys: []*Key{bob}, Verifiers: []*Key{sender}}, ErrTampered)
	}
	check("truncated", ct[:len(ct)-100], OpenOptions{Keys: []*Key{bob}, Verifiers: []*Key{sender}}, ErrTampered)
	check("garbage", []byte("hello, not openpgp"), OpenOptions{Keys: []*Key{bob}}, errAny)
}

// errAny matches any error in TestOpenErrors.
var errAny = errors.New("any")

func mustSecret(t testing.TB) string {
	s, err := NewLinkSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExpiredAndRevokedRecipients(t *testing.T) {
	sender := mustKey(t, "A", "a@example.org", nil)
	past := time.Now().Add(-48 * time.Hour)
	expired := mustKey(t, "Old", "old@example.org", &KeyOptions{Lifetime: time.Hour, Now: func() time.Time { return past }})
	if err := expired.Check(time.Now()); !errors.Is(err, ErrKeyUnusable) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired key: %v", err)
	}
	revoked := mustKey(t, "Rev", "rev@example.org", nil)
	if err := revoked.Revoke("left the unit"); err != nil {
		t.Fatal(err)
	}
	if err := revoked.Public().Check(time.Now()); !errors.Is(err, ErrKeyUnusable) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked key: %v", err)
	}
	for _, k := range []*Key{expired, revoked.Public()} {
		if _, err := Seal(io.Discard, SealOptions{Signer: sender, Recipients: []*Key{k}}); !errors.Is(err, ErrKeyUnusable) {
			t.Fatalf("seal to unusable key: %v", err)
		}
	}
}

func TestKeyExportImport(t *testing.T) {
	k := mustKey(t, "Dr Alice", "Alice@Hospital.example", nil)
	for _, armored := range []bool{true, false} {
		var pub, sec bytes.Buffer
		if err := k.WritePublic(&pub, armored); err != nil {
			t.Fatal(err)
		}
		if err := k.WriteSecret(&sec, armored, []byte("pass phrase")); err != nil {
			t.Fatal(err)
		}
		keys, err := ReadKeys(&pub)
		if err != nil || len(keys) != 1 || keys[0].IsSecret() || keys[0].Fingerprint() != k.Fingerprint() {
			t.Fatalf("public: %v %v", keys, err)
		}
		if got := keys[0].Emails(); len(got) != 1 || got[0] != "alice@hospital.example" {
			t.Fatalf("emails %v", got)
		}
		keys, err = ReadKeys(&sec)
		if err != nil || !keys[0].IsSecret() || !keys[0].IsLocked() {
			t.Fatalf("secret: %v locked=%v", err, keys[0].IsLocked())
		}
		if err := keys[0].Unlock([]byte("wrong")); err == nil {
			t.Fatal("wrong passphrase accepted")
		}
		if err := keys[0].Unlock([]byte("pass phrase")); err != nil {
			t.Fatal(err)
		}
		bob := mustKey(t, "B", "b@example.org", nil)
		seal(t, []byte("x"), SealOptions{Signer: keys[0], Recipients: []*Key{bob}})
	}
	if _, err := ReadKeys(bytes.NewReader(make([]byte, MaxKeySize+10))); err == nil {
		t.Fatal("oversized key accepted")
	}
}

func TestLinkSecret(t *testing.T) {
	s := mustSecret(t)
	if !ValidLinkSecret(s) || len(s) != LinkSecretLen {
		t.Fatalf("bad secret %q", s)
	}
	for _, bad := range []string{"", "short", strings.Repeat("!", 43), s + "A"} {
		if ValidLinkSecret(bad) {
			t.Fatalf("accepted %q", bad)
		}
	}
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":         "report.pdf",
		"../../etc/passwd":   "passwd",
		"C:\\x\\evil.pdf":    "evil.pdf",
		"..":                 "",
		".hidden":            "hidden",
		"a\x00b\nc.pdf":      "a_b_c.pdf",
		"/":                  "",
		"Compte rendu é.pdf": "Compte rendu é.pdf",
	} {
		if got := SafeFileName(in); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStreamingLarge(t *testing.T) {
	testutil.NeedIntegration(t) // 64 MiB through seal and open: skipped only with -short outside scripts/test
	sender := mustKey(t, "A", "a@example.org", nil)
	bob := mustKey(t, "B", "b@example.org", nil)
	pr, pw := io.Pipe()
	const size = 64 << 20
	go func() {
		w, err := Seal(pw, SealOptions{Signer: sender, Recipients: []*Key{bob}})
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		if _, err := io.CopyN(w, rand.Reader, size); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(w.Close())
	}()
	msg, err := Open(pr, io.Discard, OpenOptions{Keys: []*Key{bob}, Verifiers: []*Key{sender}})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Size != size {
		t.Fatalf("size %d", msg.Size)
	}
}

// TestAEADForRecipientsThatAdvertiseIt: a compat-profile sender encrypting
// to keys that advertise SEIPD v2 gets AEAD, and receipts still work.
func TestAEADForRecipientsThatAdvertiseIt(t *testing.T) {
	sender := mustKey(t, "A", "a@example.org", nil)
	v6 := mustKey(t, "Six", "six@example.org", &KeyOptions{Profile: ProfileRFC9580})
	var buf bytes.Buffer
	w, err := Seal(&buf, SealOptions{Signer: sender, Recipients: []*Key{v6}})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "aead please")
	w.Close()
	if v := seipdVersion(t, buf.Bytes()); v != 2 {
		t.Fatalf("SEIPD version %d, want 2 (AEAD)", v)
	}
	plain := seal(t, []byte("x"), SealOptions{Signer: sender, Recipients: []*Key{mustKey(t, "B", "b@example.org", nil)}})
	if v := seipdVersion(t, plain); v != 1 {
		t.Fatalf("SEIPD version %d for a compat recipient, want 1", v)
	}
	msg, err := Open(bytes.NewReader(buf.Bytes()), io.Discard, OpenOptions{Keys: []*Key{v6}, Verifiers: []*Key{sender}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msg.SessionKey, w.SessionKey()) {
		t.Fatalf("session keys differ: %x vs %x", msg.SessionKey, w.SessionKey())
	}
}

// seipdVersion returns the version of the message's encrypted data packet.
func seipdVersion(t *testing.T, msg []byte) int {
	r := packet.NewReader(bytes.NewReader(msg))
	for {
		p, err := r.Next()
		if err != nil {
			t.Fatalf("no encrypted data packet: %v", err)
		}
		if se, ok := p.(*packet.SymmetricallyEncrypted); ok {
			return se.Version
		}
	}
}
