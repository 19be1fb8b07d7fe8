package relay

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/relayapi"
)

// FuzzTusHeaders sends creation, HEAD and PATCH requests with arbitrary
// tus headers (Upload-Length, Upload-Offset, Upload-Metadata,
// Tus-Resumable, Content-Type) from an authenticated sender: the relay
// answers each with a client error or success, never a 5xx or a panic.
func FuzzTusHeaders(f *testing.F) {
	cfg, closer, err := DataDir{Root: f.TempDir()}.Open()
	if err != nil {
		f.Fatal(err)
	}
	defer closer.Close()
	cfg.MaxSize = 1 << 16
	cfg.PublicURL = "https://relay.example"
	s, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	mux := http.NewServeMux()
	s.Mount(mux)
	h := s.Wrap(mux)
	_, token, err := CreateSender(context.Background(), cfg.Store, "Dr Fuzz", "fuzz@hospital.example", time.Now())
	if err != nil {
		f.Fatal(err)
	}
	create := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/v1/drops", strings.NewReader(`{"size":100,"sha256":"`+strings.Repeat("ab", 32)+`","mode":"key"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(create, req)
	id := ""
	if i := strings.Index(create.Body.String(), `"id":"`); i >= 0 {
		id = create.Body.String()[i+6 : i+6+22]
	}
	if !relayapi.ValidDropID(id) {
		f.Fatalf("create drop: %d %s", create.Code, create.Body)
	}
	meta := "drop " + base64.StdEncoding.EncodeToString([]byte(id))
	f.Add("POST", "100", "", meta, "1.0.0", "")
	f.Add("PATCH", "", "0", "", "1.0.0", "application/offset+octet-stream")
	f.Add("PATCH", "", "-1", "", "1.0.0", "application/offset+octet-stream")
	f.Add("HEAD", "", "", "", "0.2.2", "")
	f.Add("POST", "99999999999999999999", "", meta+",filename x", "1.0.0", "")
	f.Fuzz(func(t *testing.T, method, length, offset, metadata, version, ctype string) {
		switch method {
		case "POST", "PATCH", "HEAD":
		default:
			return
		}
		path := "/api/v1/uploads/"
		if method != "POST" {
			path += id
		}
		req := httptest.NewRequest(method, path, strings.NewReader("0123456789"))
		req.Header.Set("Authorization", "Bearer "+token)
		for k, v := range map[string]string{"Upload-Length": length, "Upload-Offset": offset,
			"Upload-Metadata": metadata, "Tus-Resumable": version, "Content-Type": ctype} {
			if v != "" && !strings.ContainsAny(v, "\r\n\x00") {
				req.Header.Set(k, v)
			}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 && w.Code != http.StatusInsufficientStorage {
			t.Fatalf("%s %s with %q %q %q %q %q: %d %s", method, path, length, offset, metadata, version, ctype, w.Code, w.Body)
		}
	})
}
