package relay

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/sealprint/sealprint/relayapi"
)

// A relay killed while tusd's filestore writes an upload's .info (it
// truncates the file, then writes it) leaves it empty or cut. After the
// restart that upload is not found, so the client creates it again and
// completes it; without tornInfoStore every HEAD, PATCH and new creation
// of that drop answered 500.
func TestTornUploadInfoIsNotCreated(t *testing.T) {
	for _, torn := range []string{"", `{"ID":"`} {
		h := newHarness(t)
		data := randomBytes(t, 200<<10)
		id := h.create(data, relayapi.CreateDropRequest{}).ID
		resp, body := h.tusCreate(id, int64(len(data)), h.auth()...)
		expect(t, resp, body, http.StatusCreated)
		h.stop()
		if err := os.WriteFile(filepath.Join(h.data.Uploads(), id+".info"), []byte(torn), 0o600); err != nil {
			t.Fatal(err)
		}
		h.restart()
		resp, body = h.do("HEAD", "/api/v1/uploads/"+id, nil, append(h.auth(), "Tus-Resumable", "1.0.0")...)
		expect(t, resp, body, http.StatusNotFound)
		resp, body = h.tusCreate(id, int64(len(data)), h.auth()...)
		expect(t, resp, body, http.StatusCreated)
		resp, body = h.patch(id, 0, data, h.auth()...)
		expect(t, resp, body, http.StatusNoContent)
		resp, body = h.complete(id)
		expect(t, resp, body, http.StatusOK)
		resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
		if !bytes.Equal(expect(t, resp, body, http.StatusOK), data) {
			t.Fatalf("info %q: blob differs", torn)
		}
	}
}
