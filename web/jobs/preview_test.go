package jobs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/spooler"
)

// The held job's PDF is streamed to the page from the encrypted spool;
// its hash and page count sit beside it; it is never in clear on disk;
// foreign sites cannot fetch it; it is gone once the job is sealed.
func TestPreview(t *testing.T) {
	h := newHarness(t)
	id := h.accept("rapport")
	h.waitState(id, spooler.Held)
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok"}))
	defer srv.Close()
	doc := bytes.Repeat([]byte("%PDF-1.7 a "), 30) // what the harness prints and its renderer copies
	sum := sha256.Sum256(doc)

	page := get(t, srv.URL+"/jobs")
	if !strings.Contains(page, `src="/jobs/preview/`+id) || !strings.Contains(page, hex.EncodeToString(sum[:])) {
		t.Fatalf("page lacks the preview or its hash:\n%s", page)
	}
	// Without the user's secret, or as another user, nothing is shown.
	if resp, err := http.Get(srv.URL + "/jobs/preview/" + id); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("preview without the secret: %v %v", resp.Status, err)
	}
	resp, err := signedIn.Get(srv.URL + "/jobs/preview/" + id)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, doc) || resp.Header.Get("Content-Type") != "application/pdf" ||
		resp.Header.Get("Content-Security-Policy") != "frame-ancestors 'self'" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %q %v", resp.StatusCode, got, resp.Header)
	}
	filepath.WalkDir(h.dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("%PDF-1.7 a")) {
				t.Errorf("%s holds the document in clear", p)
			}
		}
		return err
	})
	req, _ := http.NewRequest("GET", srv.URL+"/jobs/preview/"+id, nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := signedIn.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site preview: %v %v", err, resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/jobs/preview/"+id, nil)
	req.Host = "evil.example:8632"
	if resp, err := signedIn.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("rebinding preview: %v %v", err, resp.StatusCode)
	}
	if _, err := h.sp.Release(t.Context(), id, []string{"a@b.example"}); err != nil {
		t.Fatal(err)
	}
	h.waitState(id, spooler.Uploaded)
	if resp, err := signedIn.Get(srv.URL + "/jobs/preview/" + id); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("preview after sealing: %v %v", err, resp.StatusCode)
	}
	if resp, err := signedIn.Get(srv.URL + "/jobs/preview/../etc"); err != nil || resp.StatusCode == 200 {
		t.Fatalf("bad id: %v", err)
	}
}
