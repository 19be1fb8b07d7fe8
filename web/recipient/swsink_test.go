package recipient_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// TestServiceWorkerDownload runs browsertest/swsink.mjs in node: the
// page's service-worker download (sink.js) wired to the real sw.js,
// written through, closed and aborted, with the page's "open" message
// reaching the worker after the hidden frame's request. Without the
// worker's acknowledgement the frame's request found no stream and the
// page waited forever for the download to pull (Chromium, loaded machine).
func TestServiceWorkerDownload(t *testing.T) {
	testutil.NeedIntegration(t)
	node := testutil.NeedTool(t, "node")
	runNodeChecks(t, node, "swsink.mjs", filepath.Join(testutil.ModuleRoot(), "web", "recipient", "static"))
}

// runNodeChecks runs the node script browsertest/SCRIPT with args and
// fails the test unless it exits 0 having reported its checks
// (browsertest/checks.mjs).
func runNodeChecks(t *testing.T, node, script string, args ...string) {
	t.Helper()
	path := filepath.Join(testutil.ModuleRoot(), "web", "recipient", "browsertest", script)
	out, err := exec.Command(node, append([]string{"--no-warnings", path}, args...)...).CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	if !regexp.MustCompile(`(?m)^ok [0-9]+ checks$`).Match(out) {
		t.Fatalf("%s did not report its checks", script)
	}
}
