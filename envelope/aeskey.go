package envelope

// AES key expansion (FIPS-197 §5.2) into the byte layout AES-NI reads:
// round key r is bytes [16r, 16r+16). Used only by the assembly CFB loop,
// which needs the round keys themselves; crypto/aes keeps them private.

// sbox is the AES S-box, computed at start from its definition (inverse
// in GF(2^8), then the affine map) rather than typed in.
var sbox = func() (s [256]byte) {
	// p walks the field by multiplying by 3, q by dividing by 3, so q is
	// always p's inverse.
	p, q := byte(1), byte(1)
	for {
		p = p ^ (p << 1) ^ byte(int8(p)>>7)&0x1b
		q ^= q << 1
		q ^= q << 2
		q ^= q << 4
		q ^= byte(int8(q)>>7) & 0x09
		x := q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4)
		s[p] = x ^ 0x63
		if p == 1 {
			break
		}
	}
	s[0] = 0x63
	return s
}()

func rotl8(x byte, n uint) byte { return x<<n | x>>(8-n) }

// expandKey returns the encryption round keys of an AES key (16, 24 or 32
// bytes) and the number of rounds.
func expandKey(key []byte) ([]byte, int) {
	nk := len(key) / 4
	nr := nk + 6
	w := make([]byte, 16*(nr+1))
	copy(w, key)
	rcon := byte(1)
	var t [4]byte
	for i := nk; i < 4*(nr+1); i++ {
		copy(t[:], w[4*(i-1):4*i])
		switch {
		case i%nk == 0:
			t[0], t[1], t[2], t[3] = sbox[t[1]]^rcon, sbox[t[2]], sbox[t[3]], sbox[t[0]]
			rcon = rcon<<1 ^ byte(int8(rcon)>>7)&0x1b
		case nk > 6 && i%nk == 4:
			for k := range t {
				t[k] = sbox[t[k]]
			}
		}
		for k := 0; k < 4; k++ {
			w[4*i+k] = w[4*(i-nk)+k] ^ t[k]
		}
	}
	return w, nr
}
