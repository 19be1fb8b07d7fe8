package relay

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// TestServeBinaryKill9 kills the real relay with SIGKILL in the middle of
// an upload, restarts it on the same data dir and resumes the upload.
func TestServeBinaryKill9(t *testing.T) {
	testutil.NeedIntegration(t)
	bin := testutil.Binary(t, "sealrelay")
	data := filepath.Join(t.TempDir(), "data")
	out, err := exec.Command(bin, "token", "create", "--data", data, "--name", "Dr Durand").Output()
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(out))
	addr := testutil.FreeAddr(t)
	base := "http://" + addr
	start := func() (*exec.Cmd, chan error) {
		var logs bytes.Buffer
		cmd := exec.Command(bin, "serve", "--data", data, "--listen", addr)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() { cmd.Process.Kill() })
		waitHealthy(t, http.DefaultClient, base, exited, &logs)
		return cmd, exited
	}
	call := func(method, path string, body []byte, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	cmd, exited := start()
	blob := randomBytes(t, 3<<20)
	req, _ := json.Marshal(relayapi.CreateDropRequest{Size: int64(len(blob)), SHA256: hexSHA(blob), Mode: "key", IdempotencyKey: "job-1"})
	resp, body := call("POST", "/api/v1/drops", req, "Content-Type", "application/json")
	c := decode[relayapi.CreateDropResponse](t, expect(t, resp, body, http.StatusCreated))
	resp, body = call("POST", "/api/v1/uploads/", nil, "Tus-Resumable", "1.0.0", "Upload-Length", strconv.Itoa(len(blob)),
		"Upload-Metadata", "drop "+base64.StdEncoding.EncodeToString([]byte(c.ID)))
	expect(t, resp, body, http.StatusCreated)
	half := len(blob) / 2
	resp, body = call("PATCH", c.UploadURL, blob[:half], "Tus-Resumable", "1.0.0", "Upload-Offset", "0",
		"Content-Type", "application/offset+octet-stream")
	expect(t, resp, body, http.StatusNoContent)

	cmd.Process.Kill()
	<-exited
	start()

	// The sender retries create (same key → same drop), then resumes.
	resp, body = call("POST", "/api/v1/drops", req, "Content-Type", "application/json")
	if again := decode[relayapi.CreateDropResponse](t, expect(t, resp, body, http.StatusOK)); again.ID != c.ID {
		t.Fatalf("retry made drop %s, want %s", again.ID, c.ID)
	}
	resp, body = call("POST", "/api/v1/uploads/", nil, "Tus-Resumable", "1.0.0", "Upload-Length", strconv.Itoa(len(blob)),
		"Upload-Metadata", "drop "+base64.StdEncoding.EncodeToString([]byte(c.ID)))
	expect(t, resp, body, http.StatusConflict)
	resp, body = call("HEAD", c.UploadURL, nil, "Tus-Resumable", "1.0.0")
	expect(t, resp, body, http.StatusOK)
	off, _ := strconv.Atoi(resp.Header.Get("Upload-Offset"))
	if off <= 0 || off > half {
		t.Fatalf("offset after restart %d (sent %d)", off, half)
	}
	resp, body = call("PATCH", c.UploadURL, blob[off:], "Tus-Resumable", "1.0.0", "Upload-Offset", strconv.Itoa(off),
		"Content-Type", "application/offset+octet-stream")
	expect(t, resp, body, http.StatusNoContent)
	resp, body = call("POST", "/api/v1/drops/"+c.ID+"/complete", nil)
	expect(t, resp, body, http.StatusOK)
	resp, body = call("GET", "/api/v1/drops/"+c.ID+"/blob", nil)
	if expect(t, resp, body, http.StatusOK); !bytes.Equal(body, blob) {
		t.Fatal("downloaded bytes differ after a resumed upload")
	}
}
