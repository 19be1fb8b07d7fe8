package uploader

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParsePACResult(f *testing.F) {
	for _, s := range []string{"DIRECT", "PROXY a:1; PROXY b:2; DIRECT", "HTTPS h:443", "SOCKS s:1",
		"PROXY user@h:1", "PROXY [::1]:3128", "proxy  x ;;; direct", "PROXY h:99999", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, err := parsePACResult(s)
		if err == nil && len(list) == 0 {
			t.Fatal("empty list without error")
		}
		for _, u := range list {
			if u != nil && (u.Host == "" || u.User != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5")) {
				t.Fatalf("bad proxy %v from %q", u, s)
			}
		}
	})
}

func FuzzParseAPIError(f *testing.F) {
	f.Add(400, "application/json", []byte(`{"error":"bad"}`))
	f.Add(403, "application/json", []byte(`{"error":"wrong code","attempts_left":2}`))
	f.Add(410, "application/json", []byte(`{"error":"x","state":"expired"}`))
	f.Add(500, "text/plain", []byte("oops\x1b[2J"))
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		e := parseAPIError(status, ct, body)
		msg := e.Error()
		if strings.ContainsAny(msg, "\n\r\x1b") || !utf8.ValidString(msg) || len(msg) > 2000 {
			t.Fatalf("unsafe message %q", msg)
		}
	})
}

func FuzzProxyAuthHeaders(f *testing.F) {
	f.Add("NTLM TlRMTVNTUAACAAAACQAJAK6qqqoBgoigLWCGHpR6IR0AAAAAAAA6AFdPUktHUk9VUA==", "NTLM")
	f.Add("Basic realm=\"x\"", "Basic")
	f.Add("Negotiate", "Negotiate")
	f.Fuzz(func(t *testing.T, header, scheme string) {
		authSchemes([]string{header})
		if tok, ok := findToken([]string{header}, scheme); ok {
			padChallenge(tok) // must not panic on any token
		}
	})
}

func FuzzParseOffset(f *testing.F) {
	for _, s := range []string{"0", "123", "-1", "+5", "9223372036854775807", "99999999999999999999", " 1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseOffset(s); err == nil && n < 0 {
			t.Fatalf("%q → %d", s, n)
		}
	})
}

func FuzzPACScript(f *testing.F) {
	f.Add(`function FindProxyForURL(u, h) { return "PROXY " + h + ":3128; DIRECT"; }`, "relay.example")
	f.Add(`function FindProxyForURL(u, h) { return shExpMatch(h, "*.example") ? "DIRECT" : null; }`, "a.example")
	f.Fuzz(func(t *testing.T, script, host string) {
		if len(script) > 4096 {
			return
		}
		s, err := compilePAC(script, offlineResolver)
		if err != nil {
			return
		}
		if res, err := s.find(context.Background(), "https://"+host+"/", host); err == nil {
			parsePACResult(res)
		}
	})
}
