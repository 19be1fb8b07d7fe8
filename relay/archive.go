package relay

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/sealprint/sealprint/relayapi"
)

// archiveKeyIDs parses the archive public key and returns the key ids of
// its encryption keys (primary and subkeys) and its fingerprint.
func archiveKeyIDs(armored string) (map[uint64]bool, string, error) {
	if len(armored) > maxSenderKey {
		return nil, "", fmt.Errorf("larger than %d bytes", maxSenderKey)
	}
	el, err := openpgp.ReadArmoredKeyRing(strings.NewReader(armored))
	if err != nil {
		return nil, "", err
	}
	if len(el) != 1 {
		return nil, "", errors.New("must hold exactly one key")
	}
	e := el[0]
	if e.PrivateKey != nil {
		return nil, "", errors.New("holds a secret key: give only the public key")
	}
	ids := map[uint64]bool{}
	if e.PrimaryKey.PubKeyAlgo.CanEncrypt() {
		ids[e.PrimaryKey.KeyId] = true
	}
	for _, sk := range e.Subkeys {
		if sk.PublicKey.PubKeyAlgo.CanEncrypt() && sk.Sig != nil && sk.Sig.FlagsValid && (sk.Sig.FlagEncryptCommunications || sk.Sig.FlagEncryptStorage) {
			ids[sk.PublicKey.KeyId] = true
		}
	}
	return ids, strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint)), nil
}

// maxHeaderPackets bounds the key packets read before the encrypted data.
const maxHeaderPackets = 128

// encryptedTo reports whether the OpenPGP message in r has a public-key
// encrypted session key packet for one of ids. It reads only the packets
// before the encrypted data (the relay cannot and does not decrypt).
func encryptedTo(r io.Reader, ids map[uint64]bool) (bool, error) {
	pr := packet.NewReader(io.LimitReader(r, 4<<20))
	for i := 0; i < maxHeaderPackets; i++ {
		p, err := pr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			var ue pgperrors.UnsupportedError
			if errors.As(err, &ue) {
				continue
			}
			return false, err
		}
		switch k := p.(type) {
		case *packet.EncryptedKey:
			if ids[k.KeyId] {
				return true, nil
			}
		case *packet.SymmetricKeyEncrypted:
		default:
			// The encrypted data starts: no more key packets.
			return false, nil
		}
	}
	return false, nil
}

// checkArchive reads the head of a stored blob and refuses it when the
// policy's archive key is not among its recipients.
func checkArchive(head []byte, armored string) error {
	ids, _, err := archiveKeyIDs(armored)
	if err != nil {
		return err
	}
	ok, err := encryptedTo(bytes.NewReader(head), ids)
	if err != nil {
		return fmt.Errorf("read the message's key packets: %w", err)
	}
	if !ok {
		return &policyError{relayapi.RuleArchiveKey, "the document is not encrypted to the organisation's archive key"}
	}
	return nil
}
