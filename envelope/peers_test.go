package envelope

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// writeKeyFile writes k (public, or secret when secret is set) to dir.
func writeKeyFile(t *testing.T, dir, name string, k *Key, secret bool) string {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if secret {
		err = k.WriteSecret(&buf, true, nil)
	} else {
		err = k.WritePublic(&buf, true)
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runTool(t *testing.T, stdin []byte, bin string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, errb.String())
	}
	return out.String(), errb.String()
}

// TestPeersSeeIntendedRecipients: Sequoia's packet dump shows one Intended
// Recipient subpacket per recipient in a key-mode message from the fast
// path, and sqop, rnp and gpg still decrypt it and verify its signature.
func TestPeersSeeIntendedRecipients(t *testing.T) {
	sq := testutil.NeedTool(t, "sq")
	sqop := testutil.NeedTool(t, "sqop")
	rnp := testutil.NeedTool(t, "rnp")
	rnpkeys := testutil.NeedTool(t, "rnpkeys")
	sender, recips := diffKeys(t)
	bob, carol := recips[0], recips[1]
	plain := []byte("%PDF-1.7 rapport pour deux destinataires\n")
	var buf bytes.Buffer
	w, err := Seal(&buf, SealOptions{Signer: sender, Recipients: []*Key{bob, carol}, FileName: "r.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ct := buf.Bytes()
	dir := t.TempDir()
	msgFile := filepath.Join(dir, "msg.pgp")
	os.WriteFile(msgFile, ct, 0o600)

	t.Run("sq packet dump", func(t *testing.T) {
		sk := "9:" + strings.ToUpper(hex.EncodeToString(w.SessionKey())) // 9 = AES-256
		out, _ := runTool(t, nil, sq, "packet", "dump", "--session-key", sk, msgFile)
		var got []string
		for _, line := range strings.Split(out, "\n") {
			if i := strings.Index(line, "Intended Recipient:"); i >= 0 {
				got = append(got, strings.ReplaceAll(strings.TrimSpace(line[i+len("Intended Recipient:"):]), " ", ""))
			}
		}
		if len(got) != 2 || got[0] != bob.Fingerprint() || got[1] != carol.Fingerprint() {
			t.Fatalf("sq packet dump shows intended recipients %q, want %s and %s:\n%s", got, bob.Fingerprint(), carol.Fingerprint(), out)
		}
	})
	t.Run("sqop", func(t *testing.T) {
		cert := writeKeyFile(t, dir, "sender.asc", sender, false)
		key := writeKeyFile(t, dir, "carol.key", carol, true)
		ver := filepath.Join(dir, "ver")
		out, _ := runTool(t, ct, sqop, "decrypt", "--verify-with", cert, "--verifications-out", ver, key)
		v, _ := os.ReadFile(ver)
		if out != string(plain) || !strings.Contains(string(v), sender.Fingerprint()) {
			t.Fatalf("sqop: %q, verifications %q", out, v)
		}
	})
	t.Run("rnp", func(t *testing.T) {
		home := filepath.Join(dir, "rnp")
		os.Mkdir(home, 0o700)
		runTool(t, nil, rnpkeys, "--homedir", home, "--import", writeKeyFile(t, dir, "s.asc", sender, false))
		runTool(t, nil, rnpkeys, "--homedir", home, "--import", writeKeyFile(t, dir, "b.key", bob, true))
		out := filepath.Join(dir, "rnp.out")
		_, stderr := runTool(t, nil, rnp, "--homedir", home, "--password", "", "--decrypt", msgFile, "--output", out)
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, plain) || !strings.Contains(stderr, "Good signature") {
			t.Fatalf("rnp: %q\n%s", got, stderr)
		}
	})
	t.Run("gpg", func(t *testing.T) {
		g := newGnuPG(t)
		g.importKey(sender, false)
		g.importKey(bob, true)
		out, status, err := g.run(ct, "--decrypt")
		if err != nil || !bytes.Equal(out, plain) || !bytes.Contains(status, []byte("GOODSIG")) {
			t.Fatalf("gpg: %v %q\n%s", err, out, status)
		}
	})
}
