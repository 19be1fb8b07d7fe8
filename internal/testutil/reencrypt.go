package testutil

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// Reencrypt passes a signed message on as a recipient can: it decrypts msg
// with the armored secret key sec, keeps the signed packets untouched and
// encrypts them to the armored public key pub (SEIPD v1).
func Reencrypt(msg, sec, pub []byte) ([]byte, error) {
	secKey, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(sec))
	if err != nil {
		return nil, err
	}
	pubKey, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if err != nil {
		return nil, err
	}
	var in io.Reader = bytes.NewReader(msg)
	if blk, err := armor.Decode(bytes.NewReader(msg)); err == nil {
		in = blk.Body
	}
	r := packet.NewReader(in)
	var key []byte
	var cipher packet.CipherFunction
	for {
		p, err := r.Next()
		if err != nil {
			return nil, err
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			for _, k := range secKey[0].DecryptionKeys(p.KeyId, time.Time{}, nil) {
				if p.Decrypt(k.PrivateKey, nil) == nil {
					key, cipher = p.Key, p.CipherFunc
				}
			}
		case *packet.SymmetricallyEncrypted:
			if key == nil {
				return nil, errors.New("reencrypt: the secret key opens none of the key packets")
			}
			rc, err := p.Decrypt(cipher, key)
			if err != nil {
				return nil, err
			}
			inner, err := io.ReadAll(rc)
			if err != nil {
				return nil, err
			}
			if err := rc.Close(); err != nil {
				return nil, err
			}
			ek, err := pubKey[0].EncryptionKeyWithError(time.Now(), nil)
			if err != nil {
				return nil, err
			}
			nk := make([]byte, 32)
			if _, err := rand.Read(nk); err != nil {
				return nil, err
			}
			var out bytes.Buffer
			if err := packet.SerializeEncryptedKeyAEAD(&out, ek.PublicKey, packet.CipherAES256, false, nk, nil); err != nil {
				return nil, err
			}
			w, err := packet.SerializeSymmetricallyEncrypted(&out, packet.CipherAES256, false, packet.CipherSuite{}, nk, nil)
			if err != nil {
				return nil, err
			}
			if _, err := w.Write(inner); err != nil {
				return nil, err
			}
			if err := w.Close(); err != nil {
				return nil, err
			}
			return out.Bytes(), nil
		}
	}
}
