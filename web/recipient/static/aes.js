// aes is the AES block cipher (FIPS 197), encryption direction only, and
// the OpenPGP CFB decryption built on it (RFC 9580 §5.13.1: SEIPD v1 is
// plain CFB with a zero IV). WebCrypto has no CFB, and CFB decryption
// cannot be built from its AES-CBC or AES-CTR, so a large document's
// symmetric layer runs here: table-driven, on 32-bit words read straight
// from memory (little-endian), with no allocation per block. Decryption
// only: nothing secret-dependent leaves the page, so the tables' cache
// timing is not an oracle anyone can query. Checked against WebCrypto's
// AES and OpenPGP.js by browsertest/crypto.mjs.

const SBOX = new Uint8Array(256);
// T holds the four round tables, S the S-box shifted into each byte of a
// word, 256 entries each in one array (one array is faster than four),
// for words whose byte 0 is in the low bits (kernels.js copies both).
export const T = new Int32Array(1024);
export const S = new Int32Array(1024);

// kernel, when set, runs whole-block CFB (kernels.js: WebAssembly).
let kernel = null;

/** useKernel makes CFB over 16 blocks or more run in k (kernels.js), or in JavaScript again with null. */
export function useKernel(k) {
  kernel = k;
}

// littleEndian is whether Int32Array views read bytes low byte first
// (every browser's hardware today); else blocks go one by one, by bytes.
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function xtime(b) {
  return ((b << 1) ^ (b & 0x80 ? 0x1b : 0)) & 0xff;
}

function swap(w) {
  return (w >>> 24) | ((w >>> 8) & 0xff00) | ((w << 8) & 0xff0000) | (w << 24);
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
    const w = ((s2 ^ s) << 24) | (s << 16) | (s << 8) | s2; // column (2s, s, s, 3s)
    for (let r = 0; r < 4; r++) {
      T[256 * r + i] = r ? (w << (8 * r)) | (w >>> (32 - 8 * r)) : w;
      S[256 * r + i] = s << (8 * r);
    }
  }
})();

function subWord(w) {
  return (SBOX[w >>> 24] << 24) | (SBOX[(w >>> 16) & 0xff] << 16) | (SBOX[(w >>> 8) & 0xff] << 8) | SBOX[w & 0xff];
}

/** expandKey returns the encryption round keys (big-endian words) of a 16, 24 or 32-byte AES key. */
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
 * in place with round keys rk (from expandKey).
 */
export function encryptBlock(rk, s) {
  const st = Int32Array.from(s, swap);
  const out = new Int32Array(4);
  wordsLoopLE(rk.map(swap), new Int32Array(4), out, st); // E(st) ^ 0
  for (let i = 0; i < 4; i++) s[i] = swap(out[i]);
}

/**
 * CFBDecrypter decrypts a CFB stream (zero IV unless iv is given) given in
 * chunks of any length.
 */
export class CFBDecrypter {
  constructor(key, iv = new Uint8Array(16)) {
    this.rk = expandKey(key).map(swap); // little-endian words
    this.prev = new Int32Array(4); // the last whole ciphertext block, little-endian words
    this.ks = new Int32Array(4); // keystream of the current block
    this.ksBytes = new Uint8Array(this.ks.buffer);
    this.cur = new Uint8Array(16); // ciphertext bytes of the current block
    this.pos = 16; // bytes of the current block used
    this.prev.set(words(iv));
  }

  // next computes the keystream of a new block from the previous ciphertext block.
  next() {
    const st = this.prev.slice();
    this.ks.fill(0);
    this.blocks(this.ks, this.ks, st); // E(prev) ^ 0, prev left as it was
    if (!littleEndian) for (let i = 0; i < 4; i++) this.ks[i] = swap(this.ks[i]);
    this.pos = 0;
  }

  // blocks runs CFB over whole blocks of little-endian words with state st.
  blocks(src, dst, st) {
    if (kernel !== null && src.length >= 64) kernel.cfb(this.rk, src, dst, st);
    else if (this.rk.length === 60) aes256(this.rk, src, dst, st);
    else wordsLoopLE(this.rk, src, dst, st);
  }

  // bytes decrypts src[i..end) one byte at a time into dst (block edges).
  bytes(src, dst, i, end) {
    for (; i < end; i++) {
      if (this.pos === 16) this.next();
      const c = src[i];
      dst[i] = c ^ this.ksBytes[this.pos];
      this.cur[this.pos++] = c;
      if (this.pos === 16) this.prev.set(words(this.cur));
    }
  }

