package envelope

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// LinkSecretLen is the length of a link secret: 32 random bytes in
// unpadded base64url.
const LinkSecretLen = 43

// NewLinkSecret returns a random 256-bit secret for link mode, encoded as
// 43 characters of base64url. The string itself is the OpenPGP passphrase.
func NewLinkSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("link secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ValidLinkSecret reports whether s looks like a link secret.
func ValidLinkSecret(s string) bool {
	if len(s) != LinkSecretLen {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// MaxLinkSecrets bounds the link secrets of one message (one SKESK packet
// each).
const MaxLinkSecrets = 50

// SealOptions says who signs a message and who may open it: recipient keys,
// link secrets, or both (a message that either the recipients' keys or any
// of the link secrets opens). At least one key or secret is required.
type SealOptions struct {
	// Signer is the sender's secret key. Required.
	Signer *Key
	// Recipients are the public keys that may open the message (key mode).
	Recipients []*Key
	// Secret is the link secret (link mode), see NewLinkSecret.
	Secret string
	// Secrets are more link secrets, after Secret: link mode with several
	// recipients gives each its own secret, so that a receipt keyed from
	// it (LinkReceiptProof) says which recipient opened. Each secret
	// becomes one SKESK packet around the one session key: the document
	// is encrypted once.
	Secrets []string
	// FileName and ModTime go into the (encrypted) literal data packet.
	FileName string
	ModTime  time.Time
	// Cover travels inside the signature, for the recipient (see
	// CoverNotation); empty by default.
	Cover Cover
	// Profile selects compat (default) or RFC 9580 features.
	Profile Profile
	// Now and Rand override the clock and randomness (tests).
	Now  func() time.Time
	Rand io.Reader
}

// libraryOnly forces go-crypto's own writer for every message (tests
// compare both paths).
var libraryOnly = false

// Writer is the plaintext side of a message being sealed. Close finishes
// the message (signature, integrity tag); without Close the output is
// incomplete and will not open.
type Writer struct {
	w          io.WriteCloser
	sessionKey []byte
	keys       []SealedKey
}

// SealedKey names one key a sealed message is encrypted to: the
// certificate's fingerprint and the fingerprint of the key — primary or
// subkey — its key packet (PKESK) is addressed to, both in uppercase hex.
type SealedKey struct {
	Fingerprint   string
	EncryptionKey string
}

// Keys returns the keys the message is encrypted to, in recipient order.
func (w *Writer) Keys() []SealedKey { return w.keys }

// Write encrypts p.
func (w *Writer) Write(p []byte) (int, error) { return w.w.Write(p) }

// Close writes the signature and integrity tag. It does not close the
// underlying writer.
func (w *Writer) Close() error { return w.w.Close() }

// SessionKey returns the message's symmetric session key. The sender keeps
// it to check receipts (see ReceiptProof); it must never leave the PC.
func (w *Writer) SessionKey() []byte { return w.sessionKey }

// Seal starts a signed and encrypted message written to dst. Write the
// plaintext to the returned Writer, then Close it.
func Seal(dst io.Writer, opts SealOptions) (*Writer, error) {
	if opts.Signer == nil || !opts.Signer.IsSecret() {
		return nil, errors.New("seal: a secret signing key is required")
	}
	if opts.Signer.IsLocked() {
		return nil, errors.New("seal: the signing key is locked (passphrase needed)")
	}
	secrets, err := opts.linkSecrets()
	if err != nil {
		return nil, err
	}
	if len(opts.Recipients) == 0 && len(secrets) == 0 {
		return nil, errors.New("seal: no recipient and no link secret")
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	config := opts.Profile.config(now, opts.Rand)
	notes, err := coverNotations(opts.Cover)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	config.SignatureNotations = notes
	if !opts.Signer.CanSign(now()) {
		return nil, fmt.Errorf("seal: signing key %s is expired, revoked or cannot sign", opts.Signer.Fingerprint())
	}
	to := make([]*openpgp.Entity, 0, len(opts.Recipients))
	var keys []SealedKey
	for _, r := range opts.Recipients {
		if err := r.Check(now()); err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		to = append(to, r.entity)
		// The key go-crypto's writer and the fast path both encrypt to.
		ek, err := r.entity.EncryptionKeyWithError(now(), config)
		if err != nil {
			return nil, fmt.Errorf("seal: key %s: %w", r.Fingerprint(), err)
		}
		keys = append(keys, SealedKey{Fingerprint: r.Fingerprint(), EncryptionKey: strings.ToUpper(hex.EncodeToString(ek.PublicKey.Fingerprint))})
	}

	// A session key of our own choosing lets the sender verify receipts.
	sessionKey := make([]byte, config.Cipher().KeySize())
	if _, err := io.ReadFull(config.Random(), sessionKey); err != nil {
		return nil, fmt.Errorf("seal: session key: %w", err)
	}
	aead := len(to) > 0 && allSupportAEAD(to, now())
	if aead {
		// Every recipient reads SEIPD v2: go-crypto picks an AEAD suite,
		// whose cipher sets the session key size.
		sessionKey = sessionKey[:aeadSuiteCipher(to, now()).KeySize()]
	}
	modTime := opts.ModTime
	if modTime.IsZero() {
		modTime = now()
	}
	if plan := planFast(opts, to, config, now()); plan != nil && !aead && !libraryOnly {
		plan.sessionKey = sessionKey[:plan.cipher.KeySize()]
		pt, err := sealFast(dst, plan, secrets, literalName(opts.FileName), modTime, config)
		if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		return &Writer{w: pt, sessionKey: plan.sessionKey, keys: keys}, nil
	}
	params := &openpgp.EncryptParams{
		Hints:      &openpgp.FileHints{FileName: literalName(opts.FileName), ModTime: modTime},
		Signers:    []*openpgp.Entity{opts.Signer.entity},
		SessionKey: append([]byte(nil), sessionKey...),
		Config:     config,
	}
	var pt io.WriteCloser
	for _, s := range secrets {
		params.Passwords = append(params.Passwords, []byte(s))
	}
	if len(to) == 0 {
		// Link mode: symmetric only. A v4 SKESK + SEIPD v1 opens in gpg
		// 2.2 and OpenPGP.js; RFC 9580 profile uses AEAD. The first
		// secret's SKESK is written first, then one per other secret.
		params.Passwords = params.Passwords[1:]
		pt, err = openpgp.SymmetricallyEncryptWithParams([]byte(secrets[0]), dst, params)
	} else {
		pt, err = openpgp.EncryptWithParams(dst, to, nil, params)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Writer{w: pt, sessionKey: sessionKey, keys: keys}, nil
}

// linkSecrets returns Secret then Secrets, each checked, none twice.
func (opts SealOptions) linkSecrets() ([]string, error) {
	var out []string
	if opts.Secret != "" {
		out = append(out, opts.Secret)
	}
	out = append(out, opts.Secrets...)
	if len(out) > MaxLinkSecrets {
		return nil, fmt.Errorf("seal: %d link secrets, at most %d", len(out), MaxLinkSecrets)
	}
	seen := make(map[string]bool, len(out))
	for _, s := range out {
		if !ValidLinkSecret(s) {
			return nil, errors.New("seal: malformed link secret")
		}
		if seen[s] {
			return nil, errors.New("seal: the same link secret twice")
		}
		seen[s] = true
	}
	return out, nil
}

// allSupportAEAD reports whether every recipient advertises SEIPD v2.
func allSupportAEAD(to []*openpgp.Entity, now time.Time) bool {
	for _, e := range to {
		sig, err := e.PrimarySelfSignature(now, nil)
		if err != nil || sig == nil || !sig.SEIPDv2 {
			return false
		}
	}
	return true
}

// aeadSuiteCipher returns the cipher of the AEAD suite go-crypto will
// choose for these recipients: the first of its candidates that every
// recipient prefers, else AES-128 (the mandatory suite).
func aeadSuiteCipher(to []*openpgp.Entity, now time.Time) packet.CipherFunction {
	candidates := [][2]uint8{
		{uint8(packet.CipherAES256), uint8(packet.AEADModeGCM)},
		{uint8(packet.CipherAES256), uint8(packet.AEADModeEAX)},
		{uint8(packet.CipherAES256), uint8(packet.AEADModeOCB)},
		{uint8(packet.CipherAES128), uint8(packet.AEADModeGCM)},
		{uint8(packet.CipherAES128), uint8(packet.AEADModeEAX)},
		{uint8(packet.CipherAES128), uint8(packet.AEADModeOCB)},
	}
	for _, e := range to {
		sig, err := e.PrimarySelfSignature(now, nil)
		if err != nil || sig == nil {
			continue
		}
		var keep [][2]uint8
		for _, c := range candidates {
			for _, p := range sig.PreferredCipherSuites {
				if c == p {
					keep = append(keep, c)
					break
				}
			}
		}
		candidates = keep
	}
	if len(candidates) == 0 {
		return packet.CipherAES128
	}
	return packet.CipherFunction(candidates[0][0])
}

// literalName keeps only a safe base name for the literal data packet.
func literalName(name string) string {
	name = SafeFileName(name)
	if len(name) > 200 {
		name = name[:200]
	}
	return name
}
