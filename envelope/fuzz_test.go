package envelope

import (
	"bytes"
	"io"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to the message reader: it must fail
// cleanly, never panic, and never report a verified signature for input it
// did not decrypt and authenticate whole.
func FuzzOpen(f *testing.F) {
	sender := mustKey(f, "A", "a@example.org", nil)
	bob := mustKey(f, "B", "b@example.org", nil)
	secret := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	f.Add(seal(f, []byte("hello"), SealOptions{Signer: sender, Recipients: []*Key{bob}}))
	f.Add(seal(f, bytes.Repeat([]byte("x"), 70000), SealOptions{Signer: sender, Secret: secret}))
	f.Add([]byte{0xc3, 0x04, 0x04, 0x03})
	f.Add([]byte("-----BEGIN PGP MESSAGE-----\n\nwcBMA\n-----END PGP MESSAGE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := Open(bytes.NewReader(data), io.Discard, OpenOptions{
			Keys: []*Key{bob}, Secret: secret, Verifiers: []*Key{sender},
		})
		if err == nil && (!msg.Verified || msg.Signer == nil) {
			t.Fatalf("opened without a verified signature: %+v", msg)
		}
	})
}

// FuzzReadKeys feeds arbitrary bytes to the key parser.
func FuzzReadKeys(f *testing.F) {
	k := mustKey(f, "A", "a@example.org", nil)
	var pub, sec bytes.Buffer
	k.WritePublic(&pub, true)
	k.WriteSecret(&sec, false, nil)
	f.Add(pub.Bytes())
	f.Add(sec.Bytes())
	f.Add([]byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ReadKeys(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, k := range keys {
			_ = k.Fingerprint()
			_ = k.Emails()
			_ = k.Identity()
			var buf bytes.Buffer
			k.WritePublic(&buf, true)
		}
	})
}
