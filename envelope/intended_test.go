package envelope

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// reencrypt is what a recipient who wants to pass a signed document on
// does: decrypt, keep the signed packets as they are, encrypt them to a
// third key.
func reencrypt(t *testing.T, ct []byte, opener *Key, all []*Key, to *Key) []byte {
	t.Helper()
	var sk []byte
	msg, err := Open(bytes.NewReader(ct), &bytes.Buffer{}, OpenOptions{Keys: []*Key{opener}, AllowUnverified: true})
	if err != nil {
		t.Fatal(err)
	}
	sk = msg.SessionKey
	parts := dissect(t, ct, all, nil, sk)
	var inner bytes.Buffer
	for _, p := range parts.inner {
		inner.WriteByte(0xc0 | p.tag)
		inner.WriteByte(0xff)
		binary.Write(&inner, binary.BigEndian, uint32(len(p.body)))
		inner.Write(p.body)
	}
	key := make([]byte, 32)
	rand.Read(key)
	ek, err := to.entity.EncryptionKeyWithError(time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := packet.SerializeEncryptedKeyAEAD(&out, ek.PublicKey, packet.CipherAES256, false, key, nil); err != nil {
		t.Fatal(err)
	}
	w, err := packet.SerializeSymmetricallyEncrypted(&out, packet.CipherAES256, false, packet.CipherSuite{}, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(inner.Bytes())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestReencryptedToThirdKeyIsNotAddressedToYou: the signature stays good
// for the third party, and Open says the document was addressed to others.
func TestReencryptedToThirdKeyIsNotAddressedToYou(t *testing.T) {
	sender, recips := diffKeys(t)
	bob, carol, dave := recips[0], recips[1], recips[2]
	for _, lib := range []bool{false, true} {
		libMu.Lock()
		libraryOnly = lib
		ct := seal(t, []byte("%PDF-1.7 rapport"), SealOptions{Signer: sender, Recipients: []*Key{bob, carol}})
		libraryOnly = false
		libMu.Unlock()

		msg, err := Open(bytes.NewReader(ct), &bytes.Buffer{}, OpenOptions{Keys: []*Key{bob}, Verifiers: []*Key{sender}})
		if err != nil {
			t.Fatal(err)
		}
		if msg.NotAddressedToYou || len(msg.IntendedRecipients) != 2 ||
			msg.IntendedRecipients[0] != bob.Fingerprint() || msg.IntendedRecipients[1] != carol.Fingerprint() {
			t.Fatalf("library=%v: bob opening his own message: %+v", lib, msg)
		}

		passed := reencrypt(t, ct, bob, []*Key{bob, carol}, dave)
		var out bytes.Buffer
		msg, err = Open(bytes.NewReader(passed), &out, OpenOptions{Keys: []*Key{dave}, Verifiers: []*Key{sender}})
		if err != nil {
			t.Fatalf("library=%v: third party opening a passed-on document: %v", lib, err)
		}
		if !msg.Verified || !msg.NotAddressedToYou || len(msg.IntendedRecipients) != 2 {
			t.Fatalf("library=%v: passed-on document: %+v", lib, msg)
		}
		if out.String() != "%PDF-1.7 rapport" {
			t.Fatalf("plaintext %q", out.String())
		}
	}
}
