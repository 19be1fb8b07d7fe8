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
