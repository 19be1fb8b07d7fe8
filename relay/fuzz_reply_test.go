package relay

import (
	"bytes"
	"testing"
	"time"
)

// FuzzReplyRequests: the reply endpoints' bodies and the grant header
// never panic, and what is accepted is within bounds.
func FuzzReplyRequests(f *testing.F) {
	f.Add([]byte(`{"token":"AAAAAQ","reply_key":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}`), "AAAA")
	f.Add([]byte(`{"size":100,"sha256":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}`), newReplyGrant(make([]byte, 32), "x", 1, time.Unix(2e9, 0)))
	f.Add([]byte(`{"size":-1}`), "")
	f.Fuzz(func(t *testing.T, body []byte, grant string) {
		if tok, key, err := parseReplyGrantRequest(bytes.NewReader(body)); err == nil && (tok == "" || len(key) != 32) {
			t.Fatalf("accepted token %q key %x", tok, key)
		}
		if size, sum, err := parseCreateReply(bytes.NewReader(body), 1000); err == nil && (size <= 0 || size > 1000 || len(sum) != 64) {
			t.Fatalf("accepted size %d sha256 %q", size, sum)
		}
		if n, ok := checkReplyGrant(make([]byte, 32), "x", grant, time.Unix(1e9, 0)); ok && n < 0 {
			t.Fatalf("grant number %d", n)
		}
	})
}
