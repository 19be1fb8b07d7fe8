package relay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// A reply grant lets the holder create and upload replies to one drop
// until the drop's expiry. It is stateless, like download grants:
// base64url(download number, 4 bytes ‖ expiry, 8 bytes of Unix seconds ‖
// HMAC-SHA256(key, "reply-grant" ‖ id ‖ number ‖ expiry)). The download
// number is the download whose receipt token obtained it: a drop whose
// limit that download used up still takes replies from its holder.

// replyGrantLen is the decoded length of a reply grant.
const replyGrantLen = 4 + 8 + sha256.Size

// newReplyGrant returns a reply grant for drop id, obtained with download
// n, valid until exp.
func newReplyGrant(key []byte, id string, n int, exp time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(n))
	binary.BigEndian.PutUint64(b[4:], uint64(exp.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b[:], replyGrantMAC(key, id, b[:])...))
}

// checkReplyGrant returns the download number of a reply grant for id
// that is still valid at now.
func checkReplyGrant(key []byte, id, tok string, now time.Time) (int, bool) {
	n, exp, ok := parseReplyGrant(key, id, tok)
	if !ok || !now.Before(exp) {
		return 0, false
	}
	return n, true
}

// parseReplyGrant checks that tok is a reply grant the relay made for id
// and returns its download number and expiry (which may be past).
func parseReplyGrant(key []byte, id, tok string) (int, time.Time, bool) {
	if tok == "" || len(tok) > 96 {
		return 0, time.Time{}, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) != replyGrantLen {
		return 0, time.Time{}, false
	}
	if !hmac.Equal(b[12:], replyGrantMAC(key, id, b[:12])) {
		return 0, time.Time{}, false
	}
	exp := int64(binary.BigEndian.Uint64(b[4:12]))
	if exp < 0 {
		return 0, time.Time{}, false
	}
	return int(binary.BigEndian.Uint32(b[:4])), time.Unix(exp, 0), true
}

func replyGrantMAC(key []byte, id string, head []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("reply-grant\x00"))
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write(head)
	return m.Sum(nil)
}
