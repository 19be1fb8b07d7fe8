package relay

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/relayapi"
)

// restart stops the harness's relay and serves a new one on the same
// data dir, as restarting the process would; the sender stays enrolled.
func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	cfg, closer, err := h.data.Open()
	if err != nil {
		h.t.Fatal(err)
	}
	h.closer = closer
	cfg.Now, cfg.Mail, cfg.MailFrom = h.clock.Now, h.mail, "relay@relay.example"
	cfg.MaxSize, cfg.CodeParams, cfg.PublicURL = 1<<20, cheapCode, "https://relay.example"
	if h.srv, err = New(cfg); err != nil {
		h.t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.srv.Mount(mux)
	h.ts = httptest.NewServer(h.srv.Wrap(mux))
}

// rereads is the relay's count of completions that read the upload back.
func (h *harness) rereads() float64 {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	n, err := metricValue(rec.Body.String(), "sealrelay_upload_hash_rereads_total")
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// metricValue finds an unlabelled series in a Prometheus text exposition.
func metricValue(text, name string) (float64, error) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no series %s in the metrics", name)
}

// halfUploaded creates a drop for data and sends its first half.
func (h *harness) halfUploaded(data []byte) (id string, half int) {
	h.t.Helper()
	id = h.create(data, relayapi.CreateDropRequest{}).ID
	resp, body := h.tusCreate(id, int64(len(data)), h.auth()...)
	expect(h.t, resp, body, http.StatusCreated)
	half = len(data) / 2
	resp, body = h.patch(id, 0, data[:half], h.auth()...)
	expect(h.t, resp, body, http.StatusNoContent)
	return id, half
}

// finishUpload sends data from off on, completes the upload, and checks
// that rereads uploads in all were read back for their SHA-256 and that
// the drop downloads as data.
func (h *harness) finishUpload(id string, off int, data []byte, rereads float64) {
	h.t.Helper()
	resp, body := h.patch(id, int64(off), data[off:], h.auth()...)
	expect(h.t, resp, body, http.StatusNoContent)
	resp, body = h.complete(id)
	expect(h.t, resp, body, http.StatusOK)
	if n := h.rereads(); n != rereads {
		h.t.Fatalf("%v uploads read back, want %v", n, rereads)
	}
	resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	if !bytes.Equal(expect(h.t, resp, body, http.StatusOK), data) {
		h.t.Fatal("blob differs")
	}
}

// An upload resumed after a restart continues the SHA-256 saved with its
// offset: completing it reads nothing back, and the stored hash is right
// (were the saved state skipped, the second half alone would be hashed
// and the upload refused).
func TestUploadHashResumesAfterRestart(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 300<<10)
	id, half := h.halfUploaded(data)
	if _, err := os.Stat(filepath.Join(h.data.Uploads(), id+".sha256")); err != nil {
		t.Fatalf("no hash state after the first PATCH: %v", err)
	}
	h.restart()
	h.finishUpload(id, half, data, 0)
	if ents, _ := os.ReadDir(h.data.Uploads()); len(ents) != 0 {
		t.Fatalf("upload dir holds %d files after complete", len(ents))
	}
}

// The saved state is what completion trusts: a well-formed state over
// other bytes gets the upload refused (so it is not read back).
func TestUploadHashStateIsUsed(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 200<<10)
	id, half := h.halfUploaded(data)
	resp, body := h.patch(id, int64(half), data[half:], h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	other := sha256.New()
	other.Write(randomBytes(t, len(data)))
	rec, err := encodeHashState(int64(len(data)), other)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.data.Uploads(), id+".sha256"), rec, 0o600); err != nil {
		t.Fatal(err)
	}
	resp, body = h.complete(id)
	expect(t, resp, body, http.StatusUnprocessableEntity)
	if n := h.rereads(); n != 0 {
		t.Fatalf("%v uploads read back, want 0", n)
	}
}

// A state that does not cover exactly the upload's bytes is never used:
// bytes that reached the file without it (a crash between the write and
// the save), a torn record, or none at all make completion read the
// upload back, and it completes intact.
func TestUploadHashFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, h *harness, id string, data []byte, half int) int
	}{
		{"bytes written behind the state", func(t *testing.T, h *harness, id string, data []byte, half int) int {
			f, err := os.OpenFile(filepath.Join(h.data.Uploads(), id), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(data[half : half+1000]); err != nil {
				t.Fatal(err)
			}
			return half + 1000
		}},
		{"torn record", func(t *testing.T, h *harness, id string, data []byte, half int) int {
			p := filepath.Join(h.data.Uploads(), id+".sha256")
			rec, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, rec[:len(rec)/2], 0o600); err != nil {
				t.Fatal(err)
			}
			return half
		}},
		{"altered record", func(t *testing.T, h *harness, id string, data []byte, half int) int {
			p := filepath.Join(h.data.Uploads(), id+".sha256")
			rec, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rec[len(hashRecordMagic)+20] ^= 1
			if err := os.WriteFile(p, rec, 0o600); err != nil {
				t.Fatal(err)
			}
			return half
		}},
		{"no record", func(t *testing.T, h *harness, id string, data []byte, half int) int {
			if err := os.Remove(filepath.Join(h.data.Uploads(), id+".sha256")); err != nil {
				t.Fatal(err)
			}
			return half
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			data := randomBytes(t, 200<<10)
			id, half := h.halfUploaded(data)
			off := tc.spoil(t, h, id, data, half)
			h.finishUpload(id, off, data, 1)
		})
	}
}

// A state left by a refused upload does not meet the drop's next upload.
func TestUploadHashStaleStateDropped(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 100<<10)
	id := h.create(data, relayapi.CreateDropRequest{}).ID
	h.upload(id, randomBytes(t, len(data)))
	// A refused upload whose state outlived its removal.
	p := filepath.Join(h.data.Uploads(), id+".sha256")
	stale, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := h.complete(id)
	expect(t, resp, body, http.StatusUnprocessableEntity)
	if err := os.WriteFile(p, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	resp, body = h.tusCreate(id, int64(len(data)), h.auth()...)
	expect(t, resp, body, http.StatusCreated)
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("stale hash state still there after the new upload's creation: %v", err)
	}
	resp, body = h.patch(id, 0, data, h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = h.complete(id)
	expect(t, resp, body, http.StatusOK)
}

func FuzzDecodeHashState(f *testing.F) {
	h := sha256.New()
	h.Write([]byte("some bytes"))
	rec, _ := encodeHashState(10, h)
	f.Add(rec)
	f.Add([]byte(hashRecordMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		off, h, ok := decodeHashState(b)
		if !ok {
			return
		}
		again, err := encodeHashState(off, h)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("record %x decodes to offset %d, which encodes to %x (%v)", b, off, again, err)
		}
	})
}
