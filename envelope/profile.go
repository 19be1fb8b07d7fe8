package envelope

import (
	"crypto"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
)

// Profile selects the OpenPGP features used for keys and messages.
type Profile int

const (
	// ProfileCompat (default) is readable by GnuPG 2.2 and OpenPGP.js:
	// v4 keys, Ed25519/Cv25519, SEIPD v1, AES-256, no compression.
	ProfileCompat Profile = iota
	// ProfileRFC9580 uses v6 keys and AEAD (SEIPD v2, GCM) where every
	// recipient supports it. GnuPG 2.2 cannot read it.
	ProfileRFC9580
)

// String returns the profile's name as used on the command line.
func (p Profile) String() string {
	if p == ProfileRFC9580 {
		return "rfc9580"
	}
	return "compat"
}

// ParseProfile turns "compat" or "rfc9580" into a Profile.
func ParseProfile(s string) (Profile, bool) {
	switch s {
	case "", "compat", "gnupg", "v4":
		return ProfileCompat, true
	case "rfc9580", "v6", "aead":
		return ProfileRFC9580, true
	}
	return ProfileCompat, false
}

// maxMessageSize bounds what a decompressing reader may produce, so a
// compressed bomb from elsewhere cannot exhaust memory or disk.
const maxMessageSize = int64(64) << 30

// config returns the go-crypto configuration for a profile.
func (p Profile) config(now func() time.Time, rand io.Reader) *packet.Config {
	limit := maxMessageSize
	c := &packet.Config{
		Rand:                   rand,
		Time:                   now,
		DefaultHash:            crypto.SHA256,
		DefaultCipher:          packet.CipherAES256,
		DefaultCompressionAlgo: packet.CompressionNone,
		Algorithm:              packet.PubKeyAlgoEdDSA,
		Curve:                  packet.Curve25519,
		// The link secret already carries 256 bits of entropy: key
		// stretching adds nothing but latency in the browser.
		S2KConfig: &s2k.Config{
			S2KMode:  s2k.IteratedSaltedS2K,
			Hash:     crypto.SHA256,
			S2KCount: 65536,
		},
		MaxDecompressedMessageSize: &limit,
	}
	if p == ProfileRFC9580 {
		c.V6Keys = true
		c.Algorithm = packet.PubKeyAlgoEd25519
		c.AEADConfig = &packet.AEADConfig{DefaultMode: packet.AEADModeGCM}
	}
	return c
}
