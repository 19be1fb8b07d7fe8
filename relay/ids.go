package relay

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
)

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
