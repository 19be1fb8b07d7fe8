package deliver

import (
	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
)

// keyedWriter is a sealed message that tells the spooler which keys it is
// encrypted to (spooler.Sealer).
type keyedWriter struct {
	*envelope.Writer
	keys []spooler.SealedKey
}

// SealedKeys returns the keys the message is encrypted to.
func (w *keyedWriter) SealedKeys() []spooler.SealedKey { return w.keys }

// sealedKeys names each key a message was sealed to with the address it
// was chosen for: the first of the job's recipients the key carries (none
// for the organisation's archive key).
func sealedKeys(sealed []envelope.SealedKey, keys []*envelope.Key, addresses []string) []spooler.SealedKey {
	out := make([]spooler.SealedKey, 0, len(sealed))
	for i, sk := range sealed {
		k := spooler.SealedKey{Fingerprint: sk.Fingerprint, EncryptionKey: sk.EncryptionKey}
		if i < len(keys) {
			for _, a := range addresses {
				if keys[i].HasEmail(a) {
					k.Address = a
					break
				}
			}
		}
		out = append(out, k)
	}
	return out
}

// recipientKeys is what the relay is told of the keys a job is sealed to.
func recipientKeys(keys []spooler.SealedKey) []relayapi.RecipientKey {
	var out []relayapi.RecipientKey
	for _, k := range keys {
		out = append(out, relayapi.RecipientKey{Fingerprint: k.Fingerprint, EncryptionKey: k.EncryptionKey, Address: k.Address})
	}
	return out
}

// CheckSignedReceipt checks a recipient's signature of a receipt of drop
// against the key held for its signer (for spooler.Options): keys returns
// the sender's recipient keys (its address book, pinned).
func CheckSignedReceipt(keys func() ([]*envelope.Key, error)) func(drop, sealedSHA256 string, r spooler.SignedReceipt) bool {
	return func(drop, sealedSHA256 string, r spooler.SignedReceipt) bool {
		list, err := keys()
		if err != nil {
			return false
		}
		for _, k := range list {
			if k.Fingerprint() == r.Signer {
				return envelope.VerifyReceipt(k, relayapi.ReceiptStatement(drop, sealedSHA256, r.SignedAt), r.Signature) == nil
			}
		}
		return false
	}
}
