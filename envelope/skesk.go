package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
)

// A message for several link-mode recipients carries one v4 SKESK packet
// per link secret, all around the same session key. A v4 SKESK is not
// authenticated: a reader holding secret B tries the packet of secret A
// first, and what it decrypts there is random — but in about 1 case in 20
// its first byte names a real cipher, and gpg or go-crypto then tries the
// wrong key on the data and stops with "bad key" instead of going on to
// the next packet. The sender holds every secret, so writeSKESKs checks
// each packet against every other secret and makes it again (new salt)
// until no other secret decrypts it to a plausible cipher.

// maxSKESKTries bounds the remakes of one packet; each try has odds of
// about 14/256 per other secret of needing another.
const maxSKESKTries = 64

// writeSKESKs writes one v4 SKESK packet per secret around sessionKey.
// A first try draws its salt from config's randomness, as go-crypto's
// writer does; a packet made again draws from crypto/rand, so that the
// rest of the message uses config's randomness as the writer would.
func writeSKESKs(dst io.Writer, sessionKey []byte, secrets []string, config *packet.Config) error {
	again := *config
	again.Rand = rand.Reader
	for i, secret := range secrets {
		var buf bytes.Buffer
		for try := 0; ; try++ {
			if try == maxSKESKTries {
				return errors.New("link secrets: cannot make an unambiguous key packet")
			}
			c := config
			if try > 0 {
				c = &again
			}
			buf.Reset()
			if err := packet.SerializeSymmetricKeyEncryptedReuseKey(&buf, sessionKey, []byte(secret), c); err != nil {
				return err
			}
			if len(secrets) == 1 {
				break
			}
			ok, err := unambiguousSKESK(buf.Bytes(), secrets, i)
			if err != nil {
				return err
			}
			if ok {
				break
			}
		}
		if _, err := dst.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// unambiguousSKESK reports whether no secret but secrets[own] decrypts
// the serialized v4 SKESK pkt to a first byte that names a cipher (0 to
// 13, every algorithm OpenPGP registers up to Camellia).
func unambiguousSKESK(pkt []byte, secrets []string, own int) (bool, error) {
	body, err := skeskBody(pkt)
	if err != nil {
		return false, err
	}
	if len(body) < 2 || body[0] != 4 {
		return false, errors.New("link secrets: not a v4 key packet")
	}
	kekCipher := packet.CipherFunction(body[1])
	if kekCipher != packet.CipherAES128 && kekCipher != packet.CipherAES256 {
		return false, fmt.Errorf("link secrets: key packet cipher %d", kekCipher)
	}
	r := bytes.NewReader(body[2:])
	derive, err := s2k.Parse(r)
	if err != nil {
		return false, fmt.Errorf("link secrets: %w", err)
	}
	esk := make([]byte, r.Len())
	r.Read(esk)
	if len(esk) == 0 {
		return false, errors.New("link secrets: key packet without a session key")
	}
	for j, other := range secrets {
		if j == own {
			continue
		}
		kek := make([]byte, kekCipher.KeySize())
		derive(kek, []byte(other))
		block, err := aes.NewCipher(kek)
		if err != nil {
			return false, err
		}
		// The packet's CFB uses a zero IV: its first plaintext byte is the
		// first byte of AES(0) XOR the first encrypted byte.
		var ks [16]byte
		block.Encrypt(ks[:], make([]byte, block.BlockSize()))
		if ks[0]^esk[0] <= 13 {
			return false, nil
		}
	}
	return true, nil
}

// skeskBody returns the body of one new-format packet of tag 3 with a
// one- or two-octet length, as go-crypto serializes an SKESK.
func skeskBody(pkt []byte) ([]byte, error) {
	if len(pkt) < 2 || pkt[0] != 0xC3 {
		return nil, errors.New("link secrets: not a key packet")
	}
	n, off := int(pkt[1]), 2
	switch {
	case n >= 192 && n < 224:
		if len(pkt) < 3 {
			return nil, errors.New("link secrets: short key packet")
		}
		n, off = (n-192)<<8+int(pkt[2])+192, 3
	case n >= 224:
		return nil, errors.New("link secrets: unexpected packet length")
	}
	if len(pkt) != off+n {
		return nil, errors.New("link secrets: key packet length")
	}
	return pkt[off:], nil
}
