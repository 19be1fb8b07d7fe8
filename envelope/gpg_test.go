package envelope

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// gnupg drives a real gpg with a private home directory.
type gnupg struct {
	t    *testing.T
	bin  string
	home string
}

func newGnuPG(t *testing.T) *gnupg {
	bin := testutil.NeedTool(t, "gpg")
	// gpg-agent's socket path must be short: keep the home under /tmp.
	home, err := os.MkdirTemp("/tmp", "gpgh")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	g := &gnupg{t: t, bin: bin, home: home}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	return g
}

// run runs gpg and returns stdout; stderr and the status lines are in out2.
func (g *gnupg) run(stdin []byte, args ...string) (stdout, status []byte, err error) {
	g.t.Helper()
	statusFile := filepath.Join(g.home, "status")
	full := append([]string{"--homedir", g.home, "--batch", "--yes", "--pinentry-mode", "loopback",
		"--status-file", statusFile, "--no-auto-key-locate", "--trust-model", "always"}, args...)
	cmd := exec.Command(g.bin, full...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	st, _ := os.ReadFile(statusFile)
	if err != nil {
		return out.Bytes(), st, &gpgError{err: err, stderr: errb.String()}
	}
	return out.Bytes(), st, nil
}

type gpgError struct {
	err    error
	stderr string
}

func (e *gpgError) Error() string { return e.err.Error() + ": " + e.stderr }

func (g *gnupg) must(stdin []byte, args ...string) []byte {
	g.t.Helper()
	out, _, err := g.run(stdin, args...)
	if err != nil {
		g.t.Fatalf("gpg %v: %v", args, err)
	}
	return out
}

// genKey creates a key with gpg: primary algo for signing, sub for
// encryption. It returns the exported public and secret keys.
func (g *gnupg) genKey(uid, primary, sub string) (pub, sec []byte) {
	g.t.Helper()
	g.must(nil, "--passphrase", "", "--quick-gen-key", uid, primary, "sign,cert", "never")
	fpr := g.fingerprint(uid)
	g.must(nil, "--passphrase", "", "--quick-add-key", fpr, sub, "encr", "never")
	pub = g.must(nil, "--armor", "--export", fpr)
	sec = g.must(nil, "--passphrase", "", "--armor", "--export-secret-keys", fpr)
	return pub, sec
}

func (g *gnupg) fingerprint(uid string) string {
	out := g.must(nil, "--with-colons", "--list-keys", uid)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "fpr:") {
			return strings.Split(line, ":")[9]
		}
	}
	g.t.Fatalf("no fingerprint for %s", uid)
	return ""
}

func (g *gnupg) importKey(k *Key, secret bool) {
	g.t.Helper()
	var buf bytes.Buffer
	var err error
	if secret {
		err = k.WriteSecret(&buf, true, nil)
	} else {
		err = k.WritePublic(&buf, true)
	}
	if err != nil {
		g.t.Fatal(err)
	}
	// gpg has been seen (once, under load) to answer an import with
	// success and then not know the key: check, and import once more,
	// so a failure says where it happened instead of "No public key".
	for try := 0; ; try++ {
		_, status, err := g.run(buf.Bytes(), "--import")
		if err == nil && g.knows(k.Fingerprint()) {
			return
		}
		if try == 1 {
			g.t.Fatalf("gpg --import of %s: %v; key not in the keyring afterwards\n%s", k.Fingerprint(), err, status)
		}
		g.t.Logf("gpg --import of %s did not take (%v), trying again:\n%s", k.Fingerprint(), err, status)
	}
}

// knows reports whether gpg's keyring holds the key with fingerprint fpr.
func (g *gnupg) knows(fpr string) bool {
	out, _, err := g.run(nil, "--with-colons", "--list-keys", fpr)
	return err == nil && strings.Contains(string(out), fpr)
}