  /**
   * decrypt decrypts src into dst at offset off (dst may be src itself
   * with off 0) and returns dst. Whole blocks go fastest when they start
   * on 4-byte boundaries in both.
   */
  decrypt(src, dst = new Uint8Array(src.length), off = 0) {
    const n = src.length;
    let i = 0;
    const out = off === 0 ? dst : dst.subarray(off, off + n);
    if (this.pos < 16) {
      i = Math.min(n, 16 - this.pos);
      this.bytes(src, out, 0, i);
    }
    const whole = (n - i) >> 4;
    if (littleEndian && whole > 0 && ((src.byteOffset + i) & 3) === 0 && ((out.byteOffset + i) & 3) === 0) {
      const w = whole * 4;
      this.blocks(new Int32Array(src.buffer, src.byteOffset + i, w), new Int32Array(out.buffer, out.byteOffset + i, w), this.prev);
      i += whole * 16;
    }
    if (i < n) this.bytes(src, out, i, n);
    return dst;
  }
}

// words reads 16 bytes as four little-endian words.
function words(b) {
  const w = new Int32Array(4);
  for (let i = 0; i < 4; i++) w[i] = b[4 * i] | (b[4 * i + 1] << 8) | (b[4 * i + 2] << 16) | (b[4 * i + 3] << 24);
  return w;
}

// wordsLoopLE is CFB decryption of whole little-endian blocks for any key
// size (rk little-endian); st holds the previous ciphertext block and is
// updated. src and dst may be the same array.
function wordsLoopLE(rk, src, dst, st) {
  const last = rk.length - 4;
  let p0 = st[0], p1 = st[1], p2 = st[2], p3 = st[3];
  for (let i = 0; i < src.length; i += 4) {
    let s0 = p0 ^ rk[0], s1 = p1 ^ rk[1], s2 = p2 ^ rk[2], s3 = p3 ^ rk[3];
    for (let k = 4; k < last; k += 4) {
      const t0 = T[s0 & 255] ^ T[256 | s1 >>> 8 & 255] ^ T[512 | s2 >>> 16 & 255] ^ T[768 | s3 >>> 24] ^ rk[k];
      const t1 = T[s1 & 255] ^ T[256 | s2 >>> 8 & 255] ^ T[512 | s3 >>> 16 & 255] ^ T[768 | s0 >>> 24] ^ rk[k + 1];
      const t2 = T[s2 & 255] ^ T[256 | s3 >>> 8 & 255] ^ T[512 | s0 >>> 16 & 255] ^ T[768 | s1 >>> 24] ^ rk[k + 2];
      const t3 = T[s3 & 255] ^ T[256 | s0 >>> 8 & 255] ^ T[512 | s1 >>> 16 & 255] ^ T[768 | s2 >>> 24] ^ rk[k + 3];
      s0 = t0; s1 = t1; s2 = t2; s3 = t3;
    }
    const k0 = (S[s0 & 255] | S[256 | s1 >>> 8 & 255] | S[512 | s2 >>> 16 & 255] | S[768 | s3 >>> 24]) ^ rk[last];
    const k1 = (S[s1 & 255] | S[256 | s2 >>> 8 & 255] | S[512 | s3 >>> 16 & 255] | S[768 | s0 >>> 24]) ^ rk[last + 1];
    const k2 = (S[s2 & 255] | S[256 | s3 >>> 8 & 255] | S[512 | s0 >>> 16 & 255] | S[768 | s1 >>> 24]) ^ rk[last + 2];
    const k3 = (S[s3 & 255] | S[256 | s0 >>> 8 & 255] | S[512 | s1 >>> 16 & 255] | S[768 | s2 >>> 24]) ^ rk[last + 3];
    p0 = src[i]; p1 = src[i + 1]; p2 = src[i + 2]; p3 = src[i + 3];
    dst[i] = p0 ^ k0; dst[i + 1] = p1 ^ k1; dst[i + 2] = p2 ^ k2; dst[i + 3] = p3 ^ k3;
  }
  st[0] = p0; st[1] = p1; st[2] = p2; st[3] = p3;
}

