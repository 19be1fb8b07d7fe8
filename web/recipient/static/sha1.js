// sha1 is an incremental SHA-1 (FIPS 180-4), used only for the
// modification detection code of SEIPD v1 messages (RFC 9580 §5.13.1),
// which hashes the whole plaintext: WebCrypto digests only whole buffers.
// Checked against WebCrypto by browsertest/crypto.mjs.

// kernel, when set, runs the block function (kernels.js: WebAssembly).
let kernel = null;

/** useKernel makes runs of 4 blocks or more hash in k (kernels.js), or in JavaScript again with null. */
export function useKernel(k) {
  kernel = k;
}

/** SHA1 hashes bytes given in any number of update calls. */
export class SHA1 {
  constructor() {
    this.h = new Int32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
    this.w = new Int32Array(80);
    this.buf = new Uint8Array(64);
    this.fill = 0;
    this.length = 0; // bytes hashed so far
  }

  // blocks hashes n whole 64-byte blocks of bytes from offset off.
  blocks(bytes, off, n) {
    if (kernel !== null && n >= 4) {
      kernel.sha1(this.h, bytes, off, n);
      return;
    }
    const w = this.w;
    const h = this.h;
    let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4];
    for (let b = 0; b < n; b++, off += 64) {
      for (let i = 0; i < 16; i++) {
        const j = off + i * 4;
        w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
      }
      for (let i = 16; i < 80; i++) {
        const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
        w[i] = (x << 1) | (x >>> 31);
      }
      let a = h0, bb = h1, c = h2, d = h3, e = h4;
      for (let i = 0; i < 20; i++) {
        const t = (((a << 5) | (a >>> 27)) + ((bb & c) | (~bb & d)) + e + 0x5a827999 + w[i]) | 0;
        e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = t;
      }
      for (let i = 20; i < 40; i++) {
        const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0x6ed9eba1 + w[i]) | 0;
        e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = t;
      }
      for (let i = 40; i < 60; i++) {
        const t = (((a << 5) | (a >>> 27)) + ((bb & c) | (bb & d) | (c & d)) + e + 0x8f1bbcdc + w[i]) | 0;
        e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = t;
      }
      for (let i = 60; i < 80; i++) {
        const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0xca62c1d6 + w[i]) | 0;
        e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = t;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + bb) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0; h4 = (h4 + e) | 0;
    }
    h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4;
  }

  /** update adds bytes (a Uint8Array) to the hash. */
  update(bytes) {
    this.length += bytes.length;
    let off = 0;
    if (this.fill > 0) {
      const take = Math.min(64 - this.fill, bytes.length);
      this.buf.set(bytes.subarray(0, take), this.fill);
      this.fill += take;
      off = take;
      if (this.fill < 64) return;
      this.blocks(this.buf, 0, 1);
      this.fill = 0;
    }
    const n = (bytes.length - off) >> 6;
    if (n > 0) this.blocks(bytes, off, n);
    off += n * 64;
    if (off < bytes.length) {
      this.buf.set(bytes.subarray(off), 0);
      this.fill = bytes.length - off;
    }
  }

  /** digest finishes the hash and returns its 20 bytes. */
  digest() {
    const bits = this.length * 8;
    const pad = new Uint8Array((this.fill < 56 ? 64 : 128) - this.fill);
    pad[0] = 0x80;
    const view = new DataView(pad.buffer);
    view.setUint32(pad.length - 8, Math.floor(bits / 0x100000000));
    view.setUint32(pad.length - 4, bits >>> 0);
    const saved = this.length;
    this.update(pad);
    this.length = saved;
    const out = new Uint8Array(20);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < 5; i++) ov.setUint32(4 * i, this.h[i] >>> 0);
    return out;
  }
}
