package envelope

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/sealprint/sealprint/internal/testutil"
)

// sealForLinks seals plain for n link secrets of their own.
func sealForLinks(t *testing.T, sender *Key, plain []byte, n int) ([]byte, []string, []byte) {
	t.Helper()
	secrets := make([]string, n)
	for i := range secrets {
		secrets[i] = mustSecret(t)
	}
	var buf bytes.Buffer
	w, err := Seal(&buf, SealOptions{Signer: sender, Secrets: secrets, FileName: "r.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), secrets, w.SessionKey()
}

// skeskPackets returns the raw SKESK packets of ct, in order.
func skeskPackets(t *testing.T, ct []byte) [][]byte {
	t.Helper()
	pkts, err := splitPackets(ct)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, p := range pkts {
		if p.tag == 3 {
			out = append(out, append(header3(len(p.body)), p.body...))
		}
	}
	return out
}

func header3(n int) []byte {
	if n < 192 {
		return []byte{0xC3, byte(n)}
	}
	n -= 192
	return []byte{0xC3, byte(n>>8) + 192, byte(n)}
}

// TestLinkSecretPerRecipient: one message, one SKESK per secret around one
// session key: every secret opens it (20 of them, so that without the
// remade packets go-crypto would often stop on a wrong one), a secret of
// another message does not, and each secret gives its own receipt proof.
func TestLinkSecretPerRecipient(t *testing.T) {
	sender := mustKey(t, "Dr Claire Durand", "claire.durand@chu.example", nil)
	plain := bytes.Repeat([]byte("%PDF-1.7 rapport pour plusieurs liens\n"), 1000)
	ct, secrets, sk := sealForLinks(t, sender, plain, 20)
	if got := len(skeskPackets(t, ct)); got != 20 {
		t.Fatalf("%d SKESK packets, want 20", got)
	}
	sum := sha256.Sum256(ct)
	sumHex := hex.EncodeToString(sum[:])
	proofs := map[string]bool{}
	for i, s := range secrets {
		var out bytes.Buffer
		msg, err := Open(bytes.NewReader(ct), &out, OpenOptions{Secret: s, Verifiers: []*Key{sender.Public()}})
		if err != nil {
			t.Fatalf("secret %d: %v", i, err)
		}
		if !bytes.Equal(out.Bytes(), plain) || !msg.Verified || !msg.Symmetric || !bytes.Equal(msg.SessionKey, sk) {
			t.Fatalf("secret %d: verified=%v symmetric=%v same session key=%v", i, msg.Verified, msg.Symmetric, bytes.Equal(msg.SessionKey, sk))
		}
		p := LinkReceiptProof(s, sumHex)
		if proofs[p] {
			t.Fatalf("secret %d: receipt proof shared with another secret", i)
		}
		proofs[p] = true
		if !CheckLinkReceipt(s, strings.ToUpper(sumHex), strings.ToUpper(p)) {
			t.Fatalf("secret %d: its own proof does not check", i)
		}
		if CheckLinkReceipt(secrets[(i+1)%len(secrets)], sumHex, p) {
			t.Fatalf("secret %d: proof checks against another secret", i)
		}
		if p == ReceiptProof(sk, sumHex) {
			t.Fatal("link proof equals the session-key proof")
		}
	}
	if _, err := Open(bytes.NewReader(ct), &bytes.Buffer{}, OpenOptions{Secret: mustSecret(t), AllowUnverified: true}); err == nil {
		t.Fatal("a secret of no recipient opened the message")
	}
	for i, p := range skeskPackets(t, ct) {
		ok, err := unambiguousSKESK(p, secrets, i)
		if err != nil || !ok {
			t.Fatalf("SKESK %d: another secret decrypts it to a cipher (err %v)", i, err)
		}
	}
}

// TestSKESKAmbiguityIsReal shows what writeSKESKs guards against: packets
// made without the check are, in about 1 case in 20, decrypted by another
// secret to a byte that names a cipher.
func TestSKESKAmbiguityIsReal(t *testing.T) {
	a, b := mustSecret(t), mustSecret(t)
	config := ProfileCompat.config(time.Now, nil)
	ambiguous := 0
	for i := 0; i < 300; i++ {
		var buf bytes.Buffer
		if err := packet.SerializeSymmetricKeyEncryptedReuseKey(&buf, make([]byte, 32), []byte(a), config); err != nil {
			t.Fatal(err)
		}
		ok, err := unambiguousSKESK(buf.Bytes(), []string{a, b}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			ambiguous++
		}
	}
	if ambiguous == 0 {
		t.Fatal("no packet of 300 was ambiguous: the check checks nothing")
	}
	t.Logf("%d of 300 unchecked packets were ambiguous", ambiguous)
}

// TestPeersOpenEachLinkSecret: sqop and rnp open a message for three link
// secrets with each of them and verify its signature; gpg 2.2 with the
// first.
func TestPeersOpenEachLinkSecret(t *testing.T) {
	sqop := testutil.NeedTool(t, "sqop")
	rnp := testutil.NeedTool(t, "rnp")
	sender := mustKey(t, "Dr Claire Durand", "claire.durand@chu.example", nil)
	plain := []byte("%PDF-1.7 rapport pour trois liens\n")
	ct, secrets, _ := sealForLinks(t, sender, plain, 3)
	dir := t.TempDir()
	msgFile := filepath.Join(dir, "msg.pgp")
	os.WriteFile(msgFile, ct, 0o600)
	cert := writeKeyFile(t, dir, "sender.asc", sender, false)
	g := newGnuPG(t)
	g.importKey(sender, false)
	for i, s := range secrets {
		pw := filepath.Join(dir, "pw")
		os.WriteFile(pw, []byte(s), 0o600)
		ver := filepath.Join(dir, "ver")
		os.Remove(ver)
		out, _ := runTool(t, ct, sqop, "decrypt", "--with-password", pw, "--verify-with", cert, "--verifications-out", ver)
		v, _ := os.ReadFile(ver)
		if out != string(plain) || !strings.Contains(string(v), sender.Fingerprint()) {
			t.Fatalf("sqop, secret %d: %q, verifications %q", i, out, v)
		}
		home := filepath.Join(dir, "rnp")
		os.MkdirAll(home, 0o700)
		runTool(t, nil, testutil.NeedTool(t, "rnpkeys"), "--homedir", home, "--import", cert)
		rout := filepath.Join(dir, "rnp.out")
		os.Remove(rout)
		_, stderr := runTool(t, nil, rnp, "--homedir", home, "--password", s, "--decrypt", msgFile, "--output", rout)
		got, _ := os.ReadFile(rout)
		if !bytes.Equal(got, plain) || !strings.Contains(stderr, "Good signature") {
			t.Fatalf("rnp, secret %d: %q\n%s", i, got, stderr)
		}
		// gpg 2.2 tries a passphrase on the first SKESK packet only and
		// stops there ("Bad session key"): it opens the first link's
		// message, the others need sqop, rnp, sealprint open or the page
		// (docs/security.md says so).
		gout, status, err := g.run(ct, "--passphrase="+s, "--decrypt")
		ok := err == nil && bytes.Equal(gout, plain) && bytes.Contains(status, []byte("GOODSIG"))
		switch {
		case i == 0 && !ok:
			t.Fatalf("gpg, first secret: %v %q\n%s", err, gout, status)
		case i > 0 && !ok:
			t.Logf("gpg does not open with secret %d (first SKESK only): %v", i, err)
		}
	}
}

// TestLinkSecretPerRecipientRFC9580: with the RFC 9580 profile (go-crypto's
// own writer, authenticated v6 SKESK packets) each secret opens too.
func TestLinkSecretPerRecipientRFC9580(t *testing.T) {
	sender := mustKey(t, "Dr Claire Durand", "claire.durand@chu.example", nil)
	secrets := []string{mustSecret(t), mustSecret(t), mustSecret(t)}
	plain := []byte("%PDF-1.7 rapport\n")
	ct := seal(t, plain, SealOptions{Signer: sender, Secrets: secrets, Profile: ProfileRFC9580})
	for i, s := range secrets {
		var out bytes.Buffer
		if _, err := Open(bytes.NewReader(ct), &out, OpenOptions{Secret: s, Verifiers: []*Key{sender.Public()}}); err != nil || !bytes.Equal(out.Bytes(), plain) {
			t.Fatalf("secret %d: %v", i, err)
		}
	}
	if got := len(skeskPackets(t, ct)); got != 3 {
		t.Fatalf("%d SKESK packets", got)
	}
}

// Seal refuses a secret given twice and too many secrets.
func TestLinkSecretsRefused(t *testing.T) {
	sender := mustKey(t, "A", "a@example.org", nil)
	s := mustSecret(t)
	if _, err := Seal(&bytes.Buffer{}, SealOptions{Signer: sender, Secret: s, Secrets: []string{s}}); err == nil {
		t.Fatal("the same secret twice")
	}
	if _, err := Seal(&bytes.Buffer{}, SealOptions{Signer: sender, Secrets: []string{"short"}}); err == nil {
		t.Fatal("a malformed secret")
	}
	many := make([]string, MaxLinkSecrets+1)
	for i := range many {
		many[i] = mustSecret(t)
	}
	if _, err := Seal(&bytes.Buffer{}, SealOptions{Signer: sender, Secrets: many}); err == nil {
		t.Fatal("more secrets than MaxLinkSecrets")
	}
}
