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
// LT and LS are T0..T3 and the S-box shifted into each row, four tables
// of 256 in one array, for words read from memory on a little-endian
// machine (byte 0 in the low bits): one array is faster than four.
const LT = new Int32Array(1024);
const LS = new Int32Array(1024);

// littleEndian is whether Int32Array views read bytes low byte first
// (every browser's hardware today); else only the byte path runs.
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function swap(w) {
  return (w >>> 24) | ((w >>> 8) & 0xff00) | ((w << 8) & 0xff0000) | (w << 24);
}

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
    // The same columns with byte 0 in the low bits, for words read from
    // memory on a little-endian machine.
    const l = ((s2 ^ s) << 24) | (s << 16) | (s << 8) | s2;
    LT[i] = l;
    LT[256 + i] = (l << 8) | (l >>> 24);
    LT[512 + i] = (l << 16) | (l >>> 16);
    LT[768 + i] = (l << 24) | (l >>> 8);
    LS[i] = s;
    LS[256 + i] = s << 8;
    LS[512 + i] = s << 16;
    LS[768 + i] = s << 24;
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
    this.rkLE = this.rk.map(swap); // the round keys as little-endian words
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
    if (littleEndian && i + 16 <= n && ((src.byteOffset + i) & 3) === 0 && ((out.byteOffset + i) & 3) === 0) {
      const blocks = (n - i) >> 4;
      this.wordsLE(new Int32Array(src.buffer, src.byteOffset + i, blocks * 4), new Int32Array(out.buffer, out.byteOffset + i, blocks * 4));
      i += blocks * 16;
      if (i < n) this.bytes(src, out, i, n);
      return dst;
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

  // wordsLE decrypts whole blocks given as little-endian words (src and
  // dst may be the same array), without a byte load or store.
  wordsLE(src, dst) {
    const p = this.prev; // kept big-endian for the byte path
    const st = [swap(p[0]), swap(p[1]), swap(p[2]), swap(p[3])];
    if (this.rkLE.length === 60) aes256LE(this.rkLE, src, dst, st);
    else wordsLoopLE(this.rkLE, src, dst, st);
    for (let i = 0; i < 4; i++) p[i] = swap(st[i]);
  }
}

// wordsLoopLE is CFB decryption of whole little-endian blocks for any key
// size; st holds the previous ciphertext block and is updated.
function wordsLoopLE(rk, src, dst, st) {
  const last = rk.length - 4;
  let p0 = st[0], p1 = st[1], p2 = st[2], p3 = st[3];
  const n = src.length;
  for (let i = 0; i < n; i += 4) {
    let s0 = p0 ^ rk[0], s1 = p1 ^ rk[1], s2 = p2 ^ rk[2], s3 = p3 ^ rk[3];
    for (let k = 4; k < last; k += 4) {
      const t0 = LT[s0 & 255] ^ LT[256 | (s1 >>> 8) & 255] ^ LT[512 | (s2 >>> 16) & 255] ^ LT[768 | s3 >>> 24] ^ rk[k];
      const t1 = LT[s1 & 255] ^ LT[256 | (s2 >>> 8) & 255] ^ LT[512 | (s3 >>> 16) & 255] ^ LT[768 | s0 >>> 24] ^ rk[k + 1];
      const t2 = LT[s2 & 255] ^ LT[256 | (s3 >>> 8) & 255] ^ LT[512 | (s0 >>> 16) & 255] ^ LT[768 | s1 >>> 24] ^ rk[k + 2];
      const t3 = LT[s3 & 255] ^ LT[256 | (s0 >>> 8) & 255] ^ LT[512 | (s1 >>> 16) & 255] ^ LT[768 | s2 >>> 24] ^ rk[k + 3];
      s0 = t0; s1 = t1; s2 = t2; s3 = t3;
    }
    const k0 = (LS[s0 & 255] | LS[256 | (s1 >>> 8) & 255] | LS[512 | (s2 >>> 16) & 255] | LS[768 | s3 >>> 24]) ^ rk[last];
    const k1 = (LS[s1 & 255] | LS[256 | (s2 >>> 8) & 255] | LS[512 | (s3 >>> 16) & 255] | LS[768 | s0 >>> 24]) ^ rk[last + 1];
    const k2 = (LS[s2 & 255] | LS[256 | (s3 >>> 8) & 255] | LS[512 | (s0 >>> 16) & 255] | LS[768 | s1 >>> 24]) ^ rk[last + 2];
    const k3 = (LS[s3 & 255] | LS[256 | (s0 >>> 8) & 255] | LS[512 | (s1 >>> 16) & 255] | LS[768 | s2 >>> 24]) ^ rk[last + 3];
    p0 = src[i]; p1 = src[i + 1]; p2 = src[i + 2]; p3 = src[i + 3];
    dst[i] = p0 ^ k0; dst[i + 1] = p1 ^ k1; dst[i + 2] = p2 ^ k2; dst[i + 3] = p3 ^ k3;
  }
  st[0] = p0; st[1] = p1; st[2] = p2; st[3] = p3;
}

