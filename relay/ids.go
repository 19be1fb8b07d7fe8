package relay

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
)

// IDLen is the length of a drop id: 22 characters of base64url, 128 bits.
const IDLen = 22

// newID returns 128 random bits as unpadded base64url.
func newID(rnd io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// validID reports whether s looks like a drop id. It is checked before any
// id reaches a file path or a query.
func validID(s string) bool {
	if len(s) != IDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	// The last character carries only 2 bits: reject non-canonical forms.
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// NewToken returns a new enrolment token (256 random bits, prefixed so it is
// recognisable in a config file) and the hash to store.
func NewToken(rnd io.Reader) (token string, hash []byte, err error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", nil, err
	}
	token = "spt_" + base64.RawURLEncoding.EncodeToString(b[:])
	return token, TokenHash(token), nil
}

// TokenHash is what the relay stores for a token: its SHA-256. Tokens carry
// 256 random bits, so a fast hash is enough.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
