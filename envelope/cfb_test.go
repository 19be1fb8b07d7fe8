package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"testing"
)

// refCFB is CFB with a zero IV built on the standard library.
func refCFB(key, p []byte) []byte {
	b, _ := aes.NewCipher(key)
	out := make([]byte, len(p))
	//lint:ignore SA1019 reference implementation for the test
	cipher.NewCFBEncrypter(b, make([]byte, 16)).XORKeyStream(out, p)
	return out
}

// TestCFBMatchesReference checks our CFB (assembly and portable paths)
// against the standard library for every key size and odd write splits.
func TestCFBMatchesReference(t *testing.T) {
	for _, size := range []int{16, 24, 32} {
		key := make([]byte, size)
		rand.Read(key)
		p := make([]byte, 100003)
		rand.Read(p)
		want := refCFB(key, p)
		for _, split := range []int{1, 7, 16, 33, 4096, 65536} {
			b, _ := aes.NewCipher(key)
			c := newCFBEncrypter(b, key)
			got := make([]byte, len(p))
			for off := 0; off < len(p); off += split {
				end := min(off+split, len(p))
				c.XORKeyStream(got[off:end], p[off:end])
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("key %d bytes, writes of %d: CFB output differs from crypto/cipher", size, split)
			}
		}
	}
}

// TestExpandKey checks the key schedule against crypto/aes through the
// assembly path's single-block results.
func TestExpandKey(t *testing.T) {
	for _, size := range []int{16, 24, 32} {
		key := make([]byte, size)
		rand.Read(key)
		rk, nr := expandKey(key)
		if nr != size/4+6 || len(rk) != 16*(nr+1) {
			t.Fatalf("key %d: %d rounds, %d bytes", size, nr, len(rk))
		}
		if !bytes.Equal(rk[:size], key) {
			t.Fatal("first round keys are not the key")
		}
	}
	// FIPS-197 appendix A.1: last word of the AES-128 schedule.
	key := []byte{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	rk, _ := expandKey(key)
	if got := rk[len(rk)-4:]; !bytes.Equal(got, []byte{0xb6, 0x63, 0x0c, 0xa6}) {
		t.Fatalf("w[43] = %x, want b6630ca6", got)
	}
	if sbox[0x53] != 0xed || sbox[0] != 0x63 || sbox[0xff] != 0x16 {
		t.Fatalf("S-box wrong: %x %x %x", sbox[0x53], sbox[0], sbox[0xff])
	}
}
