package envelope

import (
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// The compat profile is written by our own composition of go-crypto's
// packets rather than by openpgp.EncryptWithParams, for speed: the
// signature hash and the MDC hash each run on their own goroutine while
// the caller's goroutine encrypts, and no layer copies the data through an
// intermediate buffer. The output is the same packet sequence:
// PKESK/SKESK…, SEIPD v1 { one-pass signature, literal data, signature, MDC }.

// fastPlan is what sealFast needs; planFast returns nil when the message
// needs a feature only the library path has (AEAD, v6 keys, hashes other
// than SHA-256, ciphers other than AES).
type fastPlan struct {
	signKey    openpgp.Key
	encKeys    []openpgp.Key
	intended   []*packet.Recipient
	cipher     packet.CipherFunction
	sessionKey []byte
}

func planFast(opts SealOptions, to []*openpgp.Entity, config *packet.Config, now time.Time) *fastPlan {
	if opts.Profile != ProfileCompat || opts.Signer.Version() != 4 {
		return nil
	}
	sk, ok := opts.Signer.entity.SigningKey(now, config)
	if !ok || sk.PrivateKey == nil || sk.PublicKey.Version != 4 {
		return nil
	}
	plan := &fastPlan{signKey: sk, cipher: packet.CipherAES256}
	ciphers := []packet.CipherFunction{packet.CipherAES256, packet.CipherAES128}
	signerSig, _ := opts.Signer.entity.PrimarySelfSignature(now, config)
	if signerSig != nil && len(signerSig.PreferredHash) > 0 && !containsByte(signerSig.PreferredHash, 8) { // 8 = SHA-256
		return nil
	}
	for _, e := range to {
		k, err := e.EncryptionKeyWithError(now, config)
		if err != nil || k.PublicKey.Version != 4 {
			return nil
		}
		plan.encKeys = append(plan.encKeys, k)
		// Intended Recipient Fingerprint (RFC 9580 §5.2.3.36), one per
		// recipient, from the primary key as go-crypto's writer does: a
		// recipient cannot pass the signed document on as if addressed to
		// someone else.
		plan.intended = append(plan.intended, &packet.Recipient{KeyVersion: e.PrimaryKey.Version, Fingerprint: e.PrimaryKey.Fingerprint})
		sig, _ := e.PrimarySelfSignature(now, config)
		if sig == nil {
			return nil
		}
		if len(sig.PreferredHash) > 0 && !containsByte(sig.PreferredHash, 8) {
			return nil
		}
		if len(sig.PreferredSymmetric) > 0 {
			var keep []packet.CipherFunction
			for _, c := range ciphers {
				if containsByte(sig.PreferredSymmetric, uint8(c)) {
					keep = append(keep, c)
				}
			}
			ciphers = keep
		}
	}
	if len(ciphers) == 0 {
		return nil
	}
	plan.cipher = ciphers[0]
	return plan
}

func containsByte(list []uint8, b uint8) bool {
	for _, v := range list {
		if v == b {
			return true
		}
	}
	return false
}

// fastWriter is the plaintext side of a message written by sealFast.
type fastWriter struct {
	sig      *asyncHash
	literal  *partialWriter
	seipd    *seipdWriter
	signKey  openpgp.Key
	intended []*packet.Recipient
	config   *packet.Config
	closed   bool
}

func sealFast(dst io.Writer, plan *fastPlan, secrets []string, fileName string, modTime time.Time, config *packet.Config) (io.WriteCloser, error) {
	config.DefaultCipher = plan.cipher
	for _, k := range plan.encKeys {
		if err := packet.SerializeEncryptedKeyAEADwithHiddenOption(dst, k.PublicKey, plan.cipher, false, plan.sessionKey, false, config); err != nil {
			return nil, err
		}
	}
	if err := writeSKESKs(dst, plan.sessionKey, secrets, config); err != nil {
		return nil, err
	}
	seipd, err := newSEIPDWriter(dst, plan.sessionKey, config.Random())
	if err != nil {
		return nil, err
	}
	ops := &packet.OnePassSignature{
		Version:    3,
		SigType:    packet.SigTypeBinary,
		Hash:       crypto.SHA256,
		PubKeyAlgo: plan.signKey.PublicKey.PubKeyAlgo,
		KeyId:      plan.signKey.PublicKey.KeyId,
		IsLast:     true,
	}
	if err := ops.Serialize(seipd); err != nil {
		seipd.abort()
		return nil, err
	}
	literal, err := newPartialWriter(seipd, 11)
	if err != nil {
		seipd.abort()
		return nil, err
	}
	// Literal data header: binary, file name, modification time.
	hdr := make([]byte, 0, 6+len(fileName))
	hdr = append(hdr, 'b', byte(len(fileName)))
	hdr = append(hdr, fileName...)
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(modTime.Unix()))
	if _, err := literal.Write(hdr); err != nil {
		seipd.abort()
		return nil, err
	}
	return &fastWriter{sig: newAsyncHash(sha256.New()), literal: literal, seipd: seipd, signKey: plan.signKey, intended: plan.intended, config: config}, nil
}

func (w *fastWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errors.New("seal: write after close")
	}
	w.sig.Feed(p)
	n, err := w.literal.Write(p)
	w.sig.Wait()
	return n, err
}

func (w *fastWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	h := w.sig.Sum()
	if err := w.literal.Close(); err != nil {
		w.seipd.abort()
		return err
	}
	pub := w.signKey.PublicKey
	lifetime := uint32(0)
	sig := &packet.Signature{
		Version:            pub.Version,
		SigType:            packet.SigTypeBinary,
		PubKeyAlgo:         pub.PubKeyAlgo,
		Hash:               crypto.SHA256,
		CreationTime:       w.config.Now(),
		IssuerKeyId:        &pub.KeyId,
		IssuerKeyVersion:   uint8(pub.Version),
		IssuerFingerprint:  pub.Fingerprint,
		SigLifetimeSecs:    &lifetime,
		IntendedRecipients: w.intended,
		Notations:          w.config.Notations(),
	}
	if err := sig.Sign(h, w.signKey.PrivateKey, w.config); err != nil {
		w.seipd.abort()
		return err
	}
	if err := sig.Serialize(w.seipd); err != nil {
		w.seipd.abort()
		return err
	}
	return w.seipd.Close()
}
