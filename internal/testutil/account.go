package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// NewLocalAccount creates a local account for the test (no home, no
// login shell; needs root) and removes it when the test ends. useradd and
// userdel are retried while another process holds the password files'
// lock (tests of several packages run at once).
func NewLocalAccount(t testing.TB) string {
	t.Helper()
	useradd := NeedTool(t, "useradd")
	userdel := NeedTool(t, "userdel")
	b := make([]byte, 4)
	rand.Read(b)
	name := "sptest" + hex.EncodeToString(b)
	if out, err := runLocked(useradd, "-M", "-N", "-s", "/usr/sbin/nologin", name); err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := runLocked(userdel, name); err != nil {
			t.Errorf("userdel %s: %v\n%s", name, err, out)
		}
	})
	return name
}

// runLocked runs a shadow-utils command, again while it reports the
// password files locked.
func runLocked(name string, args ...string) ([]byte, error) {
	for i := 0; ; i++ {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err == nil || i >= 30 || !strings.Contains(string(out), "lock") {
			return out, err
		}
		time.Sleep(time.Duration(100+50*i) * time.Millisecond)
	}
}