// aes256 is wordsLoopLE for AES-256 (what envelope seals with), its 14
// rounds written out and the round keys in locals: the fastest form in
// V8 (about 2× in node, 1.2× in Chromium; SpiderMonkey runs both alike).
function aes256(rk, src, dst, st) {
  let p0 = st[0], p1 = st[1], p2 = st[2], p3 = st[3];
  const r0 = rk[0], r1 = rk[1], r2 = rk[2], r3 = rk[3], r4 = rk[4], r5 = rk[5], r6 = rk[6], r7 = rk[7], r8 = rk[8], r9 = rk[9], r10 = rk[10], r11 = rk[11], r12 = rk[12], r13 = rk[13], r14 = rk[14], r15 = rk[15], r16 = rk[16], r17 = rk[17], r18 = rk[18], r19 = rk[19], r20 = rk[20], r21 = rk[21], r22 = rk[22], r23 = rk[23], r24 = rk[24], r25 = rk[25], r26 = rk[26], r27 = rk[27], r28 = rk[28], r29 = rk[29];
  const r30 = rk[30], r31 = rk[31], r32 = rk[32], r33 = rk[33], r34 = rk[34], r35 = rk[35], r36 = rk[36], r37 = rk[37], r38 = rk[38], r39 = rk[39], r40 = rk[40], r41 = rk[41], r42 = rk[42], r43 = rk[43], r44 = rk[44], r45 = rk[45], r46 = rk[46], r47 = rk[47], r48 = rk[48], r49 = rk[49], r50 = rk[50], r51 = rk[51], r52 = rk[52], r53 = rk[53], r54 = rk[54], r55 = rk[55], r56 = rk[56], r57 = rk[57], r58 = rk[58], r59 = rk[59];
  for (let i = 0; i < src.length; i += 4) {
    let s0 = p0 ^ r0, s1 = p1 ^ r1, s2 = p2 ^ r2, s3 = p3 ^ r3, t0, t1, t2, t3;
    t0 = T[s0 & 255] ^ T[256 | s1 >>> 8 & 255] ^ T[512 | s2 >>> 16 & 255] ^ T[768 | s3 >>> 24] ^ r4;
    t1 = T[s1 & 255] ^ T[256 | s2 >>> 8 & 255] ^ T[512 | s3 >>> 16 & 255] ^ T[768 | s0 >>> 24] ^ r5;
    t2 = T[s2 & 255] ^ T[256 | s3 >>> 8 & 255] ^ T[512 | s0 >>> 16 & 255] ^ T[768 | s1 >>> 24] ^ r6;
    t3 = T[s3 & 255] ^ T[256 | s0 >>> 8 & 255] ^ T[512 | s1 >>> 16 & 255] ^ T[768 | s2 >>> 24] ^ r7;
    s0 = T[t0 & 255] ^ T[256 | t1 >>> 8 & 255] ^ T[512 | t2 >>> 16 & 255] ^ T[768 | t3 >>> 24] ^ r8;
    s1 = T[t1 & 255] ^ T[256 | t2 >>> 8 & 255] ^ T[512 | t3 >>> 16 & 255] ^ T[768 | t0 >>> 24] ^ r9;
    s2 = T[t2 & 255] ^ T[256 | t3 >>> 8 & 255] ^ T[512 | t0 >>> 16 & 255] ^ T[768 | t1 >>> 24] ^ r10;
    s3 = T[t3 & 255] ^ T[256 | t0 >>> 8 & 255] ^ T[512 | t1 >>> 16 & 255] ^ T[768 | t2 >>> 24] ^ r11;
    t0 = T[s0 & 255] ^ T[256 | s1 >>> 8 & 255] ^ T[512 | s2 >>> 16 & 255] ^ T[768 | s3 >>> 24] ^ r12;
    t1 = T[s1 & 255] ^ T[256 | s2 >>> 8 & 255] ^ T[512 | s3 >>> 16 & 255] ^ T[768 | s0 >>> 24] ^ r13;
    t2 = T[s2 & 255] ^ T[256 | s3 >>> 8 & 255] ^ T[512 | s0 >>> 16 & 255] ^ T[768 | s1 >>> 24] ^ r14;
    t3 = T[s3 & 255] ^ T[256 | s0 >>> 8 & 255] ^ T[512 | s1 >>> 16 & 255] ^ T[768 | s2 >>> 24] ^ r15;
    s0 = T[t0 & 255] ^ T[256 | t1 >>> 8 & 255] ^ T[512 | t2 >>> 16 & 255] ^ T[768 | t3 >>> 24] ^ r16;
    s1 = T[t1 & 255] ^ T[256 | t2 >>> 8 & 255] ^ T[512 | t3 >>> 16 & 255] ^ T[768 | t0 >>> 24] ^ r17;
    s2 = T[t2 & 255] ^ T[256 | t3 >>> 8 & 255] ^ T[512 | t0 >>> 16 & 255] ^ T[768 | t1 >>> 24] ^ r18;
    s3 = T[t3 & 255] ^ T[256 | t0 >>> 8 & 255] ^ T[512 | t1 >>> 16 & 255] ^ T[768 | t2 >>> 24] ^ r19;
    t0 = T[s0 & 255] ^ T[256 | s1 >>> 8 & 255] ^ T[512 | s2 >>> 16 & 255] ^ T[768 | s3 >>> 24] ^ r20;
    t1 = T[s1 & 255] ^ T[256 | s2 >>> 8 & 255] ^ T[512 | s3 >>> 16 & 255] ^ T[768 | s0 >>> 24] ^ r21;
    t2 = T[s2 & 255] ^ T[256 | s3 >>> 8 & 255] ^ T[512 | s0 >>> 16 & 255] ^ T[768 | s1 >>> 24] ^ r22;
    t3 = T[s3 & 255] ^ T[256 | s0 >>> 8 & 255] ^ T[512 | s1 >>> 16 & 255] ^ T[768 | s2 >>> 24] ^ r23;
    s0 = T[t0 & 255] ^ T[256 | t1 >>> 8 & 255] ^ T[512 | t2 >>> 16 & 255] ^ T[768 | t3 >>> 24] ^ r24;
    s1 = T[t1 & 255] ^ T[256 | t2 >>> 8 & 255] ^ T[512 | t3 >>> 16 & 255] ^ T[768 | t0 >>> 24] ^ r25;
    s2 = T[t2 & 255] ^ T[256 | t3 >>> 8 & 255] ^ T[512 | t0 >>> 16 & 255] ^ T[768 | t1 >>> 24] ^ r26;
    s3 = T[t3 & 255] ^ T[256 | t0 >>> 8 & 255] ^ T[512 | t1 >>> 16 & 255] ^ T[768 | t2 >>> 24] ^ r27;
    t0 = T[s0 & 255] ^ T[256 | s1 >>> 8 & 255] ^ T[512 | s2 >>> 16 & 255] ^ T[768 | s3 >>> 24] ^ r28;
    t1 = T[s1 & 255] ^ T[256 | s2 >>> 8 & 255] ^ T[512 | s3 >>> 16 & 255] ^ T[768 | s0 >>> 24] ^ r29;
    t2 = T[s2 & 255] ^ T[256 | s3 >>> 8 & 255] ^ T[512 | s0 >>> 16 & 255] ^ T[768 | s1 >>> 24] ^ r30;
    t3 = T[s3 & 255] ^ T[256 | s0 >>> 8 & 255] ^ T[512 | s1 >>> 16 & 255] ^ T[768 | s2 >>> 24] ^ r31;
    s0 = T[t0 & 255] ^ T[256 | t1 >>> 8 & 255] ^ T[512 | t2 >>> 16 & 255] ^ T[768 | t3 >>> 24] ^ r32;
    s1 = T[t1 & 255] ^ T[256 | t2 >>> 8 & 255] ^ T[512 | t3 >>> 16 & 255] ^ T[768 | t0 >>> 24] ^ r33;
    s2 = T[t2 & 255] ^ T[256 | t3 >>> 8 & 255] ^ T[512 | t0 >>> 16 & 255] ^ T[768 | t1 >>> 24] ^ r34;
    s3 = T[t3 & 255] ^ T[256 | t0 >>> 8 & 255] ^ T[512 | t1 >>> 16 & 255] ^ T[768 | t2 >>> 24] ^ r35;
    t0 = T[s0 & 255] ^ T[256 | s1 >>> 8 & 255] ^ T[512 | s2 >>> 16 & 255] ^ T[768 | s3 >>> 24] ^ r36;
    t1 = T[s1 & 255] ^ T[256 | s2 >>> 8 & 255] ^ T[512 | s3 >>> 16 & 255] ^ T[768 | s0 >>> 24] ^ r37;
    t2 = T[s2 & 255] ^ T[256 | s3 >>> 8 & 255] ^ T[512 | s0 >>> 16 & 255] ^ T[768 | s1 >>> 24] ^ r38;
    t3 = T[s3 & 255] ^ T[256 | s0 >>> 8 & 255] ^ T[512 | s1 >>> 16 & 255] ^ T[768 | s2 >>> 24] ^ r39;
    s0 = T[t0 & 255] ^ T[256 | t1 >>> 8 & 255] ^ T[512 | t2 >>> 16 & 255] ^ T[768 | t3 >>> 24] ^ r40;
    s1 = T[t1 & 255] ^ T[256 | t2 >>> 8 & 255] ^ T[512 | t3 >>> 16 & 255] ^ T[768 | t0 >>> 24] ^ r41;
    s2 = T[t2 & 255] ^ T[256 | t3 >>> 8 & 255] ^ T[512 | t0 >>> 16 & 255] ^ T[768 | t1 >>> 24] ^ r42;
    s3 = T[t3 & 255] ^ T[256 | t0 >>> 8 & 255] ^ T[512 | t1 >>> 16 & 255] ^ T[768 | t2 >>> 24] ^ r43;
    t0 = T[s0 & 255] ^ T[256 | s1 >>> 8 & 255] ^ T[512 | s2 >>> 16 & 255] ^ T[768 | s3 >>> 24] ^ r44;
    t1 = T[s1 & 255] ^ T[256 | s2 >>> 8 & 255] ^ T[512 | s3 >>> 16 & 255] ^ T[768 | s0 >>> 24] ^ r45;
    t2 = T[s2 & 255] ^ T[256 | s3 >>> 8 & 255] ^ T[512 | s0 >>> 16 & 255] ^ T[768 | s1 >>> 24] ^ r46;
    t3 = T[s3 & 255] ^ T[256 | s0 >>> 8 & 255] ^ T[512 | s1 >>> 16 & 255] ^ T[768 | s2 >>> 24] ^ r47;
    s0 = T[t0 & 255] ^ T[256 | t1 >>> 8 & 255] ^ T[512 | t2 >>> 16 & 255] ^ T[768 | t3 >>> 24] ^ r48;
    s1 = T[t1 & 255] ^ T[256 | t2 >>> 8 & 255] ^ T[512 | t3 >>> 16 & 255] ^ T[768 | t0 >>> 24] ^ r49;
    s2 = T[t2 & 255] ^ T[256 | t3 >>> 8 & 255] ^ T[512 | t0 >>> 16 & 255] ^ T[768 | t1 >>> 24] ^ r50;
    s3 = T[t3 & 255] ^ T[256 | t0 >>> 8 & 255] ^ T[512 | t1 >>> 16 & 255] ^ T[768 | t2 >>> 24] ^ r51;
    t0 = T[s0 & 255] ^ T[256 | s1 >>> 8 & 255] ^ T[512 | s2 >>> 16 & 255] ^ T[768 | s3 >>> 24] ^ r52;
    t1 = T[s1 & 255] ^ T[256 | s2 >>> 8 & 255] ^ T[512 | s3 >>> 16 & 255] ^ T[768 | s0 >>> 24] ^ r53;
    t2 = T[s2 & 255] ^ T[256 | s3 >>> 8 & 255] ^ T[512 | s0 >>> 16 & 255] ^ T[768 | s1 >>> 24] ^ r54;
    t3 = T[s3 & 255] ^ T[256 | s0 >>> 8 & 255] ^ T[512 | s1 >>> 16 & 255] ^ T[768 | s2 >>> 24] ^ r55;
    const k0 = (S[t0 & 255] | S[256 | t1 >>> 8 & 255] | S[512 | t2 >>> 16 & 255] | S[768 | t3 >>> 24]) ^ r56;
    const k1 = (S[t1 & 255] | S[256 | t2 >>> 8 & 255] | S[512 | t3 >>> 16 & 255] | S[768 | t0 >>> 24]) ^ r57;
    const k2 = (S[t2 & 255] | S[256 | t3 >>> 8 & 255] | S[512 | t0 >>> 16 & 255] | S[768 | t1 >>> 24]) ^ r58;
    const k3 = (S[t3 & 255] | S[256 | t0 >>> 8 & 255] | S[512 | t1 >>> 16 & 255] | S[768 | t2 >>> 24]) ^ r59;
    p0 = src[i]; p1 = src[i + 1]; p2 = src[i + 2]; p3 = src[i + 3];
    dst[i] = p0 ^ k0; dst[i + 1] = p1 ^ k1; dst[i + 2] = p2 ^ k2; dst[i + 3] = p3 ^ k3;
  }
  st[0] = p0; st[1] = p1; st[2] = p2; st[3] = p3;
}
