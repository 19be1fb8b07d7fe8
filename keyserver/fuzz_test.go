package keyserver

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzParseCerts feeds arbitrary uploads to the key parser: it must never
// panic, and whatever it accepts must survive a serialize/parse round trip
// unchanged.
func FuzzParseCerts(f *testing.F) {
	e := newEntity(f, "Fuzz", "fuzz@x.example", "second@y.example")
	pub := serializePublic(f, e)
	f.Add(pub)
	f.Add([]byte(armorSerialized(f, pub)))
	f.Add(pub[:len(pub)/2])
	revoked := newEntity(f, "Rev", "rev@x.example")
	revoked.RevokeKey(0, "gone", nil)
	f.Add(serializePublic(f, revoked))
	f.Add(append(append([]byte{}, pub...), serializePublic(f, revoked)...))
	f.Add([]byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"))
	f.Add([]byte{0x99, 0x00, 0x01, 0x04})
	f.Add([]byte{0xc6, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCerts(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, c := range certs {
			again, err := ParseCert(bytes.NewReader(c.Bytes()))
			if err != nil {
				t.Fatalf("re-parse of accepted key: %v", err)
			}
			if again.Fingerprint() != c.Fingerprint() || !bytes.Equal(again.Bytes(), c.Bytes()) {
				t.Fatalf("round trip changed the key")
			}
			var armored bytes.Buffer
			if err := c.Armor(&armored, func(string) bool { return false }); err != nil {
				t.Fatal(err)
			}
			stripped, err := ParseCert(&armored)
			if err != nil {
				t.Fatalf("identity-free form does not parse: %v", err)
			}
			if len(stripped.Emails()) != 0 {
				t.Fatal("identity-free form carries addresses")
			}
		}
	})
}

// FuzzNormalizeEmail checks that a normalized address is stable and never
// carries characters that could break a header or a path.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@b.example", "A.B@Example.ORG", "a@b@c", "<a@b>", "a\r\n@b", "x@[127.0.0.1]", "\"q\"@x", "a@b/../c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeEmail(s)
		if n == "" {
			return
		}
		if NormalizeEmail(n) != n {
			t.Fatalf("not idempotent: %q → %q → %q", s, n, NormalizeEmail(n))
		}
		if bytes.ContainsAny([]byte(n), "\r\n\x00<> ") {
			t.Fatalf("unsafe address %q", n)
		}
	})
}

// FuzzAPIRequests sends arbitrary bodies to the upload, verification, HKP
// and management endpoints: no panic, no 5xx.
func FuzzAPIRequests(f *testing.F) {
	e := newEntity(f, "Fuzz", "fuzz@x.example")
	armored := armorSerialized(f, serializePublic(f, e))
	f.Add(uint8(0), []byte(`{"keytext": `+strconvQuote(armored)+`}`))
	f.Add(uint8(1), []byte(`{"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "addresses": ["fuzz@x.example"]}`))
	f.Add(uint8(2), []byte("keytext="+url.QueryEscape(armored)))
	f.Add(uint8(3), []byte(`{"email": "fuzz@x.example"}`))
	f.Add(uint8(0), []byte(`{"keytext": 5}`))
	f.Add(uint8(1), []byte(`[]`))
	h := NewHandler(mustStore(f), Options{PublicURL: "http://relay.test", Mail: &fakeMail{}, MailFrom: "k@relay.test",
		RequestsPerClient: 1 << 30, MailsPerAddress: 1 << 30, MailsPerClient: 1 << 30, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		paths := []struct{ path, ctype string }{
			{"/vks/v1/upload", "application/json"},
			{"/vks/v1/request-verify", "application/json"},
			{"/pks/add", "application/x-www-form-urlencoded"},
			{"/manage", "application/json"},
		}
		p := paths[int(which)%len(paths)]
		req := httptest.NewRequest("POST", p.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", p.ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s: %d %s", p.path, rec.Code, rec.Body)
		}
	})
}

func mustStore(f *testing.F) *FileStore {
	s, err := OpenFileStore(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	return s
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
