package jobs

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLoadOrCreateSecret: the secret is made once (0600) and read back the
// same on the next start; on Unix a secret file others can read is
// refused.
func TestLoadOrCreateSecret(t *testing.T) {
	dir := t.TempDir()
	s1, err := LoadOrCreateSecret(dir)
	if err != nil || len(s1) < 32 {
		t.Fatalf("first start: %q, %v", s1, err)
	}
	s2, err := LoadOrCreateSecret(dir)
	if err != nil || s2 != s1 {
		t.Fatalf("restart: %q, %v; want the same secret", s2, err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	p := filepath.Join(dir, SecretFile)
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v", st.Mode().Perm())
	}
	os.Chmod(p, 0o644)
	if _, err := LoadOrCreateSecret(dir); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("a world-readable secret was accepted: %v", err)
	}
}
