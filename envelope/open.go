package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// Errors returned by Open, for callers that branch on the cause.
var (
	// ErrNoKey: none of the given keys or secrets opens the message.
	ErrNoKey = errors.New("no key or secret opens this message")
	// ErrTampered: the ciphertext was modified or truncated.
	ErrTampered = errors.New("message damaged or tampered with (integrity check failed)")
	// ErrBadSignature: the signature does not match the content or signer.
	ErrBadSignature = errors.New("bad signature")
	// ErrUnsigned: the message carries no signature.
	ErrUnsigned = errors.New("message is not signed")
	// ErrUnknownSigner: signed by a key that is not among the verifiers.
	ErrUnknownSigner = errors.New("signed by an unknown key")
	// ErrNotEncrypted: the input is not an encrypted OpenPGP message.
	ErrNotEncrypted = errors.New("not an encrypted OpenPGP message")
)

// OpenOptions lists what may open and verify a message.
type OpenOptions struct {
	// Keys are secret keys that may decrypt the message.
	Keys []*Key
	// Secret is a link secret (link mode).
	Secret string
	// Verifiers are public keys that may have signed the message. The
	// signature must verify against one of them.
	Verifiers []*Key
	// AllowUnverified accepts a message whose signer is unknown or that is
	// unsigned; Message.Verified tells. A bad signature is always an error.
	AllowUnverified bool
	// Now overrides the clock (tests).
	Now func() time.Time
}

// Message describes an opened message.
type Message struct {
	// FileName and ModTime come from the literal data packet (set by the
	// sender; not covered by the signature). Use SafeFileName before
	// creating a file.
	FileName string
	ModTime  time.Time
	// Verified is true when the signature verified against Signer.
	Verified bool
	// Signer is the verifier key that made the signature, if known.
	Signer *Key
	// SignerKeyID is the issuer key id found in the signature (hex).
	SignerKeyID string
	// SignedAt is the signature's creation time.
	SignedAt time.Time
	// SessionKey is the symmetric session key (for receipts).
	SessionKey []byte
	// Size is the number of plaintext bytes written.
	Size int64
	// Symmetric is true when a link secret opened the message.
	Symmetric bool
	// IntendedRecipients are the fingerprints (hex, upper case) the
	// signature names as the message's recipients (RFC 9580 §5.2.3.36);
	// empty when the signer named none.
	IntendedRecipients []string
	// NotAddressedToYou is true when the signature names intended
	// recipients and the key that opened the message is not one of them:
	// someone re-encrypted a document signed for others.
	NotAddressedToYou bool
	// Cover is what the sender sealed with the document (deadline,
	// reference); read only from a verified signature.
	Cover Cover
	// OpenedWith is the fingerprint (hex, upper case) of the key whose
	// secret part decrypted the message; "" when a link secret did.
	OpenedWith string
}

// keyring adapts our keys to go-crypto's KeyRing.
type keyring struct{ list openpgp.EntityList }

func (k keyring) KeysById(id uint64) []openpgp.Key { return k.list.KeysById(id) }
func (k keyring) EntitiesById(id uint64) []*openpgp.Entity {
	return k.list.EntitiesById(id)
}

