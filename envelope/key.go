package envelope

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// MaxKeySize bounds a key file read by ReadKeys.
const MaxKeySize = 1 << 20

// Key is an OpenPGP key: a public key, or a secret key with its public part.
type Key struct {
	entity *openpgp.Entity
}

// KeyOptions tunes GenerateKey. The zero value gives a v4 Ed25519/Cv25519 key
// that does not expire.
type KeyOptions struct {
	Profile Profile
	// Lifetime, when positive, makes the key expire after that long.
	Lifetime time.Duration
	// Now and Rand override the clock and randomness (tests).
	Now  func() time.Time
	Rand io.Reader
}

// GenerateKey creates a signing key with an encryption subkey for one
// identity "name <email>".
func GenerateKey(name, email string, opts *KeyOptions) (*Key, error) {
	if opts == nil {
		opts = &KeyOptions{}
	}
	if _, err := mail.ParseAddress(email); err != nil || strings.ContainsAny(email, "<> ") {
		return nil, fmt.Errorf("generate key: invalid email address %q", email)
	}
	if strings.ContainsAny(name, "<>()\n\r") || strings.TrimSpace(name) == "" {
		return nil, fmt.Errorf("generate key: invalid name %q", name)
	}
	c := opts.Profile.config(opts.Now, opts.Rand)
	if opts.Lifetime > 0 {
		c.KeyLifetimeSecs = uint32(opts.Lifetime / time.Second)
	}
	e, err := openpgp.NewEntity(name, "", email, c)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return &Key{entity: e}, nil
}

// ReadKeys parses one or more keys, armored or binary, public or secret.
// Input beyond MaxKeySize is refused.
func ReadKeys(r io.Reader) ([]*Key, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if len(data) > MaxKeySize {
		return nil, fmt.Errorf("read key: larger than %d bytes", MaxKeySize)
	}
	var list openpgp.EntityList
	if trimmed := bytes.TrimSpace(data); bytes.HasPrefix(trimmed, []byte("-----BEGIN PGP")) {
		list, err = readArmoredKeys(trimmed)
	} else {
		list, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if len(list) == 0 {
		return nil, errors.New("read key: no key found")
	}
	keys := make([]*Key, len(list))
	for i, e := range list {
		keys[i] = &Key{entity: e}
	}
	return keys, nil
}

// readArmoredKeys reads every armored block in data (gpg --export of
// several keys may produce one block, a concatenation several).
func readArmoredKeys(data []byte) (openpgp.EntityList, error) {
	var all openpgp.EntityList
	r := bytes.NewReader(data)
	for {
		block, err := armor.Decode(r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if len(all) > 0 {
				break
			}
			return nil, err
		}
		if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
			return nil, fmt.Errorf("armored block is %q, not a key", block.Type)
		}
		list, err := openpgp.ReadKeyRing(block.Body)
		if err != nil {
			return nil, err
		}
		all = append(all, list...)
	}
	return all, nil
}

// Fingerprint returns the primary key's fingerprint in upper-case hex.
func (k *Key) Fingerprint() string {
	return strings.ToUpper(fmt.Sprintf("%x", k.entity.PrimaryKey.Fingerprint))
}

// KeyID returns the primary key's 64-bit key id in upper-case hex.
func (k *Key) KeyID() string {
	return fmt.Sprintf("%016X", k.entity.PrimaryKey.KeyId)
}

// Version is the key's packet version (4 or 6).
func (k *Key) Version() int { return k.entity.PrimaryKey.Version }

// Created is the primary key's creation time.
func (k *Key) Created() time.Time { return k.entity.PrimaryKey.CreationTime }

