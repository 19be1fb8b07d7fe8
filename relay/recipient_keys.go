package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/sealprint/sealprint/relayapi"
)

// What the relay can and cannot check of the recipient keys a sender
// states: it sees the ciphertext, so it reads the message's key packets
// (PKESK) and checks that they are addressed to exactly the stated
// encryption keys — no key left out, none added. It cannot check that an
// encryption key belongs to the stated certificate (that needs the
// recipient's public key; anyone holding it checks offline), that the
// certificate belongs to the named person, or what was encrypted.

// ErrRecipientKeys is wrapped by refusals of an upload whose key packets
// do not match the drop's stated recipient keys.
var ErrRecipientKeys = errors.New("the message's key packets do not match the drop's recipient keys")

// maxKeyPacketBytes bounds what is read of a message's key packets.
const maxKeyPacketBytes = 1 << 20

// checkRecipientKeys validates the stated recipient keys of a create
// request: well-formed, bounded, and addresses among the recipients.
func checkRecipientKeys(v *validatedCreate) error {
	keys := slices.Clone(v.RecipientKeys)
	if err := relayapi.CheckRecipientKeys(keys); err != nil {
		return err
	}
	for i, k := range keys {
		if k.Address == "" {
			continue
		}
		addr, err := parseAddress(k.Address)
		if err != nil {
			return fmt.Errorf("recipient_keys[%d].address: %w", i, err)
		}
		if !slices.Contains(v.Recipients, addr) {
			return fmt.Errorf("recipient_keys[%d].address %q is not among the recipients", i, truncate(addr, 64))
		}
	}
	if len(keys) == 0 {
		keys = nil
	}
	v.RecipientKeys = keys
	return nil
}

// recipientFingerprints lists the certificate fingerprints of keys.
func recipientFingerprints(keys []relayapi.RecipientKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Fingerprint)
	}
	return out
}

// messageKeyIDs returns the key ids of the public-key encrypted session
// key packets at the head of the OpenPGP message in r (0 for an anonymous
// recipient), stopping at the encrypted data.
func messageKeyIDs(r io.Reader) ([]uint64, error) {
	pr := packet.NewReader(io.LimitReader(r, maxKeyPacketBytes))
	var ids []uint64
	for i := 0; i < maxHeaderPackets; i++ {
		p, err := pr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("no encrypted data")
			}
			var ue pgperrors.UnsupportedError
			if errors.As(err, &ue) {
				continue
			}
			return nil, err
		}
		switch k := p.(type) {
		case *packet.EncryptedKey:
			ids = append(ids, k.KeyId)
		case *packet.SymmetricKeyEncrypted:
		default:
			return ids, nil
		}
	}
	return nil, fmt.Errorf("more than %d key packets", maxHeaderPackets)
}

// matchKeyPackets checks that the message's key packets in r are
// addressed to exactly the encryption keys of keys, one packet each.
func matchKeyPackets(r io.Reader, keys []relayapi.RecipientKey) error {
	ids, err := messageKeyIDs(r)
	if err != nil {
		return fmt.Errorf("%w: read the key packets: %v", ErrRecipientKeys, err)
	}
	want := map[uint64]string{}
	for _, k := range keys {
		id, err := relayapi.KeyIDOf(k.EncryptionKey)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrRecipientKeys, k.EncryptionKey, err)
		}
		want[id] = k.Fingerprint
	}
	seen := map[uint64]bool{}
	for _, id := range ids {
		if _, ok := want[id]; !ok {
			return fmt.Errorf("%w: the message is also encrypted to key id %016X, which the drop does not name", ErrRecipientKeys, id)
		}
		if seen[id] {
			return fmt.Errorf("%w: two key packets for key id %016X", ErrRecipientKeys, id)
		}
		seen[id] = true
	}
	for _, k := range keys {
		id, _ := relayapi.KeyIDOf(k.EncryptionKey)
		if !seen[id] {
			return fmt.Errorf("%w: the message is not encrypted to %s (key %s)", ErrRecipientKeys, k.EncryptionKey, k.Fingerprint)
		}
	}
	return nil
}

// checkUploadRecipients reads the finished upload's key packets and
// refuses them when they do not match d's stated recipient keys. A drop
// that states none is not checked.
func (s *Server) checkUploadRecipients(ctx context.Context, d *Drop) error {
	if len(d.RecipientKeys) == 0 {
		return nil
	}
	f, err := s.uploads.open(ctx, d.ID)
	if err != nil {
		return err
	}
	defer f.Close()
	return matchKeyPackets(f, d.RecipientKeys)
}

// encodeRecipientKeys is the stored form of keys: JSON, "" for none.
func encodeRecipientKeys(keys []relayapi.RecipientKey) string {
	if len(keys) == 0 {
		return ""
	}
	b, _ := json.Marshal(keys)
	return string(b)
}

// decodeRecipientKeys reads the stored form of a drop's recipient keys.
func decodeRecipientKeys(s string) ([]relayapi.RecipientKey, error) {
	if s == "" {
		return nil, nil
	}
	var keys []relayapi.RecipientKey
	if err := json.Unmarshal([]byte(s), &keys); err != nil {
		return nil, fmt.Errorf("recipient keys: %w", err)
	}
	return keys, nil
}