// Open decrypts src into dst and checks the signature. The plaintext is
// streamed: when Open returns an error, whatever reached dst must be
// discarded — it is not authentic.
func Open(src io.Reader, dst io.Writer, opts OpenOptions) (*Message, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	config := ProfileCompat.config(now, nil)
	config.CacheSessionKey = true
	// go-crypto would turn a foreign intended-recipient list into a bad
	// signature; the signature is good, the document was addressed to
	// someone else: Open reports that instead (Message.NotAddressedToYou).
	noCheck := false
	config.CheckIntendedRecipients = &noCheck
	var ring keyring
	for _, k := range opts.Keys {
		if k.IsLocked() {
			return nil, fmt.Errorf("open: key %s is locked (passphrase needed)", k.Fingerprint())
		}
		ring.list = append(ring.list, k.entity)
	}
	for _, k := range opts.Verifiers {
		ring.list = append(ring.list, k.entity)
	}
	triedSecret := false
	prompt := func(keys []openpgp.Key, symmetric bool) ([]byte, error) {
		if symmetric && opts.Secret != "" && !triedSecret {
			triedSecret = true
			return []byte(opts.Secret), nil
		}
		return nil, ErrNoKey
	}
	md, err := openpgp.ReadMessage(src, ring, prompt, config)
	if err != nil {
		return nil, fmt.Errorf("open: %w", classify(err))
	}
	if !md.IsEncrypted {
		return nil, fmt.Errorf("open: %w", ErrNotEncrypted)
	}
	msg := &Message{Symmetric: md.DecryptedWith.PublicKey == nil}
	if md.DecryptedWith.Entity != nil && md.DecryptedWith.PublicKey != nil {
		msg.OpenedWith = fmt.Sprintf("%X", md.DecryptedWith.Entity.PrimaryKey.Fingerprint)
	}
	if md.LiteralData != nil {
		msg.FileName = md.LiteralData.FileName
		if md.LiteralData.Time != 0 {
			msg.ModTime = time.Unix(int64(md.LiteralData.Time), 0)
		}
	}
	n, err := io.Copy(dst, md.UnverifiedBody)
	msg.Size = n
	if err != nil {
		return nil, fmt.Errorf("open: %w", classify(err))
	}
	msg.SessionKey = md.SessionKey
	if !md.IsSigned {
		if opts.AllowUnverified {
			return msg, nil
		}
		return nil, fmt.Errorf("open: %w", ErrUnsigned)
	}
	if md.Signature != nil && md.SignatureError == nil && md.SignedBy != nil {
		msg.Verified = true
		msg.SignedAt = md.Signature.CreationTime
		msg.SignerKeyID = fmt.Sprintf("%016X", md.SignedBy.PublicKey.KeyId)
		for _, k := range opts.Verifiers {
			if bytes.Equal(k.entity.PrimaryKey.Fingerprint, md.SignedBy.Entity.PrimaryKey.Fingerprint) {
				msg.Signer = k
			}
		}
		if msg.Signer == nil {
			// Signed by one of the decryption keys' owners, not a
			// declared verifier: treat as unknown.
			msg.Verified = false
		}
	}
	if msg.Verified {
		msg.IntendedRecipients, msg.NotAddressedToYou = intended(md)
		msg.Cover, _ = coverFrom(md.Signature)
		return msg, nil
	}
	issuer := signatureIssuer(md)
	msg.SignerKeyID = issuer
	if md.SignatureError != nil && !isUnknownIssuer(md.SignatureError) {
		return nil, fmt.Errorf("open: %w: %v", ErrBadSignature, md.SignatureError)
	}
	if opts.AllowUnverified {
		return msg, nil
	}
	return nil, fmt.Errorf("open: %w %s (import the sender's public key to verify it)", ErrUnknownSigner, issuer)
}

// intended returns the signature's intended recipients and whether the
// decryption key's owner is missing from them.
func intended(md *openpgp.MessageDetails) ([]string, bool) {
	if md.Signature == nil || len(md.Signature.IntendedRecipients) == 0 {
		return nil, false
	}
	var list []string
	mine := false
	var own []byte
	if md.DecryptedWith.Entity != nil && md.DecryptedWith.PublicKey != nil {
		own = md.DecryptedWith.Entity.PrimaryKey.Fingerprint
	}
	for _, r := range md.Signature.IntendedRecipients {
		list = append(list, fmt.Sprintf("%X", r.Fingerprint))
		if own != nil && bytes.Equal(r.Fingerprint, own) {
			mine = true
		}
	}
	// A link secret opens the message for whoever holds the link: there
	// is no key to compare with.
	return list, own != nil && !mine
}

// signatureIssuer returns the key id of the first signature candidate.
func signatureIssuer(md *openpgp.MessageDetails) string {
	for _, c := range md.SignatureCandidates {
		if c.IssuerKeyId != 0 {
			return fmt.Sprintf("%016X", c.IssuerKeyId)
		}
	}
	if md.SelectedCandidate != nil {
		return fmt.Sprintf("%016X", md.SelectedCandidate.IssuerKeyId)
	}
	return "(unknown)"
}

func isUnknownIssuer(err error) bool {
	return errors.Is(err, pgperrors.ErrUnknownIssuer) ||
		strings.Contains(err.Error(), "signature made by unknown entity")
}

// classify maps go-crypto's errors onto ours.
func classify(err error) error {
	var se pgperrors.SignatureError
	var de pgperrors.DecryptWithSessionKeyError
	switch {
	case errors.As(err, &de):
		return fmt.Errorf("%w: %v", ErrTampered, err)
	case errors.Is(err, ErrNoKey), errors.Is(err, pgperrors.ErrKeyIncorrect):
		return ErrNoKey
	case errors.As(err, &se):
		return fmt.Errorf("%w: %v", ErrTampered, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: truncated", ErrTampered)
	case errors.Is(err, pgperrors.ErrMDCHashMismatch), errors.Is(err, pgperrors.ErrMDCMissing),
		strings.Contains(err.Error(), "MDC"), strings.Contains(err.Error(), "authentication"):
		return fmt.Errorf("%w: %v", ErrTampered, err)
	}
	var st pgperrors.StructuralError
	if errors.As(err, &st) {
		return fmt.Errorf("%w: %v", ErrTampered, err)
	}
	return err
}