// Algorithm names the primary key's algorithm, e.g. "EdDSA", "RSA 3072".
func (k *Key) Algorithm() string {
	pk := k.entity.PrimaryKey
	bits, _ := pk.BitLength()
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSASignOnly, packet.PubKeyAlgoRSAEncryptOnly:
		return fmt.Sprintf("RSA %d", bits)
	case packet.PubKeyAlgoEdDSA:
		return "EdDSA"
	case packet.PubKeyAlgoEd25519:
		return "Ed25519"
	case packet.PubKeyAlgoEd448:
		return "Ed448"
	case packet.PubKeyAlgoECDSA:
		return fmt.Sprintf("ECDSA P-%d", bits)
	}
	return fmt.Sprintf("algorithm %d", pk.PubKeyAlgo)
}

// UserIDs returns the key's user IDs ("Name <email>"), sorted.
func (k *Key) UserIDs() []string {
	ids := make([]string, 0, len(k.entity.Identities))
	for id := range k.entity.Identities {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Emails returns the lower-cased email addresses of the key's user IDs.
func (k *Key) Emails() []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range k.entity.Identities {
		e := strings.ToLower(strings.TrimSpace(id.UserId.Email))
		if e != "" && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	sort.Strings(out)
	return out
}

// HasEmail reports whether one of the key's user IDs has this address.
func (k *Key) HasEmail(email string) bool {
	email = strings.ToLower(strings.TrimSpace(email))
	for _, e := range k.Emails() {
		if e == email {
			return true
		}
	}
	return false
}

// Name returns the name of the key's primary identity, or its email.
func (k *Key) Name() string {
	_, id := k.entity.PrimaryIdentity(time.Now(), nil)
	if id == nil {
		for _, i := range k.entity.Identities {
			id = i
			break
		}
	}
	if id == nil {
		return ""
	}
	if id.UserId.Name != "" {
		return id.UserId.Name
	}
	return id.UserId.Email
}

// Identity returns "Name <email>" of the primary identity.
func (k *Key) Identity() string {
	_, id := k.entity.PrimaryIdentity(time.Now(), nil)
	if id == nil {
		ids := k.UserIDs()
		if len(ids) == 0 {
			return k.Fingerprint()
		}
		return ids[0]
	}
	return id.Name
}

// IsSecret reports whether the key holds secret key material.
func (k *Key) IsSecret() bool { return k.entity.PrivateKey != nil }

// IsLocked reports whether the secret key is protected by a passphrase that
// has not been given yet (see Unlock).
func (k *Key) IsLocked() bool {
	if k.entity.PrivateKey != nil && k.entity.PrivateKey.Encrypted {
		return true
	}
	for _, s := range k.entity.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// Unlock decrypts passphrase-protected secret key material in memory.
func (k *Key) Unlock(passphrase []byte) error {
	if !k.IsLocked() {
		return nil
	}
	if err := k.entity.DecryptPrivateKeys(passphrase); err != nil {
		return fmt.Errorf("unlock key %s: wrong passphrase or damaged key: %w", k.Fingerprint(), err)
	}
	return nil
}

// Public returns the key without its secret parts.
func (k *Key) Public() *Key {
	var buf bytes.Buffer
	if err := k.entity.Serialize(&buf); err != nil {
		return k
	}
	e, err := openpgp.ReadEntity(packet.NewReader(&buf))
	if err != nil {
		return k
	}
	return &Key{entity: e}
}

// WritePublic writes the public key, armored if armored is true.
func (k *Key) WritePublic(w io.Writer, armored bool) error {
	return k.write(w, armored, openpgp.PublicKeyType, func(w io.Writer) error {
		return k.entity.Serialize(w)
	})
}

// WriteSecret writes the secret key, armored if armored is true. If
// passphrase is not empty, the secret key material is encrypted with it.
func (k *Key) WriteSecret(w io.Writer, armored bool, passphrase []byte) error {
	if !k.IsSecret() {
		return fmt.Errorf("key %s has no secret part", k.Fingerprint())
	}
	e := k.entity
	if len(passphrase) > 0 {
		// Encrypt a copy so the in-memory key stays usable.
		var buf bytes.Buffer
		if err := e.SerializePrivateWithoutSigning(&buf, nil); err != nil {
			return err
		}
		cp, err := openpgp.ReadEntity(packet.NewReader(&buf))
		if err != nil {
			return err
		}
		if err := cp.EncryptPrivateKeys(passphrase, ProfileCompat.config(nil, nil)); err != nil {
			return fmt.Errorf("protect secret key: %w", err)
		}
		e = cp
	}
	return k.write(w, armored, openpgp.PrivateKeyType, func(w io.Writer) error {
		return e.SerializePrivateWithoutSigning(w, nil)
	})
}

func (k *Key) write(w io.Writer, armored bool, blockType string, body func(io.Writer) error) error {
	if !armored {
		return body(w)
	}
	aw, err := armor.Encode(w, blockType, nil)
	if err != nil {
		return err
	}
	if err := body(aw); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// ErrKeyUnusable is wrapped by Check's errors.
var ErrKeyUnusable = errors.New("key unusable")

// Check reports why the key cannot be used to encrypt at time now: revoked,
// expired, or without an encryption-capable (sub)key.
func (k *Key) Check(now time.Time) error {
	if k.entity.Revoked(now) {
		return fmt.Errorf("%w: key %s is revoked", ErrKeyUnusable, k.Fingerprint())
	}
	if _, err := k.entity.VerifyPrimaryKey(now, nil); err != nil {
		if strings.Contains(err.Error(), "expired") {
			return fmt.Errorf("%w: key %s has expired", ErrKeyUnusable, k.Fingerprint())
		}
		return fmt.Errorf("%w: key %s: %v", ErrKeyUnusable, k.Fingerprint(), err)
	}
	if _, err := k.entity.EncryptionKeyWithError(now, nil); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "expired") {
			return fmt.Errorf("%w: key %s has expired", ErrKeyUnusable, k.Fingerprint())
		}
		if strings.Contains(msg, "revoked") {
			return fmt.Errorf("%w: key %s is revoked", ErrKeyUnusable, k.Fingerprint())
		}
		return fmt.Errorf("%w: key %s cannot encrypt: %v", ErrKeyUnusable, k.Fingerprint(), err)
	}
	return nil
}

// CanSign reports whether the key holds a usable secret signing key.
func (k *Key) CanSign(now time.Time) bool {
	sk, ok := k.entity.SigningKey(now, nil)
	return ok && sk.PrivateKey != nil
}

// Expires returns the primary key's expiry time, or the zero time if it
// never expires.
func (k *Key) Expires() time.Time {
	sig, err := k.entity.PrimarySelfSignature(time.Now(), nil)
	if err != nil || sig == nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return time.Time{}
	}
	return k.entity.PrimaryKey.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
}

// Revoke adds a revocation signature to a secret key (key retired).
func (k *Key) Revoke(reason string) error {
	if !k.IsSecret() {
		return fmt.Errorf("revoke: key %s has no secret part", k.Fingerprint())
	}
	return k.entity.Revoke(packet.KeyRetired, reason, nil)
}

// BindsEncryptionKey reports whether fpr (hex) names an encryption key of
// k: its primary key, or a subkey bound to it by a valid binding signature
// at time at that allows encryption.
func (k *Key) BindsEncryptionKey(fpr string, at time.Time) bool {
	fpr = strings.ToUpper(fpr)
	if strings.ToUpper(hex.EncodeToString(k.entity.PrimaryKey.Fingerprint)) == fpr {
		return k.entity.PrimaryKey.PubKeyAlgo.CanEncrypt()
	}
	for i := range k.entity.Subkeys {
		sk := &k.entity.Subkeys[i]
		if strings.ToUpper(hex.EncodeToString(sk.PublicKey.Fingerprint)) != fpr {
			continue
		}
		sig, err := sk.Verify(at, nil)
		return err == nil && sig.FlagsValid && (sig.FlagEncryptCommunications || sig.FlagEncryptStorage)
	}
	return false
}
