package relay

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// CodeParams are the argon2id parameters of access-code hashes.
type CodeParams struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultCodeParams follow current guidance for argon2id (19 MiB, 2 passes).
var DefaultCodeParams = CodeParams{Time: 2, Memory: 19 << 10, Threads: 1}

// Hash returns an encoded argon2id hash of code:
// "argon2id$v=19$m=…,t=…,p=…$salt$hash" (base64 without padding).
func (p CodeParams) Hash(code string, rnd io.Reader) (string, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(code), salt, p.Time, p.Memory, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time,
		p.Threads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// checkCode reports whether code matches the encoded hash, comparing in
// constant time. The parameters come from the encoding.
func checkCode(encoded, code string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 || parts[0] != "argon2id" || parts[1] != fmt.Sprintf("v=%d", argon2.Version) {
		return false, errors.New("unknown code hash format")
	}
	var p CodeParams
	if _, err := fmt.Sscanf(parts[2], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("code hash parameters: %w", err)
	}
	if p.Memory > 256<<10 || p.Time > 16 || p.Threads == 0 || p.Time == 0 {
		return false, errors.New("code hash parameters out of range")
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[3])
	want, err2 := b64.DecodeString(parts[4])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, errors.New("code hash encoding")
	}
	got := argon2.IDKey([]byte(code), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Grants are stateless so any replica sharing the key can check them:
// base64url(expiry as 8 bytes big-endian ‖ HMAC-SHA256(key, "grant" ‖ id ‖ expiry)).

// newGrant returns a download grant for drop id valid until exp.
func newGrant(key []byte, id string, exp time.Time) string {
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], uint64(exp.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(e[:], grantMAC(key, id, e[:])...))
}

// checkGrant reports whether g is a grant for id that is still valid at now.
func checkGrant(key []byte, id, g string, now time.Time) bool {
	if len(g) > 128 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(g)
	if err != nil || len(b) != 8+sha256.Size {
		return false
	}
	if !hmac.Equal(b[8:], grantMAC(key, id, b[:8])) {
		return false
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	return now.Before(exp)
}

func grantMAC(key []byte, id string, exp []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("grant\x00"))
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write(exp)
	return m.Sum(nil)
}