func readKey(t *testing.T, b []byte) *Key {
	t.Helper()
	keys, err := ReadKeys(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return keys[0]
}

// TestGnuPGOpensOurMessages: sealprint seals, gpg decrypts and reports a
// good signature; for recipient keys we made and keys gpg made.
func TestGnuPGOpensOurMessages(t *testing.T) {
	g := newGnuPG(t)
	sender := mustKey(t, "Dr Alice", "alice@hospital.example", nil)
	g.importKey(sender, false)
	ours := mustKey(t, "Bob", "bob@police.example", nil)
	g.importKey(ours, true)
	recipients := map[string]*Key{"sealprint cv25519": ours}
	for name, algos := range map[string][2]string{
		"gpg rsa3072":  {"rsa3072", "rsa3072"},
		"gpg rsa2048":  {"rsa2048", "rsa2048"},
		"gpg ed25519":  {"ed25519", "cv25519"},
		"gpg nistp256": {"nistp256", "nistp256"},
		"gpg nistp384": {"nistp384", "nistp384"},
	} {
		uid := strings.ReplaceAll(name, " ", "-") + "@police.example"
		pub, _ := g.genKey(uid, algos[0], algos[1])
		recipients[name] = readKey(t, pub)
	}
	plain := []byte("%PDF-1.4 rapport médico-légal\n")
	for name, rk := range recipients {
		t.Run(name, func(t *testing.T) {
			ct := seal(t, plain, SealOptions{Signer: sender, Recipients: []*Key{rk}, FileName: "r.pdf"})
			out, status, err := g.run(ct, "--decrypt")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, plain) {
				t.Fatalf("gpg decrypted %q", out)
			}
			if !bytes.Contains(status, []byte("[GNUPG:] GOODSIG")) || !bytes.Contains(status, []byte(sender.Fingerprint())) {
				t.Fatalf("gpg did not report a good signature by %s:\n%s", sender.Fingerprint(), status)
			}
		})
	}
	t.Run("link secret", func(t *testing.T) {
		secret := mustSecret(t)
		ct := seal(t, plain, SealOptions{Signer: sender, Secret: secret})
		out, status, err := g.run(ct, "--passphrase="+secret, "--decrypt")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, plain) || !bytes.Contains(status, []byte("GOODSIG")) {
			t.Fatalf("link mode with gpg: %q\n%s", out, status)
		}
	})
}

// TestWeOpenGnuPGMessages: gpg signs and encrypts to our key and to gpg
// keys; sealprint opens and verifies.
func TestWeOpenGnuPGMessages(t *testing.T) {
	g := newGnuPG(t)
	ours := mustKey(t, "Bob", "bob@police.example", nil)
	g.importKey(ours, false)
	plain := []byte("signed by gpg, opened by sealprint\n")
	for name, algos := range map[string][2]string{
		"rsa3072": {"rsa3072", "rsa3072"},
		"ed25519": {"ed25519", "cv25519"},
	} {
		t.Run(name, func(t *testing.T) {
			uid := name + "@hospital.example"
			pub, sec := g.genKey(uid, algos[0], algos[1])
			signer := readKey(t, pub)
			// gpg encrypts to our key, signed by its own key.
			ct := g.must(plain, "-z", "0", "--sign", "--encrypt", "-u", uid, "-r", "bob@police.example")
			var out bytes.Buffer
			msg, err := Open(bytes.NewReader(ct), &out, OpenOptions{Keys: []*Key{ours}, Verifiers: []*Key{signer}})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), plain) || !msg.Verified || msg.Signer.Fingerprint() != signer.Fingerprint() {
				t.Fatalf("open gpg message: %q %+v", out.Bytes(), msg)
			}
			// And a gpg key as the decryption key: gpg encrypts to itself.
			ct = g.must(plain, "--sign", "--encrypt", "-u", uid, "-r", uid)
			gk := readKey(t, sec)
			out.Reset()
			if _, err := Open(bytes.NewReader(ct), &out, OpenOptions{Keys: []*Key{gk}, Verifiers: []*Key{signer}}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), plain) {
				t.Fatal("plaintext mismatch")
			}
			// Tampered gpg message is refused.
			ct[len(ct)-20] ^= 1
			if _, err := Open(bytes.NewReader(ct), &out, OpenOptions{Keys: []*Key{gk}, Verifiers: []*Key{signer}}); err == nil {
				t.Fatal("tampered gpg message opened")
			}
		})
	}
}
