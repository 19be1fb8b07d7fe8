package envelope

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ReceiptProof computes the proof a recipient posts after decrypting a
// drop: HMAC-SHA256 keyed with SHA-256("sealprint-receipt" ‖ session key)
// over the ciphertext's SHA-256 in lower-case hex. Only someone who
// decrypted the message knows the session key, and the relay never does.
func ReceiptProof(sessionKey []byte, ciphertextSHA256Hex string) string {
	k := sha256.Sum256(append([]byte("sealprint-receipt"), sessionKey...))
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(strings.ToLower(ciphertextSHA256Hex)))
	return hex.EncodeToString(m.Sum(nil))
}

// CheckReceipt reports whether proof matches ReceiptProof in constant time.
func CheckReceipt(sessionKey []byte, ciphertextSHA256Hex, proof string) bool {
	want := ReceiptProof(sessionKey, ciphertextSHA256Hex)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(proof)))
}

// ReplyKey is what a recipient proves it decrypted a drop with when it
// asks the relay for a reply grant: SHA-256("sealprint-reply" ‖ session
// key). It differs from the receipt key, so that one never gives the
// other.
func ReplyKey(sessionKey []byte) []byte {
	k := sha256.Sum256(append([]byte("sealprint-reply"), sessionKey...))
	return k[:]
}

// ReplyVerifier is what the sender gives the relay at drop creation:
// hex(SHA-256(ReplyKey)). The relay can check a reply key against it but
// cannot compute the key, nor the session key, from it.
func ReplyVerifier(sessionKey []byte) string {
	v := sha256.Sum256(ReplyKey(sessionKey))
	return hex.EncodeToString(v[:])
}

// LinkReceiptProof is the second proof a link-mode recipient posts: an
// HMAC-SHA256 keyed with SHA-256("sealprint-receipt-link" ‖ link secret)
// over the ciphertext's SHA-256 in lower-case hex. When each recipient of
// a drop has a secret of its own, the sender, who keeps every secret,
// tells by it which recipient opened; the relay never sees a secret.
func LinkReceiptProof(secret, ciphertextSHA256Hex string) string {
	k := sha256.Sum256(append([]byte("sealprint-receipt-link"), secret...))
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(strings.ToLower(ciphertextSHA256Hex)))
	return hex.EncodeToString(m.Sum(nil))
}

// CheckLinkReceipt reports whether proof matches LinkReceiptProof in
// constant time.
func CheckLinkReceipt(secret, ciphertextSHA256Hex, proof string) bool {
	want := LinkReceiptProof(secret, ciphertextSHA256Hex)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(proof)))
}
