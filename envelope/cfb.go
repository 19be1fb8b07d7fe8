package envelope

import (
	"crypto/cipher"
	"encoding/binary"
)

// cfbEncrypter is OpenPGP's CFB mode as used by SEIPD v1 (RFC 9580 §5.13.1):
// plain CFB with an all-zero IV and no resynchronisation. CFB encryption is
// sequential by nature, so this type only makes each step cheap: whole
// blocks are XORed a word at a time and fed straight back to the cipher.
type cfbEncrypter struct {
	b   cipher.Block
	asm *fastCFB // AES-NI loop for whole blocks, or nil
	ks  [16]byte // keystream for the current block = E(previous ciphertext)
	reg [16]byte // ciphertext of the current block so far
	pos int      // bytes of the current block already produced
}

func newCFBEncrypter(b cipher.Block, key []byte) *cfbEncrypter {
	if b.BlockSize() != 16 {
		panic("envelope: CFB needs a 128-bit block cipher")
	}
	c := &cfbEncrypter{b: b, asm: newFastCFB(key)}
	b.Encrypt(c.ks[:], c.reg[:]) // E(IV), IV = 0
	return c
}

// XORKeyStream encrypts src into dst (which may be the same slice).
func (c *cfbEncrypter) XORKeyStream(dst, src []byte) {
	dst = dst[:len(src)]
	for len(src) > 0 {
		if c.pos == 0 && c.asm != nil {
			n := c.asm.blocks(&c.ks, dst, src)
			dst, src = dst[n:], src[n:]
			if len(src) == 0 {
				return
			}
		}
		if c.pos == 0 {
			// Whole blocks: C = P ^ E(C_prev), next keystream = E(C).
			for len(src) >= 16 {
				x0 := binary.LittleEndian.Uint64(src[0:]) ^ binary.LittleEndian.Uint64(c.ks[0:])
				x1 := binary.LittleEndian.Uint64(src[8:]) ^ binary.LittleEndian.Uint64(c.ks[8:])
				binary.LittleEndian.PutUint64(dst[0:], x0)
				binary.LittleEndian.PutUint64(dst[8:], x1)
				c.b.Encrypt(c.ks[:], dst[:16])
				dst, src = dst[16:], src[16:]
			}
			if len(src) == 0 {
				return
			}
		}
		// A partial block: byte by byte until the block completes.
		n := 16 - c.pos
		if n > len(src) {
			n = len(src)
		}
		for i := 0; i < n; i++ {
			v := src[i] ^ c.ks[c.pos+i]
			c.reg[c.pos+i] = v
			dst[i] = v
		}
		c.pos += n
		dst, src = dst[n:], src[n:]
		if c.pos == 16 {
			c.b.Encrypt(c.ks[:], c.reg[:])
			c.pos = 0
		}
	}
}
