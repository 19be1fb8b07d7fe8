// aes is the AES block cipher (FIPS 197), encryption direction only, and
// the OpenPGP CFB decryption built on it (RFC 9580 §5.13.1: SEIPD v1 is
// plain CFB with a zero IV). WebCrypto has no CFB, and CFB decryption
// cannot be built from its AES-CBC or AES-CTR, so a large document's
// symmetric layer runs here: table-driven, on 32-bit words, with no
// allocation per block. Decryption only: nothing secret-dependent leaves
// the page, so the tables' cache timing is not an oracle anyone can query.
// Checked against WebCrypto's AES and OpenPGP.js by browsertest/crypto.mjs.

const SBOX = new Uint8Array(256);
const T0 = new Int32Array(256);
const T1 = new Int32Array(256);
const T2 = new Int32Array(256);
const T3 = new Int32Array(256);

function xtime(b) {
  return ((b << 1) ^ (b & 0x80 ? 0x1b : 0)) & 0xff;
}

(function tables() {
  // The S-box from the multiplicative inverse in GF(2^8) and the affine
  // map: p walks the field by ×3, q by ×3⁻¹, so q = p⁻¹ at each step.
  const rotl8 = (x, n) => ((x << n) | (x >>> (8 - n))) & 0xff;
  let p = 1;
  let q = 1;
  do {
    p = p ^ xtime(p);
    q ^= q << 1;
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    SBOX[p] = q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4) ^ 0x63;
  } while (p !== 1);
  SBOX[0] = 0x63;
  for (let i = 0; i < 256; i++) {
    const s = SBOX[i];
    const s2 = xtime(s);
    const w = (s2 << 24) | (s << 16) | (s << 8) | (s2 ^ s);
    T0[i] = w;
    T1[i] = (w >>> 8) | (w << 24);
    T2[i] = (w >>> 16) | (w << 16);
    T3[i] = (w >>> 24) | (w << 8);
  }
})();

function subWord(w) {
  return (SBOX[w >>> 24] << 24) | (SBOX[(w >>> 16) & 0xff] << 16) | (SBOX[(w >>> 8) & 0xff] << 8) | SBOX[w & 0xff];
}

/** expandKey returns the encryption round keys of a 16, 24 or 32-byte AES key. */
export function expandKey(key) {
  const nk = key.length / 4;
  if (nk !== 4 && nk !== 6 && nk !== 8) throw new Error("AES key of " + key.length + " bytes");
  const total = 4 * (nk + 7);
  const w = new Int32Array(total);
  for (let i = 0; i < nk; i++) {
    w[i] = (key[4 * i] << 24) | (key[4 * i + 1] << 16) | (key[4 * i + 2] << 8) | key[4 * i + 3];
  }
  let rcon = 1;
  for (let i = nk; i < total; i++) {
    let t = w[i - 1];
    if (i % nk === 0) {
      t = subWord((t << 8) | (t >>> 24)) ^ (rcon << 24);
      rcon = xtime(rcon);
    } else if (nk > 6 && i % nk === 4) {
      t = subWord(t);
    }
    w[i] = w[i - nk] ^ t;
  }
  return w;
}

/**
 * encryptBlock encrypts the four big-endian words s (an Int32Array of 4)
 * in place with round keys rk.
 */
