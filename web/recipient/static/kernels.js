// kernels runs a large document's three per-byte loops in WebAssembly
// (kernels.wasm, built from web/recipient/wasm/kernels.c by scripts/wasm):
// CFB decryption over whole AES blocks and the SHA-1 and SHA-256 block
// functions, the same computations as aes.js, sha1.js and sha256.js, which
// bench web-wasm measured at 1.3–2.5× the JavaScript for AES and up to
// 1.9× for the hashes (docs/recipient.md). cryptoworker.js loads it and
// installs it into those three modules; where WebAssembly is missing or
// not allowed, or the module gives a wrong answer to the check run when it
// loads, they stay in JavaScript.
//
// The loops run in the module's own memory: each call copies its bytes in
// and the result out, in pieces of at most the module's 1 MiB.

import { CFBDecrypter, T, S, useKernel as useAES } from "./aes.js";
import { SHA1, useKernel as useSHA1 } from "./sha1.js";
import { SHA256, K, useKernel as useSHA256 } from "./sha256.js";

/** Kernels are one instance of kernels.wasm, ready to be installed. */
export class Kernels {
  constructor(exports) {
    const x = exports;
    const mem = x.memory.buffer;
    this.x = x;
    this.cap = x.data_cap();
    this.bytes = new Uint8Array(mem, x.data_ptr(), this.cap);
    this.words = new Int32Array(mem, x.data_ptr(), this.cap >> 2);
    this.rk = new Int32Array(mem, x.rk_ptr(), 60);
    this.st = new Int32Array(mem, x.st_ptr(), 4);
    this.h = new Int32Array(mem, x.h_ptr(), 8);
    this.key = null; // the round keys now in the module
    new Int32Array(mem, x.t_ptr(), 1024).set(T);
    new Int32Array(mem, x.s_ptr(), 1024).set(S);
    new Int32Array(mem, x.k256_ptr(), 64).set(K);
  }

  /**
   * cfb is aes.js's CFB over whole blocks: src and dst (Int32Array of
   * little-endian words, a multiple of 4, may be the same) with round keys
   * rk (aes.js's little-endian words) and state st, updated.
   */
  cfb(rk, src, dst, st) {
    if (this.key !== rk) {
      this.rk.set(rk);
      this.key = rk;
    }
    const nk = rk.length / 4 - 7;
    this.st.set(st);
    const step = this.cap >> 2;
    for (let i = 0; i < src.length; i += step) {
      const n = Math.min(step, src.length - i);
      this.words.set(src.subarray(i, i + n));
      if (this.x.cfb_decrypt(nk, n >> 2) !== 0) throw new Error("kernels.wasm refused a CFB call");
      dst.set(this.words.subarray(0, n), i);
    }
    st.set(this.st);
  }

  /** sha1 is sha1.js's blocks: n 64-byte blocks of bytes from off into h (5 words). */
  sha1(h, bytes, off, n) {
    this.hash(h, bytes, off, n, this.x.sha1_blocks);
  }

  /** sha256 is sha256.js's blocks: n 64-byte blocks of bytes from off into h (8 words). */
  sha256(h, bytes, off, n) {
    this.hash(h, bytes, off, n, this.x.sha256_blocks);
  }

  hash(h, bytes, off, n, blocks) {
    this.h.set(h);
    const step = this.cap >> 6;
    for (let b = 0; b < n; b += step) {
      const m = Math.min(step, n - b);
      const at = off + 64 * b;
      this.bytes.set(bytes.subarray(at, at + 64 * m));
      if (blocks(m) !== 0) throw new Error("kernels.wasm refused a hash call");
    }
    h.set(this.h.subarray(0, h.length));
  }
}

// littleEndian: aes.js hands whole blocks to its word loop (and so to the
// module, whose memory is little-endian) only on such hosts.
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * instantiate compiles kernels.wasm's bytes and checks the module against
 * the JavaScript on a few KiB (each key size, both hashes) before it is
 * used. It resolves to Kernels, or rejects.
 */
export async function instantiate(bytes) {
  if (!littleEndian) throw new Error("not a little-endian host");
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const k = new Kernels(instance.exports);
  selfCheck(k);
  return k;
}

/**
 * load fetches kernels.wasm next to this module and instantiates it.
 * Resolves to Kernels, or null where WebAssembly cannot run (missing, a
 * policy that forbids it, a failed check): the caller stays in JavaScript.
 */
export async function load(url = new URL("./kernels.wasm", import.meta.url)) {
  try {
    if (typeof WebAssembly !== "object") return null;
    const res = await fetch(url);
    if (!res.ok) return null;
    return await instantiate(await res.arrayBuffer());
  } catch {
    return null;
  }
}

/** install makes aes.js, sha1.js and sha256.js run their loops in k (null: in JavaScript again). */
export function install(k) {
  useAES(k);
  useSHA1(k);
  useSHA256(k);
}

// selfCheck compares k with the JavaScript (not installed yet) on random
// bytes of a few odd lengths: a wrong module is never used.
function selfCheck(k) {
  const data = new Uint8Array(4096 + 48);
  crypto.getRandomValues(data);
  for (const size of [16, 24, 32]) {
    const key = data.subarray(0, size);
    const js = new CFBDecrypter(key);
    const want = js.decrypt(data.slice());
    const st = new Int32Array(4);
    const src = new Int32Array(data.slice().buffer);
    k.cfb(js.rk, src, src, st);
    const got = new Uint8Array(src.buffer);
    if (!equal(got, want) || !equal(new Uint8Array(st.buffer), data.subarray(data.length - 16))) {
      throw new Error("kernels.wasm: AES-" + size * 8 + "-CFB differs from aes.js");
    }
  }
  for (const [name, Hash, run] of [["SHA-1", SHA1, (h, b, n) => k.sha1(h, b, 3, n)], ["SHA-256", SHA256, (h, b, n) => k.sha256(h, b, 3, n)]]) {
    const js = new Hash();
    js.blocks(data, 3, 64);
    const h = new Hash().h;
    run(h, data, 64);
    if (!equal(h, js.h)) throw new Error("kernels.wasm: " + name + " differs from its JavaScript");
  }
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
