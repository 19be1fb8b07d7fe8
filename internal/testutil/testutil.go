// Package testutil holds helpers shared by the tests of several packages:
// finding real tools, free ports, and building the binaries.
package testutil

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// Integration reports whether integration tests must run
// (SEALPRINT_INTEGRATION=1, as set by scripts/test).
func Integration() bool { return os.Getenv("SEALPRINT_INTEGRATION") == "1" }

// NeedTool returns the path of an external program. If the program is
// missing, the test fails under SEALPRINT_INTEGRATION=1 and is skipped
// otherwise: a missing tool is never a silent pass in CI.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/lib/cups/filter", "/usr/lib/squid"} {
		cand := dir + "/" + name
		if st, err := os.Stat(cand); err == nil && !st.IsDir() {
			return cand
		}
	}
	if Integration() {
		t.Fatalf("required tool %q not found (scripts/test installs it)", name)
	}
	t.Skipf("%s not installed; set SEALPRINT_INTEGRATION=1 to make this a failure", name)
	return ""
}

// NeedIntegration skips a slow test unless integration tests are enabled.
func NeedIntegration(t testing.TB) {
	t.Helper()
	if !Integration() && testing.Short() {
		t.Skip("integration test; run without -short or with SEALPRINT_INTEGRATION=1")
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// for a program the test starts. It is outside the kernel's ephemeral
// range (see pickPort), so that the machine's own traffic does not take
// it before the program binds it; a program that still finds it taken
// should be started again on another (see StartVersitygw).
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := pickPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// FreeAddr returns "127.0.0.1:PORT" for a free port.
func FreeAddr(t testing.TB) string {
	return "127.0.0.1:" + strconv.Itoa(FreePort(t))
}

// ScreenshotDir returns where tests write their screenshots: the directory
// named by $SCREENSHOTS_DIR (scripts/screenshots points it at
// docs/screenshots), or a temporary directory, so that a test run never
// changes a tracked file.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