export function encryptBlock(rk, s) {
  let s0 = s[0] ^ rk[0];
  let s1 = s[1] ^ rk[1];
  let s2 = s[2] ^ rk[2];
  let s3 = s[3] ^ rk[3];
  const rounds = (rk.length >> 2) - 1;
  let k = 4;
  for (let r = 1; r < rounds; r++, k += 4) {
    const t0 = T0[s0 >>> 24] ^ T1[(s1 >>> 16) & 0xff] ^ T2[(s2 >>> 8) & 0xff] ^ T3[s3 & 0xff] ^ rk[k];
    const t1 = T0[s1 >>> 24] ^ T1[(s2 >>> 16) & 0xff] ^ T2[(s3 >>> 8) & 0xff] ^ T3[s0 & 0xff] ^ rk[k + 1];
    const t2 = T0[s2 >>> 24] ^ T1[(s3 >>> 16) & 0xff] ^ T2[(s0 >>> 8) & 0xff] ^ T3[s1 & 0xff] ^ rk[k + 2];
    const t3 = T0[s3 >>> 24] ^ T1[(s0 >>> 16) & 0xff] ^ T2[(s1 >>> 8) & 0xff] ^ T3[s2 & 0xff] ^ rk[k + 3];
    s0 = t0; s1 = t1; s2 = t2; s3 = t3;
  }
  s[0] = ((SBOX[s0 >>> 24] << 24) | (SBOX[(s1 >>> 16) & 0xff] << 16) | (SBOX[(s2 >>> 8) & 0xff] << 8) | SBOX[s3 & 0xff]) ^ rk[k];
  s[1] = ((SBOX[s1 >>> 24] << 24) | (SBOX[(s2 >>> 16) & 0xff] << 16) | (SBOX[(s3 >>> 8) & 0xff] << 8) | SBOX[s0 & 0xff]) ^ rk[k + 1];
  s[2] = ((SBOX[s2 >>> 24] << 24) | (SBOX[(s3 >>> 16) & 0xff] << 16) | (SBOX[(s0 >>> 8) & 0xff] << 8) | SBOX[s1 & 0xff]) ^ rk[k + 2];
  s[3] = ((SBOX[s3 >>> 24] << 24) | (SBOX[(s0 >>> 16) & 0xff] << 16) | (SBOX[(s1 >>> 8) & 0xff] << 8) | SBOX[s2 & 0xff]) ^ rk[k + 3];
}

/**
 * CFBDecrypter decrypts a CFB stream (zero IV unless iv is given) given in
 * chunks of any length.
 */
export class CFBDecrypter {
  constructor(key, iv = new Uint8Array(16)) {
    this.rk = expandKey(key);
    this.prev = new Int32Array(4); // the last whole ciphertext block
    this.ks = new Int32Array(4); // keystream of the current block
    this.ksBytes = new Uint8Array(16);
    this.cur = new Uint8Array(16); // ciphertext bytes of the current block
    this.pos = 16; // bytes of the current block used
    for (let i = 0; i < 4; i++) {
      this.prev[i] = (iv[4 * i] << 24) | (iv[4 * i + 1] << 16) | (iv[4 * i + 2] << 8) | iv[4 * i + 3];
    }
  }

  // next computes the keystream of a new block from the previous ciphertext block.
  next() {
    const ks = this.ks;
    ks.set(this.prev);
    encryptBlock(this.rk, ks);
    for (let i = 0; i < 4; i++) {
      const w = ks[i];
      this.ksBytes[4 * i] = w >>> 24;
      this.ksBytes[4 * i + 1] = w >>> 16;
      this.ksBytes[4 * i + 2] = w >>> 8;
      this.ksBytes[4 * i + 3] = w;
    }
    this.pos = 0;
  }

  // bytes decrypts src[i..end) one byte at a time into dst (block edges).
  bytes(src, dst, i, end) {
    for (; i < end; i++) {
      if (this.pos === 16) this.next();
      const c = src[i];
      dst[i] = c ^ this.ksBytes[this.pos];
      this.cur[this.pos++] = c;
      if (this.pos === 16) {
        const b = this.cur;
        for (let j = 0; j < 4; j++) this.prev[j] = (b[4 * j] << 24) | (b[4 * j + 1] << 16) | (b[4 * j + 2] << 8) | b[4 * j + 3];
      }
    }
  }

