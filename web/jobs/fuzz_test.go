package jobs

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/spooler"
)

// FuzzAPIAction posts arbitrary JSON bodies to the jobs API's actions
// (release with recipients, cancel, retry): every answer is a client error
// or success with a JSON body, never a 5xx or a panic, and a held job
// released only to valid addresses.
func FuzzAPIAction(f *testing.F) {
	sp, err := spooler.Open(spooler.Options{
		Dir: f.TempDir(), Key: bytes.Repeat([]byte{7}, 32),
		Renderer: stageFakes{}, Sealer: stageFakes{}, Deliverer: stageFakes{},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	defer sp.Close()
	id, err := sp.Accept(context.Background(), spooler.Incoming{Queue: "sealed", Name: "r", Format: "application/pdf"},
		bytes.NewReader(bytes.Repeat([]byte("%PDF-1.7 a "), 30)))
	if err != nil {
		f.Fatal(err)
	}
	h := Handler(sp, Options{APIToken: "tok"})
	for _, s := range []string{`{"to":["martin@police.example"]}`, `{"to":[]}`, `{}`, `{"to":"x"}`, `{"to":[1,2]}`, `[`, ``,
		`{"to":["` + strings.Repeat("a", 300) + `@x.example"]}`} {
		f.Add("release", s)
		f.Add("cancel", s)
	}
	f.Fuzz(func(t *testing.T, action, body string) {
		if action == "" || strings.IndexFunc(action, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune("/?#%", r) }) >= 0 {
			return // not a path segment a client can send
		}
		req := httptest.NewRequest("POST", "/jobs/api/"+id+"/"+action, strings.NewReader(body))
		req.Host = "127.0.0.1:8632"
		req.RemoteAddr = "127.0.0.1:5000"
		req.Header.Set("Authorization", "Bearer tok")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", action, body, w.Code, w.Body)
		}
		if w.Code >= 300 && w.Code < 400 {
			return // the mux cleaning a path such as /jobs/api/ID/.
		}
		if ct := w.Header().Get("Content-Type"); w.Code != http.StatusNotFound && ct != "application/json" {
			t.Fatalf("%s %q: %d with Content-Type %q", action, body, w.Code, ct)
		}
	})
}

// FuzzAPIPIN posts arbitrary bodies to POST /jobs/api/pin: a client error
// or success, never a 5xx or a panic; the card sees only PINs checkPIN
// admits, and never the body's other bytes.
func FuzzAPIPIN(f *testing.F) {
	sp, err := spooler.Open(spooler.Options{
		Dir: f.TempDir(), Key: bytes.Repeat([]byte{7}, 32),
		Renderer: stageFakes{}, Sealer: stageFakes{}, Deliverer: stageFakes{},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	defer sp.Close()
	card := &fuzzCard{}
	h := Handler(sp, Options{APIToken: "tok", PIN: card})
	for _, s := range []string{`{"pin":"1234"}`, `{"pin":""}`, `{"pin":1234}`, `{"pin":"12\n34"}`, `[`, ``,
		`{"pin":"` + strings.Repeat("9", 100) + `"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/jobs/api/pin", strings.NewReader(body))
		req.Host = "127.0.0.1:8632"
		req.RemoteAddr = "127.0.0.1:5000"
		req.Header.Set("Authorization", "Bearer tok")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%q: %d %q", body, w.Code, w.Header().Get("Content-Type"))
		}
		if p := card.last; p != "" && checkPIN(p) != nil {
			t.Fatalf("the card was given %q", p)
		}
	})
}

// fuzzCard takes every PIN (and records the last).
type fuzzCard struct{ last string }

func (c *fuzzCard) EnterPIN(_ context.Context, pin string) error { c.last = pin; return nil }
