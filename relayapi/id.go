package relayapi

import (
	"encoding/base64"
	"io"
)

// DropIDLen is the length of a drop id: 22 characters of base64url, 128
// random bits.
const DropIDLen = 22

// NewDropID returns 128 random bits from rnd as unpadded base64url.
func NewDropID(rnd io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// ValidDropID reports whether s is a drop id in canonical form. Every id
// from outside is checked with it before it reaches a file path, a query
// or a URL.
func ValidDropID(s string) bool {
	if len(s) != DropIDLen {
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
