// harness times the recipient page's JavaScript passes (aes.js, sha1.js,
// sha256.js, copied next to it by bench/web-wasm.sh) against kernels.wasm
// over the same bytes, after checking that both give the same result. It
// runs in node and in the browsers (index.html); run(wasmBytes, mib)
// resolves to one line per measurement.

import { CFBDecrypter, expandKey } from "./aes.js";
import { SHA1 } from "./sha1.js";
import { SHA256 } from "./sha256.js";
import { K } from "./k256.js"; // sha256.js's constants, extracted by bench/web-wasm.sh

const chunk = 1 << 20;

function xtime(b) {
  return ((b << 1) ^ (b & 0x80 ? 0x1b : 0)) & 0xff;
}

// tables writes the AES round tables as aes.js builds them (T: the
// column (2s, s, s, 3s) rotated per byte; S: the S-box in each byte).
function tables(T, S) {
  const sbox = new Uint8Array(256);
  const rotl8 = (x, n) => ((x << n) | (x >>> (8 - n))) & 0xff;
  let p = 1;
  let q = 1;
  do {
    p ^= xtime(p);
    q ^= q << 1;
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    sbox[p] = q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4) ^ 0x63;
  } while (p !== 1);
  sbox[0] = 0x63;
  for (let i = 0; i < 256; i++) {
    const s = sbox[i];
    const w = ((xtime(s) ^ s) << 24) | (s << 16) | (s << 8) | xtime(s);
    for (let r = 0; r < 4; r++) {
      T[256 * r + i] = r ? (w << (8 * r)) | (w >>> (32 - 8 * r)) : w;
      S[256 * r + i] = s << (8 * r);
    }
  }
}

function random(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

const hex = (words) => Array.from(words, (x) => (x >>> 0).toString(16).padStart(8, "0")).join("");
const swap = (w) => (w >>> 24) | ((w >>> 8) & 0xff00) | ((w << 8) & 0xff0000) | (w << 24);

/** run checks and times each pass over mib MiB, in 1 MiB calls. */
export async function run(wasmBytes, mib) {
  const { instance } = await WebAssembly.instantiate(wasmBytes);
  const k = instance.exports;
  if (k.data_cap() < chunk) throw new Error("kernels.wasm holds less than 1 MiB");
  const u32 = (p, n) => new Uint32Array(k.memory.buffer, p, n);
  const data = new Uint8Array(k.memory.buffer, k.data_ptr(), chunk);
  tables(u32(k.t_ptr(), 1024), u32(k.s_ptr(), 1024));
  u32(k.k256_ptr(), 64).set(K);
  const key = random(32);
  u32(k.rk_ptr(), 60).set(expandKey(key).map(swap));
  const ct = random(chunk);
  const lines = [];

  // Same results first.
  const a = ct.slice();
  new CFBDecrypter(key).decrypt(a, a);
  u32(k.st_ptr(), 4).fill(0);
  data.set(ct);
  if (k.cfb_decrypt(8, chunk / 16) !== 0) throw new Error("cfb_decrypt refused");
  if (a.some((v, i) => v !== data[i])) throw new Error("AES-CFB: kernels.wasm differs from aes.js");
  const sha1Init = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const sha256Init = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const wasmHash = (init, fn) => {
    const h = u32(k.h_ptr(), 8);
    h.set(init);
    data.set(ct);
    if (fn(chunk / 64) !== 0) throw new Error("hash refused");
    return hex(h.slice(0, init.length));
  };
  const j1 = new SHA1();
  j1.blocks(ct, 0, chunk / 64);
  if (hex(j1.h) !== wasmHash(sha1Init, k.sha1_blocks)) throw new Error("SHA-1: kernels.wasm differs from sha1.js");
  const j2 = new SHA256();
  j2.blocks(ct, 0, chunk / 64);
  if (hex(j2.h) !== wasmHash(sha256Init, k.sha256_blocks)) throw new Error("SHA-256: kernels.wasm differs from sha256.js");

  const buf = ct.slice();
  const time = (name, f) => {
    for (let i = 0; i < 8; i++) f();
    const t0 = performance.now();
    for (let i = 0; i < mib; i++) f();
    const rate = mib / ((performance.now() - t0) / 1000);
    lines.push(`${name} ${rate.toFixed(0)} MiB/s`);
    return rate;
  };
  const cfb = new CFBDecrypter(key);
  const s1 = new SHA1();
  const s2 = new SHA256();
  const pairs = [
    ["AES-256-CFB", () => cfb.decrypt(buf, buf), () => { data.set(buf); k.cfb_decrypt(8, chunk / 16); buf.set(data); }],
    ["SHA-1", () => s1.update(buf), () => { data.set(buf); k.sha1_blocks(chunk / 64); }],
    ["SHA-256", () => s2.update(buf), () => { data.set(buf); k.sha256_blocks(chunk / 64); }],
  ];
  for (const [name, js, wasm] of pairs) {
    const rj = time(name + " js", js);
    const rw = time(name + " wasm (with copies)", wasm);
    lines.push(`${name} wasm/js ${(rw / rj).toFixed(2)}`);
  }
  return lines;
}
