package relayapi

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// RecipientKey names one OpenPGP key a drop is encrypted to, as the
// sender's client states it at drop creation: the recipient's certificate
// (primary key) fingerprint, which a person compares by phone, and the
// fingerprint of the encryption key — the primary key or a subkey — that
// the message's key packet (PKESK) is addressed to. The relay cannot tell
// whom a key belongs to; at completion it checks that the message's key
// packets are addressed to exactly these encryption keys.
type RecipientKey struct {
	// Fingerprint is the certificate's fingerprint: 40 (v4) or 64 (v6)
	// uppercase hex digits.
	Fingerprint string `json:"fingerprint"`
	// EncryptionKey is the fingerprint of the key the message's PKESK
	// packet names (v4 or v6, uppercase hex).
	EncryptionKey string `json:"encryption_key"`
	// Address is the recipient's address when the sender knows one (""
	// for the organisation's archive key).
	Address string `json:"address,omitempty"`
}

// MaxRecipientKeys bounds the keys a drop may name: the relay's recipient
// limit and the organisation's archive key.
const MaxRecipientKeys = 51

// NormalizeFingerprint returns fpr in uppercase hex when it is a v4 (20
// bytes) or v6 (32 bytes) fingerprint.
func NormalizeFingerprint(fpr string) (string, error) {
	b, err := hex.DecodeString(fpr)
	if err != nil || (len(b) != 20 && len(b) != 32) {
		return "", fmt.Errorf("%q is not a v4 (40 hex digits) or v6 (64 hex digits) fingerprint", clip(fpr, 70))
	}
	return strings.ToUpper(fpr), nil
}

// KeyIDOf returns the 64-bit key id of a v4 or v6 fingerprint (RFC 9580
// §5.5.4: the low 64 bits of a v4 fingerprint, the high 64 bits of a v6
// one).
func KeyIDOf(fpr string) (uint64, error) {
	b, err := hex.DecodeString(fpr)
	switch {
	case err != nil:
		return 0, errors.New("not hex")
	case len(b) == 20:
		return binary.BigEndian.Uint64(b[12:]), nil
	case len(b) == 32:
		return binary.BigEndian.Uint64(b[:8]), nil
	}
	return 0, errors.New("not a v4 or v6 fingerprint")
}

// CheckRecipientKeys validates and normalises keys in place: bounded
// count, well-formed fingerprints, no key named twice.
func CheckRecipientKeys(keys []RecipientKey) error {
	if len(keys) > MaxRecipientKeys {
		return fmt.Errorf("recipient_keys: at most %d keys", MaxRecipientKeys)
	}
	seen := map[string]bool{}
	for i := range keys {
		k := &keys[i]
		var err error
		if k.Fingerprint, err = NormalizeFingerprint(k.Fingerprint); err != nil {
			return fmt.Errorf("recipient_keys[%d].fingerprint: %w", i, err)
		}
		if k.EncryptionKey, err = NormalizeFingerprint(k.EncryptionKey); err != nil {
			return fmt.Errorf("recipient_keys[%d].encryption_key: %w", i, err)
		}
		if seen[k.EncryptionKey] {
			return fmt.Errorf("recipient_keys[%d]: encryption key %s named twice", i, k.EncryptionKey)
		}
		seen[k.EncryptionKey] = true
		if len(k.Address) > 254 {
			return fmt.Errorf("recipient_keys[%d].address: longer than 254 bytes", i)
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
