package envelope

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The cover travels in the signature, on both sealing paths, for key and
// link mode; a message without one opens with an empty cover.
func TestCoverRoundTrip(t *testing.T) {
	sender := mustKey(t, "Dr Alice", "alice@hospital.example", nil)
	bob := mustKey(t, "Bob", "bob@police.example", nil)
	secret := mustSecret(t)
	cover := Cover{Deadline: time.Date(2026, 12, 2, 9, 30, 0, 0, time.FixedZone("CET", 3600)), Reference: "PV 2026/001234 — GAV"}
	defer func() { libraryOnly = false }()
	for _, lib := range []bool{false, true} {
		libraryOnly = lib
		for name, so := range map[string]SealOptions{
			"key":  {Signer: sender, Recipients: []*Key{bob}, Cover: cover},
			"link": {Signer: sender, Secret: secret, Cover: cover},
		} {
			ct := seal(t, []byte("%PDF-1.7 x"), so)
			var out bytes.Buffer
			m, err := Open(bytes.NewReader(ct), &out, OpenOptions{Keys: []*Key{bob}, Secret: secret, Verifiers: []*Key{sender.Public()}})
			if err != nil {
				t.Fatalf("%s lib=%v: %v", name, lib, err)
			}
			if !m.Cover.Deadline.Equal(cover.Deadline) || m.Cover.Reference != cover.Reference {
				t.Fatalf("%s lib=%v: cover %+v", name, lib, m.Cover)
			}
			if bytes.Contains(ct, []byte("PV 2026")) {
				t.Fatal("cover visible outside the encryption")
			}
		}
		ct := seal(t, []byte("%PDF-1.7 x"), SealOptions{Signer: sender, Recipients: []*Key{bob}})
		m, err := Open(bytes.NewReader(ct), &bytes.Buffer{}, OpenOptions{Keys: []*Key{bob}, Verifiers: []*Key{sender.Public()}})
		if err != nil || !m.Cover.IsZero() {
			t.Fatalf("no cover: %v %+v", err, m)
		}
	}
}

func TestCoverLimits(t *testing.T) {
	if _, err := MarshalCover(Cover{Reference: strings.Repeat("x", MaxReference+1)}); err == nil {
		t.Fatal("long reference accepted")
	}
	if _, err := MarshalCover(Cover{Reference: "a\nb"}); err == nil {
		t.Fatal("control character accepted")
	}
	sender := mustKey(t, "Dr Alice", "alice@hospital.example", nil)
	if _, err := Seal(&bytes.Buffer{}, SealOptions{Signer: sender, Secret: mustSecret(t), Cover: Cover{Reference: "\x00"}}); err == nil {
		t.Fatal("bad cover sealed")
	}
	for _, bad := range []string{`{"v":2}`, `{"v":1,"deadline":"tomorrow"}`, `[]`, `{"v":1,"reference":"\u0007"}`, strings.Repeat(" ", MaxCoverSize+1)} {
		if _, err := ParseCover([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	c, err := ParseCover([]byte(`{"v":1,"reference":"PV 1","future":true}`))
	if err != nil || c.Reference != "PV 1" {
		t.Fatalf("%v %+v", err, c)
	}
}

// gpg verifies a message with a cover and shows the notation.
func TestGnuPGReadsCover(t *testing.T) {
	g := newGnuPG(t)
	sender := mustKey(t, "Dr Alice", "alice@hospital.example", nil)
	g.importKey(sender, false)
	secret := mustSecret(t)
	ct := seal(t, []byte("%PDF-1.4 x\n"), SealOptions{Signer: sender, Secret: secret, Cover: Cover{Reference: "PV 42"}})
	_, status, err := g.run(ct, "--passphrase="+secret, "--decrypt")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(status, []byte("GOODSIG")) || !bytes.Contains(status, []byte("NOTATION_NAME "+CoverNotation)) {
		t.Fatalf("gpg status:\n%s", status)
	}
}

func FuzzParseCover(f *testing.F) {
	f.Add([]byte(`{"v":1,"deadline":"2026-12-02T09:30:00+01:00","reference":"PV"}`))
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCover(b)
		if err != nil {
			return
		}
		if _, err := MarshalCover(c); err != nil {
			t.Fatalf("parsed cover does not marshal: %v", err)
		}
	})
}
