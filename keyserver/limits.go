package keyserver

import (
	//lint:ignore SA1019 go-crypto returns DSA keys found in OpenPGP certificates as *dsa.PublicKey; they are only measured here, to refuse weak ones, never used
	"crypto/dsa"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp/elgamal"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Limits on what the directory accepts. A key above them is refused with an
// error wrapping ErrKeyRejected; nothing larger is ever buffered.
const (
	// MaxKeyBytes bounds an uploaded key (armored or binary).
	MaxKeyBytes = 1 << 20
	// MaxUserIDs bounds the user IDs of one key.
	MaxUserIDs = 100
	// MaxSubkeys bounds the subkeys of one key.
	MaxSubkeys = 100
	// maxSigsPerComponent bounds the signatures kept on one component.
	maxSigsPerComponent = 64
	// maxPackets bounds the packets of one upload.
	maxPackets = 4096
)

// ErrKeyRejected is wrapped by every error about an unacceptable key: bad
// format, too large, secret material, no valid self-signature.
var ErrKeyRejected = errors.New("key rejected")

// ErrKeyTooLarge is wrapped (with ErrKeyRejected) by errors about a key
// above the size, user ID, subkey or packet limits.
var ErrKeyTooLarge = errors.New("too large")

// tooLarge returns an error wrapping ErrKeyRejected and ErrKeyTooLarge.
func tooLarge(format string, a ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrKeyRejected, ErrKeyTooLarge, fmt.Sprintf(format, a...))
}

var (
	errTooManyPackets = tooLarge("more than %d packets", maxPackets)
	errSecretKey      = fmt.Errorf("%w: it contains secret key material; upload only the public key", ErrKeyRejected)
)

// maxKeyBits bounds RSA, DSA and ElGamal moduli: verifying signatures of a
// larger key would cost more than a request may.
const maxKeyBits = 8192

// checkKeySize refuses keys whose arithmetic is unbounded in cost.
func checkKeySize(pub *packet.PublicKey) error {
	switch k := pub.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() > maxKeyBits {
			return tooLarge("RSA key of %d bits", k.N.BitLen())
		}
	case *dsa.PublicKey:
		if k.P.BitLen() > maxKeyBits || k.Q.BitLen() > 512 {
			return tooLarge("DSA key of %d/%d bits", k.P.BitLen(), k.Q.BitLen())
		}
	case *elgamal.PublicKey:
		if k.P.BitLen() > maxKeyBits {
			return tooLarge("ElGamal key of %d bits", k.P.BitLen())
		}
	}
	return nil
}
