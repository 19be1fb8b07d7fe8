//go:build amd64 && !purego

package envelope

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// cfbBlocksAsm encrypts n whole blocks in CFB mode with AES-NI, keeping
// the round keys in registers across blocks: on entry *ks is E(previous
// ciphertext block); on return it is E(last ciphertext block). xk holds
// the round keys, 16-byte aligned; nr is 10 or 14.
//
//go:noescape
func cfbBlocksAsm(nr int, xk *byte, ks *[16]byte, dst, src *byte, n int)

// fastCFB holds round keys for the assembly loop, or nil where the CPU
// lacks AES-NI or the key size has no assembly path.
type fastCFB struct {
	nr int
	xk []byte // aligned view into buf
	bb []byte
}

func newFastCFB(key []byte) *fastCFB {
	if !cpu.X86.HasAES || (len(key) != 16 && len(key) != 32) {
		return nil
	}
	rk, nr := expandKey(key)
	buf := make([]byte, len(rk)+15)
	off := int((16 - uintptr(unsafe.Pointer(&buf[0]))&15) & 15)
	xk := buf[off : off+len(rk)]
	copy(xk, rk)
	return &fastCFB{nr: nr, xk: xk, bb: buf}
}

// blocks encrypts len(src)/16 whole blocks of src into dst.
func (f *fastCFB) blocks(ks *[16]byte, dst, src []byte) int {
	n := len(src) / 16
	if n == 0 {
		return 0
	}
	_ = dst[16*n-1]
	cfbBlocksAsm(f.nr, &f.xk[0], ks, &dst[0], &src[0], n)
	return 16 * n
}
