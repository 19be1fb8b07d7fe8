package printer

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/OpenPrinting/goipp"
)

func TestRemoteListenNeedsAuth(t *testing.T) {
	if _, err := New(Config{Listen: "0.0.0.0:8632"}, &memSpooler{}); err == nil {
		t.Error("non-loopback listen accepted without AllowRemote")
	}
	if _, err := New(Config{Listen: "0.0.0.0:8632", AllowRemote: true}, &memSpooler{}); err == nil {
		t.Error("non-loopback listen accepted without authentication")
	}
	if _, err := New(Config{Listen: "0.0.0.0:8632", AllowRemote: true, Authenticate: BasicUsers(map[string]string{"a": "b"})}, &memSpooler{}); err != nil {
		t.Errorf("remote listen with auth refused: %v", err)
	}
	for _, l := range []string{"127.0.0.1:8632", "[::1]:8632", "localhost:8632"} {
		if _, err := New(Config{Listen: l}, &memSpooler{}); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
}

func TestRemoteClientsAuthenticate(t *testing.T) {
	body := encodeReq(t, newReq(goipp.OpGetPrinterAttributes, "198.51.100.1:8632", DefaultQueue, "spoofed"), nil)
	serve := func(s *Server, remote, user, pass string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/ipp/print/sealed", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/ipp")
		r.RemoteAddr = remote
		r.Host = "198.51.100.1:8632"
		if user != "" {
			r.SetBasicAuth(user, pass)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	open, _ := New(Config{}, &memSpooler{})
	if w := serve(open, "192.0.2.7:4000", "", ""); w.Code != http.StatusForbidden {
		t.Errorf("remote client without auth configured: HTTP %d", w.Code)
	}
	if w := serve(open, "127.0.0.1:4000", "", ""); w.Code != http.StatusOK {
		t.Errorf("loopback client: HTTP %d", w.Code)
	}
	s, _ := New(Config{Listen: "0.0.0.0:8632", AllowRemote: true, Authenticate: BasicUsers(map[string]string{"doc": "s3cret"})}, &memSpooler{})
	if w := serve(s, "192.0.2.7:4000", "", ""); w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials: HTTP %d", w.Code)
	}
	if w := serve(s, "192.0.2.7:4000", "doc", "wrong"); w.Code != http.StatusUnauthorized {
		t.Errorf("bad password: HTTP %d", w.Code)
	}
	w := serve(s, "192.0.2.7:4000", "doc", "s3cret")
	if w.Code != http.StatusOK {
		t.Fatalf("good password: HTTP %d", w.Code)
	}
	var m goipp.Message
	if err := m.DecodeBytes(w.Body.Bytes()); err != nil {
		t.Fatal(err)
	}
	if got := attrOf(t, m.Printer, "uri-authentication-supported"); got != "basic" {
		t.Errorf("uri-authentication-supported %s", got)
	}
}
