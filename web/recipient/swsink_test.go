package recipient_test

import (
	"os/exec"
	"path/filepath"
	"strings"
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
	root := filepath.Join(testutil.ModuleRoot(), "web", "recipient")
	cmd := exec.Command(node, "--no-warnings", filepath.Join(root, "browsertest", "swsink.mjs"), filepath.Join(root, "static"))
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("swsink.mjs: %v", err)
	}
	if !strings.Contains(string(out), "ok ") {
		t.Fatal("swsink.mjs did not report its checks")
	}
}
