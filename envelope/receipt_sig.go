package envelope

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// A signed receipt says which recipient opened a document: the recipient
// signs a short statement (drop, ciphertext SHA-256, time) with its own
// key, and the sender checks the signature against the key it pinned for
// that recipient. The receipt's HMAC (ReceiptProof) still says that the
// document was decrypted.

// maxReceiptSignature bounds a receipt signature (decoded).
const maxReceiptSignature = 3 << 10

// SignReceipt returns an OpenPGP detached signature of statement by key
// (which must hold a usable secret signing key), binary and base64.
func SignReceipt(key *Key, statement []byte, now time.Time) (string, error) {
	if key == nil || !key.CanSign(now) {
		return "", errors.New("sign receipt: no usable secret signing key")
	}
	var sig bytes.Buffer
	cfg := &packet.Config{Time: func() time.Time { return now }}
	if err := openpgp.DetachSign(&sig, []*openpgp.Entity{key.entity}, bytes.NewReader(statement), cfg); err != nil {
		return "", fmt.Errorf("sign receipt: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig.Bytes()), nil
}

// VerifyReceipt checks that sig is a valid signature of statement by key
// (a public or secret key) at the signature's own time.
func VerifyReceipt(key *Key, statement []byte, sig string) error {
	raw, err := base64.StdEncoding.Strict().DecodeString(sig)
	if err != nil || len(raw) == 0 || len(raw) > maxReceiptSignature {
		return errors.New("receipt signature: malformed")
	}
	if _, _, err := openpgp.VerifyDetachedSignature(openpgp.EntityList{key.entity}, bytes.NewReader(statement), bytes.NewReader(raw), nil); err != nil {
		return fmt.Errorf("receipt signature by %s: %w", key.Fingerprint(), err)
	}
	return nil
}
