package uploader

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestAPIErrorClassification(t *testing.T) {
	for status, temporary := range map[int]bool{400: false, 401: false, 403: false, 404: false, 410: false,
		413: false, 422: false, 408: true, 409: true, 423: true, 429: true, 500: true, 502: true, 503: true} {
		err := fmt.Errorf("wrapped: %w", &APIError{Status: status})
		if IsTemporary(err) != temporary || IsPermanent(err) == temporary {
			t.Errorf("%d: temporary %v", status, IsTemporary(err))
		}
	}
	if !IsPermanent(&ProxyAuthError{Proxy: "p:1"}) || !errors.Is(&ProxyAuthError{}, ErrProxyAuth) {
		t.Error("proxy auth must be permanent and match ErrProxyAuth")
	}
	if !IsPermanent(fmt.Errorf("x: %w", x509.UnknownAuthorityError{})) {
		t.Error("unknown authority must be permanent")
	}
	if !IsTemporary(errors.New("connection reset by peer")) {
		t.Error("network errors are temporary")
	}
}

func TestParseAPIError(t *testing.T) {
	e := parseAPIError(403, "application/json", []byte(`{"error":"wrong code","attempts_left":3}`))
	if e.Message != "wrong code" || e.AttemptsLeft == nil || *e.AttemptsLeft != 3 {
		t.Fatal(e)
	}
	e = parseAPIError(410, "application/json; charset=utf-8", []byte(`{"error":"gone","state":"expired"}`))
	if e.State != "expired" || !strings.Contains(e.Error(), "410: gone (expired)") {
		t.Fatal(e)
	}
	e = parseAPIError(502, "text/html", []byte(`<html>big page</html>`))
	if e.Message != "Bad Gateway" {
		t.Fatal(e)
	}
	e = parseAPIError(400, "application/json", []byte(`{"error":"line1\nline2\u001b[31m`+strings.Repeat("x", 500)+`"}`))
	if strings.ContainsAny(e.Message, "\n\x1b") || len([]rune(e.Message)) > 301 {
		t.Fatalf("%q", e.Message)
	}
}

func TestPin(t *testing.T) {
	hexPin := strings.Repeat("ab", 32)
	for _, s := range []string{hexPin, "sha256/q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=", strings.ToUpper(hexPin)} {
		if _, err := parsePin(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"", "abcd", strings.Repeat("zz", 32)} {
		if _, err := parsePin(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