  /**
   * decrypt decrypts src into dst at offset off (dst may be src itself
   * with off 0) and returns dst.
   */
  decrypt(src, dst = new Uint8Array(src.length), off = 0) {
    const n = src.length;
    let i = 0;
    const out = off === 0 ? dst : dst.subarray(off, off + n);
    if (this.pos < 16) {
      const end = Math.min(n, i + 16 - this.pos);
      this.bytes(src, out, i, end);
      i = end;
    }
    const rk = this.rk;
    const rounds = (rk.length >> 2) - 1;
    const last = rk.length - 4;
    const p = this.prev;
    let p0 = p[0], p1 = p[1], p2 = p[2], p3 = p[3];
    for (; i + 16 <= n; i += 16) {
      // One AES encryption of the previous ciphertext block, inlined.
      let s0 = p0 ^ rk[0], s1 = p1 ^ rk[1], s2 = p2 ^ rk[2], s3 = p3 ^ rk[3];
      let k = 4;
      for (let r = 1; r < rounds; r++, k += 4) {
        const t0 = T0[s0 >>> 24] ^ T1[(s1 >>> 16) & 0xff] ^ T2[(s2 >>> 8) & 0xff] ^ T3[s3 & 0xff] ^ rk[k];
        const t1 = T0[s1 >>> 24] ^ T1[(s2 >>> 16) & 0xff] ^ T2[(s3 >>> 8) & 0xff] ^ T3[s0 & 0xff] ^ rk[k + 1];
        const t2 = T0[s2 >>> 24] ^ T1[(s3 >>> 16) & 0xff] ^ T2[(s0 >>> 8) & 0xff] ^ T3[s1 & 0xff] ^ rk[k + 2];
        const t3 = T0[s3 >>> 24] ^ T1[(s0 >>> 16) & 0xff] ^ T2[(s1 >>> 8) & 0xff] ^ T3[s2 & 0xff] ^ rk[k + 3];
        s0 = t0; s1 = t1; s2 = t2; s3 = t3;
      }
      const k0 = ((SBOX[s0 >>> 24] << 24) | (SBOX[(s1 >>> 16) & 0xff] << 16) | (SBOX[(s2 >>> 8) & 0xff] << 8) | SBOX[s3 & 0xff]) ^ rk[last];
      const k1 = ((SBOX[s1 >>> 24] << 24) | (SBOX[(s2 >>> 16) & 0xff] << 16) | (SBOX[(s3 >>> 8) & 0xff] << 8) | SBOX[s0 & 0xff]) ^ rk[last + 1];
      const k2 = ((SBOX[s2 >>> 24] << 24) | (SBOX[(s3 >>> 16) & 0xff] << 16) | (SBOX[(s0 >>> 8) & 0xff] << 8) | SBOX[s1 & 0xff]) ^ rk[last + 2];
      const k3 = ((SBOX[s3 >>> 24] << 24) | (SBOX[(s0 >>> 16) & 0xff] << 16) | (SBOX[(s1 >>> 8) & 0xff] << 8) | SBOX[s2 & 0xff]) ^ rk[last + 3];
      p0 = (src[i] << 24) | (src[i + 1] << 16) | (src[i + 2] << 8) | src[i + 3];
      p1 = (src[i + 4] << 24) | (src[i + 5] << 16) | (src[i + 6] << 8) | src[i + 7];
      p2 = (src[i + 8] << 24) | (src[i + 9] << 16) | (src[i + 10] << 8) | src[i + 11];
      p3 = (src[i + 12] << 24) | (src[i + 13] << 16) | (src[i + 14] << 8) | src[i + 15];
      const o0 = p0 ^ k0, o1 = p1 ^ k1, o2 = p2 ^ k2, o3 = p3 ^ k3;
      out[i] = o0 >>> 24; out[i + 1] = o0 >>> 16; out[i + 2] = o0 >>> 8; out[i + 3] = o0;
      out[i + 4] = o1 >>> 24; out[i + 5] = o1 >>> 16; out[i + 6] = o1 >>> 8; out[i + 7] = o1;
      out[i + 8] = o2 >>> 24; out[i + 9] = o2 >>> 16; out[i + 10] = o2 >>> 8; out[i + 11] = o2;
      out[i + 12] = o3 >>> 24; out[i + 13] = o3 >>> 16; out[i + 14] = o3 >>> 8; out[i + 15] = o3;
    }
    p[0] = p0; p[1] = p1; p[2] = p2; p[3] = p3;
    if (i < n) this.bytes(src, out, i, n);
    return dst;
  }
}
