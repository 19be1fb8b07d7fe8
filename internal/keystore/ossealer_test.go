package keystore

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// xorSealer stands in for DPAPI / systemd-creds.
type xorSealer struct{}

func (xorSealer) Name() string { return "test" }
func (xorSealer) Seal(name string, p []byte) ([]byte, error) {
	out := make([]byte, len(p))
	for i := range p {
		out[i] = p[i] ^ 0x5a
	}
	return out, nil
}
func (s xorSealer) Open(name string, p []byte) ([]byte, error) { return s.Seal(name, p) }

// Without a keyring, a file secret is sealed by the OS facility: the file
// does not hold the secret, it reads back, and a copy of the files without
// that facility opens nothing.
func TestFileSecretsSealedByOS(t *testing.T) {
	dir := t.TempDir()
	s := NewSecrets(dir, NoKeyring{}, nil)
	s.SetSealer(xorSealer{})
	secret := []byte("SPOOL-KEY-0123456789abcdef")
	if where, err := s.Set("spool-key", secret); err != nil || where != "file" {
		t.Fatalf("set: %q %v", where, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "spool-key.secret"))
	if bytes.Contains(b, secret) || !strings.HasPrefix(string(b), "sealprint-sealed:test:") {
		t.Fatalf("file holds %q", b)
	}
	got, err := s.Get("spool-key")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("get: %q %v", got, err)
	}
	plain := NewSecrets(dir, NoKeyring{}, nil)
	plain.SetSealer(nil)
	if _, err := plain.Get("spool-key"); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Fatalf("without the facility: %v", err)
	}
	// A plain file from before sealing still reads.
	os.WriteFile(filepath.Join(dir, "old.secret"), []byte("old"), 0o600)
	os.WriteFile(filepath.Join(dir, "old.where"), []byte("file\n"), 0o600)
	if got, err := s.Get("old"); err != nil || string(got) != "old" {
		t.Fatalf("plain file: %q %v", got, err)
	}
}

// The real facility of this OS, where there is one, round-trips.
func TestOSSealer(t *testing.T) {
	s, err := OSSealer()
	if err != nil {
		// Linux machines of this project have systemd-creds (Debian's
		// systemd): under ./scripts/test its absence is a failure.
		if testutil.Integration() && runtime.GOOS == "linux" {
			t.Fatalf("no OS sealing facility: %v", err)
		}
		t.Skipf("no OS sealing facility on %s here: %v", runtime.GOOS, err)
	}
	sealed, err := s.Seal("x", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open("x", sealed); err != nil || string(got) != "hello" {
		t.Fatalf("%q %v", got, err)
	}
}
