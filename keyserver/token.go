package keyserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

// newToken returns a fresh 256-bit secret (43 characters of base64url) and
// the hash under which the store keeps it.
func newToken(rand io.Reader) (secret, hash string, err error) {
	var b [32]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", "", fmt.Errorf("generate token: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	return secret, tokenHash(secret), nil
}

// tokenHash returns the store key of a secret; malformed secrets hash to a
// value no token has.
func tokenHash(secret string) string {
	sum := sha256.Sum256([]byte("sealprint-key-token:" + secret))
	return hex.EncodeToString(sum[:])
}

// validTokenSyntax reports whether s looks like a token, so garbage is
// refused before touching the store.
func validTokenSyntax(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}