// aes256LE is wordsLoopLE for AES-256 (what envelope seals with), its 14
// rounds written out and the round keys in locals: about twice as fast in
// V8 as the loop.
function aes256LE(rk, src, dst, st) {
  let p0 = st[0], p1 = st[1], p2 = st[2], p3 = st[3];
  const r0 = rk[0], r1 = rk[1], r2 = rk[2], r3 = rk[3], r4 = rk[4], r5 = rk[5], r6 = rk[6], r7 = rk[7], r8 = rk[8], r9 = rk[9], r10 = rk[10], r11 = rk[11], r12 = rk[12], r13 = rk[13], r14 = rk[14], r15 = rk[15], r16 = rk[16], r17 = rk[17], r18 = rk[18], r19 = rk[19], r20 = rk[20], r21 = rk[21], r22 = rk[22], r23 = rk[23], r24 = rk[24], r25 = rk[25], r26 = rk[26], r27 = rk[27], r28 = rk[28], r29 = rk[29];
  const r30 = rk[30], r31 = rk[31], r32 = rk[32], r33 = rk[33], r34 = rk[34], r35 = rk[35], r36 = rk[36], r37 = rk[37], r38 = rk[38], r39 = rk[39], r40 = rk[40], r41 = rk[41], r42 = rk[42], r43 = rk[43], r44 = rk[44], r45 = rk[45], r46 = rk[46], r47 = rk[47], r48 = rk[48], r49 = rk[49], r50 = rk[50], r51 = rk[51], r52 = rk[52], r53 = rk[53], r54 = rk[54], r55 = rk[55], r56 = rk[56], r57 = rk[57], r58 = rk[58], r59 = rk[59];
  const n = src.length;
  for (let i = 0; i < n; i += 4) {
    let s0 = p0 ^ r0, s1 = p1 ^ r1, s2 = p2 ^ r2, s3 = p3 ^ r3, t0, t1, t2, t3;
    // round 1
    t0 = LT[s0 & 255] ^ LT[256 | (s1 >>> 8) & 255] ^ LT[512 | (s2 >>> 16) & 255] ^ LT[768 | s3 >>> 24] ^ r4;
    t1 = LT[s1 & 255] ^ LT[256 | (s2 >>> 8) & 255] ^ LT[512 | (s3 >>> 16) & 255] ^ LT[768 | s0 >>> 24] ^ r5;
    t2 = LT[s2 & 255] ^ LT[256 | (s3 >>> 8) & 255] ^ LT[512 | (s0 >>> 16) & 255] ^ LT[768 | s1 >>> 24] ^ r6;
    t3 = LT[s3 & 255] ^ LT[256 | (s0 >>> 8) & 255] ^ LT[512 | (s1 >>> 16) & 255] ^ LT[768 | s2 >>> 24] ^ r7;
    // round 2
    s0 = LT[t0 & 255] ^ LT[256 | (t1 >>> 8) & 255] ^ LT[512 | (t2 >>> 16) & 255] ^ LT[768 | t3 >>> 24] ^ r8;
    s1 = LT[t1 & 255] ^ LT[256 | (t2 >>> 8) & 255] ^ LT[512 | (t3 >>> 16) & 255] ^ LT[768 | t0 >>> 24] ^ r9;
    s2 = LT[t2 & 255] ^ LT[256 | (t3 >>> 8) & 255] ^ LT[512 | (t0 >>> 16) & 255] ^ LT[768 | t1 >>> 24] ^ r10;
    s3 = LT[t3 & 255] ^ LT[256 | (t0 >>> 8) & 255] ^ LT[512 | (t1 >>> 16) & 255] ^ LT[768 | t2 >>> 24] ^ r11;
    // round 3
    t0 = LT[s0 & 255] ^ LT[256 | (s1 >>> 8) & 255] ^ LT[512 | (s2 >>> 16) & 255] ^ LT[768 | s3 >>> 24] ^ r12;
    t1 = LT[s1 & 255] ^ LT[256 | (s2 >>> 8) & 255] ^ LT[512 | (s3 >>> 16) & 255] ^ LT[768 | s0 >>> 24] ^ r13;
    t2 = LT[s2 & 255] ^ LT[256 | (s3 >>> 8) & 255] ^ LT[512 | (s0 >>> 16) & 255] ^ LT[768 | s1 >>> 24] ^ r14;
    t3 = LT[s3 & 255] ^ LT[256 | (s0 >>> 8) & 255] ^ LT[512 | (s1 >>> 16) & 255] ^ LT[768 | s2 >>> 24] ^ r15;
    // round 4
    s0 = LT[t0 & 255] ^ LT[256 | (t1 >>> 8) & 255] ^ LT[512 | (t2 >>> 16) & 255] ^ LT[768 | t3 >>> 24] ^ r16;
    s1 = LT[t1 & 255] ^ LT[256 | (t2 >>> 8) & 255] ^ LT[512 | (t3 >>> 16) & 255] ^ LT[768 | t0 >>> 24] ^ r17;
    s2 = LT[t2 & 255] ^ LT[256 | (t3 >>> 8) & 255] ^ LT[512 | (t0 >>> 16) & 255] ^ LT[768 | t1 >>> 24] ^ r18;
    s3 = LT[t3 & 255] ^ LT[256 | (t0 >>> 8) & 255] ^ LT[512 | (t1 >>> 16) & 255] ^ LT[768 | t2 >>> 24] ^ r19;
    // round 5
    t0 = LT[s0 & 255] ^ LT[256 | (s1 >>> 8) & 255] ^ LT[512 | (s2 >>> 16) & 255] ^ LT[768 | s3 >>> 24] ^ r20;
    t1 = LT[s1 & 255] ^ LT[256 | (s2 >>> 8) & 255] ^ LT[512 | (s3 >>> 16) & 255] ^ LT[768 | s0 >>> 24] ^ r21;
    t2 = LT[s2 & 255] ^ LT[256 | (s3 >>> 8) & 255] ^ LT[512 | (s0 >>> 16) & 255] ^ LT[768 | s1 >>> 24] ^ r22;
    t3 = LT[s3 & 255] ^ LT[256 | (s0 >>> 8) & 255] ^ LT[512 | (s1 >>> 16) & 255] ^ LT[768 | s2 >>> 24] ^ r23;
    // round 6
    s0 = LT[t0 & 255] ^ LT[256 | (t1 >>> 8) & 255] ^ LT[512 | (t2 >>> 16) & 255] ^ LT[768 | t3 >>> 24] ^ r24;
    s1 = LT[t1 & 255] ^ LT[256 | (t2 >>> 8) & 255] ^ LT[512 | (t3 >>> 16) & 255] ^ LT[768 | t0 >>> 24] ^ r25;
    s2 = LT[t2 & 255] ^ LT[256 | (t3 >>> 8) & 255] ^ LT[512 | (t0 >>> 16) & 255] ^ LT[768 | t1 >>> 24] ^ r26;
    s3 = LT[t3 & 255] ^ LT[256 | (t0 >>> 8) & 255] ^ LT[512 | (t1 >>> 16) & 255] ^ LT[768 | t2 >>> 24] ^ r27;
    // round 7
    t0 = LT[s0 & 255] ^ LT[256 | (s1 >>> 8) & 255] ^ LT[512 | (s2 >>> 16) & 255] ^ LT[768 | s3 >>> 24] ^ r28;
    t1 = LT[s1 & 255] ^ LT[256 | (s2 >>> 8) & 255] ^ LT[512 | (s3 >>> 16) & 255] ^ LT[768 | s0 >>> 24] ^ r29;
    t2 = LT[s2 & 255] ^ LT[256 | (s3 >>> 8) & 255] ^ LT[512 | (s0 >>> 16) & 255] ^ LT[768 | s1 >>> 24] ^ r30;
    t3 = LT[s3 & 255] ^ LT[256 | (s0 >>> 8) & 255] ^ LT[512 | (s1 >>> 16) & 255] ^ LT[768 | s2 >>> 24] ^ r31;
    // round 8
    s0 = LT[t0 & 255] ^ LT[256 | (t1 >>> 8) & 255] ^ LT[512 | (t2 >>> 16) & 255] ^ LT[768 | t3 >>> 24] ^ r32;
    s1 = LT[t1 & 255] ^ LT[256 | (t2 >>> 8) & 255] ^ LT[512 | (t3 >>> 16) & 255] ^ LT[768 | t0 >>> 24] ^ r33;
    s2 = LT[t2 & 255] ^ LT[256 | (t3 >>> 8) & 255] ^ LT[512 | (t0 >>> 16) & 255] ^ LT[768 | t1 >>> 24] ^ r34;
    s3 = LT[t3 & 255] ^ LT[256 | (t0 >>> 8) & 255] ^ LT[512 | (t1 >>> 16) & 255] ^ LT[768 | t2 >>> 24] ^ r35;
    // round 9
    t0 = LT[s0 & 255] ^ LT[256 | (s1 >>> 8) & 255] ^ LT[512 | (s2 >>> 16) & 255] ^ LT[768 | s3 >>> 24] ^ r36;
    t1 = LT[s1 & 255] ^ LT[256 | (s2 >>> 8) & 255] ^ LT[512 | (s3 >>> 16) & 255] ^ LT[768 | s0 >>> 24] ^ r37;
    t2 = LT[s2 & 255] ^ LT[256 | (s3 >>> 8) & 255] ^ LT[512 | (s0 >>> 16) & 255] ^ LT[768 | s1 >>> 24] ^ r38;
    t3 = LT[s3 & 255] ^ LT[256 | (s0 >>> 8) & 255] ^ LT[512 | (s1 >>> 16) & 255] ^ LT[768 | s2 >>> 24] ^ r39;
    // round 10
    s0 = LT[t0 & 255] ^ LT[256 | (t1 >>> 8) & 255] ^ LT[512 | (t2 >>> 16) & 255] ^ LT[768 | t3 >>> 24] ^ r40;
    s1 = LT[t1 & 255] ^ LT[256 | (t2 >>> 8) & 255] ^ LT[512 | (t3 >>> 16) & 255] ^ LT[768 | t0 >>> 24] ^ r41;
    s2 = LT[t2 & 255] ^ LT[256 | (t3 >>> 8) & 255] ^ LT[512 | (t0 >>> 16) & 255] ^ LT[768 | t1 >>> 24] ^ r42;
    s3 = LT[t3 & 255] ^ LT[256 | (t0 >>> 8) & 255] ^ LT[512 | (t1 >>> 16) & 255] ^ LT[768 | t2 >>> 24] ^ r43;
    // round 11
    t0 = LT[s0 & 255] ^ LT[256 | (s1 >>> 8) & 255] ^ LT[512 | (s2 >>> 16) & 255] ^ LT[768 | s3 >>> 24] ^ r44;
    t1 = LT[s1 & 255] ^ LT[256 | (s2 >>> 8) & 255] ^ LT[512 | (s3 >>> 16) & 255] ^ LT[768 | s0 >>> 24] ^ r45;
    t2 = LT[s2 & 255] ^ LT[256 | (s3 >>> 8) & 255] ^ LT[512 | (s0 >>> 16) & 255] ^ LT[768 | s1 >>> 24] ^ r46;
    t3 = LT[s3 & 255] ^ LT[256 | (s0 >>> 8) & 255] ^ LT[512 | (s1 >>> 16) & 255] ^ LT[768 | s2 >>> 24] ^ r47;
    // round 12
    s0 = LT[t0 & 255] ^ LT[256 | (t1 >>> 8) & 255] ^ LT[512 | (t2 >>> 16) & 255] ^ LT[768 | t3 >>> 24] ^ r48;
    s1 = LT[t1 & 255] ^ LT[256 | (t2 >>> 8) & 255] ^ LT[512 | (t3 >>> 16) & 255] ^ LT[768 | t0 >>> 24] ^ r49;
    s2 = LT[t2 & 255] ^ LT[256 | (t3 >>> 8) & 255] ^ LT[512 | (t0 >>> 16) & 255] ^ LT[768 | t1 >>> 24] ^ r50;
    s3 = LT[t3 & 255] ^ LT[256 | (t0 >>> 8) & 255] ^ LT[512 | (t1 >>> 16) & 255] ^ LT[768 | t2 >>> 24] ^ r51;
    // round 13
    t0 = LT[s0 & 255] ^ LT[256 | (s1 >>> 8) & 255] ^ LT[512 | (s2 >>> 16) & 255] ^ LT[768 | s3 >>> 24] ^ r52;
    t1 = LT[s1 & 255] ^ LT[256 | (s2 >>> 8) & 255] ^ LT[512 | (s3 >>> 16) & 255] ^ LT[768 | s0 >>> 24] ^ r53;
    t2 = LT[s2 & 255] ^ LT[256 | (s3 >>> 8) & 255] ^ LT[512 | (s0 >>> 16) & 255] ^ LT[768 | s1 >>> 24] ^ r54;
    t3 = LT[s3 & 255] ^ LT[256 | (s0 >>> 8) & 255] ^ LT[512 | (s1 >>> 16) & 255] ^ LT[768 | s2 >>> 24] ^ r55;
    // round 14: no MixColumns
    const k0 = (LS[t0 & 255] | LS[256 | (t1 >>> 8) & 255] | LS[512 | (t2 >>> 16) & 255] | LS[768 | t3 >>> 24]) ^ r56;
    const k1 = (LS[t1 & 255] | LS[256 | (t2 >>> 8) & 255] | LS[512 | (t3 >>> 16) & 255] | LS[768 | t0 >>> 24]) ^ r57;
    const k2 = (LS[t2 & 255] | LS[256 | (t3 >>> 8) & 255] | LS[512 | (t0 >>> 16) & 255] | LS[768 | t1 >>> 24]) ^ r58;
    const k3 = (LS[t3 & 255] | LS[256 | (t0 >>> 8) & 255] | LS[512 | (t1 >>> 16) & 255] | LS[768 | t2 >>> 24]) ^ r59;
    p0 = src[i]; p1 = src[i + 1]; p2 = src[i + 2]; p3 = src[i + 3];
    dst[i] = p0 ^ k0; dst[i + 1] = p1 ^ k1; dst[i + 2] = p2 ^ k2; dst[i + 3] = p3 ^ k3;
  }
  st[0] = p0; st[1] = p1; st[2] = p2; st[3] = p3;
}
