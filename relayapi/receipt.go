package relayapi

import (
	"strings"
	"time"
)

// MaxReceiptSignature bounds the base64 signature of a signed receipt.
const MaxReceiptSignature = 4096

// ReceiptStatement is the exact text a recipient signs with its own key
// when it has opened a drop: the drop, the ciphertext's SHA-256 (lower
// case hex) and when it was opened (UTC, RFC 3339, seconds). The signature
// says which recipient opened it; the receipt's HMAC, keyed from the
// session key, says that it was decrypted.
func ReceiptStatement(drop, sha256Hex string, at time.Time) []byte {
	return []byte("sealprint receipt v1\ndrop: " + drop + "\nsha256: " + strings.ToLower(sha256Hex) +
		"\nopened-at: " + at.UTC().Truncate(time.Second).Format(time.RFC3339) + "\n")
}
