package relay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
)

// A receipt needs the token the relay gave with a download, so that only a
// client that fetched the ciphertext can make the relay mail "opened" — not
// anyone who knows a drop id. Tokens are stateless, like grants:
// base64url(download number as 4 bytes ‖ HMAC-SHA256(key, "receipt" ‖ id ‖
// number)); each is used once because a receipt records its number.

// newReceiptToken returns the receipt token of download n of drop id.
func newReceiptToken(key []byte, id string, n int) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(n))
	return base64.RawURLEncoding.EncodeToString(append(b[:], receiptMAC(key, id, b[:])...))
}

// parseReceiptToken returns the download number of a valid token for id.
func parseReceiptToken(key []byte, id, tok string) (int, bool) {
	if tok == "" || len(tok) > 64 {
		return 0, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) != 4+sha256.Size {
		return 0, false
	}
	if !hmac.Equal(b[4:], receiptMAC(key, id, b[:4])) {
		return 0, false
	}
	return int(binary.BigEndian.Uint32(b[:4])), true
}

func receiptMAC(key []byte, id string, n []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("receipt\x00"))
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write(n)
	return m.Sum(nil)
}
