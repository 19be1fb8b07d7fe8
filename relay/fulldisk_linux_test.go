package relay

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sealprint/sealprint/relayapi"
)

// On a real full disk (a small tmpfs under the upload area) a PATCH gets
// 507, the bytes stored stay, and the upload resumes from its offset and
// completes once space returns.
func TestUploadFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("SEALPRINT_INTEGRATION") == "1" {
			t.Fatal("the full-disk test mounts a tmpfs: run it as root")
		}
		t.Skip("needs root to mount a tmpfs")
	}
	disk := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(disk, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", disk).Run() })
	h := newHarness(t, func(c *Config) {
		c.UploadDir = filepath.Join(disk, "uploads")
		c.MaxSize = 8 << 20
	})
	data := randomBytes(t, 3<<20)
	c := h.create(data, relayapi.CreateDropRequest{Recipients: []string{"martin@police.example"}})
	resp, body := h.tusCreate(c.ID, int64(len(data)), h.auth()...)
	expect(t, resp, body, http.StatusCreated)
	resp, body = h.patch(c.ID, 0, data, h.auth()...)
	expect(t, resp, body, http.StatusInsufficientStorage)

	resp, body = h.do("HEAD", "/api/v1/uploads/"+c.ID, nil, append(h.auth(), "Tus-Resumable", "1.0.0")...)
	expect(t, resp, body, http.StatusOK)
	offset, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || offset <= 0 || offset >= int64(len(data)) {
		t.Fatalf("offset after the full disk: %q", resp.Header.Get("Upload-Offset"))
	}
	if out, err := exec.Command("mount", "-o", "remount,size=16m", disk).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v\n%s", err, out)
	}
	resp, body = h.patch(c.ID, offset, data[offset:], h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = h.complete(c.ID)
	expect(t, resp, body, http.StatusOK)
	resp, body = h.do("GET", "/api/v1/drops/"+c.ID+"/blob", nil)
	if expect(t, resp, body, http.StatusOK); hexSHA(body) != hexSHA(data) {
		t.Fatal("the resumed upload is not the document")
	}
	t.Logf("507 at offset %d of %d, resumed and completed", offset, len(data))
}
