// crypto.mjs checks the recipient page's own crypto code against WebCrypto
// and OpenPGP.js (differential tests), in node. web/recipient/crypto_test.go
// copies the page's modules into DIR (with a package.json that makes them
// ES modules), writes the sealed cases and runs: node crypto.mjs DIR.
// It prints one line per failure and "ok N checks" at the end; it exits 1
// on any failure.
//
// Checked: aes.js's block cipher (FIPS 197 vectors, random keys of 16, 24
// and 32 bytes against WebCrypto), its CFB decryption (random data split at
// random points, against CFB built from WebCrypto's AES), sha1.js and
// sha256.js (random lengths and splits against WebCrypto); the same with
// kernels.js's WebAssembly installed, pieces larger than its memory, and
// damaged modules (refused, stopped or still right: a wrong answer is never
// used); stream.js's decryptTo with seipd.js and onepass.js on messages
// sealed by envelope (Go), in JavaScript, in WebAssembly and in workers:
// the same plaintext, name and fingerprint as OpenPGP.js's own decrypt, and
// every tampered case refused without the sink being committed. Crafted
// here too: the sealed inner message encrypted again with a valid MDC but
// its literal body, signature value or left 16 bits changed, its signature
// removed or doubled (only the signature check can refuse those); messages
// of other shapes from OpenPGP.js (text, compressed, SHA-512, v6, two
// signatures), which the page must read with OpenPGP.js; and
// SEALPRINT_MUTANTS (default 40) random mutants of the inner message, which
// the page may refuse more often than OpenPGP.js but never accept when it
// refuses.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { check, finish } from "./checks.mjs";

const dir = process.argv[2];
const aes = await import(join(dir, "aes.js"));
const { SHA1 } = await import(join(dir, "sha1.js"));
const { SHA256 } = await import(join(dir, "sha256.js"));
const stream = await import(join(dir, "stream.js"));
const opener = await import(join(dir, "opener.js"));
const kernels = await import(join(dir, "kernels.js"));
const openpgp = await import(join(dir, "vendor", "openpgp.min.mjs"));


const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s) => Uint8Array.from(s.match(/../g), (x) => parseInt(x, 16));
const rand = (n) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
};
// randInt draws from a seeded generator (SEALPRINT_MUTANT_SEED, default 1),
// so that a run's sizes and mutants can be drawn again: a failing mutant
// is reproduced by its seed, printed below.
const seed = Number(process.env.SEALPRINT_MUTANT_SEED || 1) >>> 0;
let prng = seed || 1;
const randInt = (n) => {
  // mulberry32
  prng = (prng + 0x6d2b79f5) >>> 0;
  let t = prng;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
};
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// splits cuts b into pieces of random sizes (some empty, some tiny).
function splits(b) {
  const out = [];
  for (let i = 0; i < b.length;) {
    const n = [0, 1, 3, 15, 16, 17, 100, 4096, 65536][randInt(9)] + randInt(3);
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

// encrypt1 is E_k(block) from WebCrypto: AES-CBC of one zero block with block as IV.
async function encrypt1(key, block) {
  const k = await crypto.subtle.importKey("raw", key, "AES-CBC", false, ["encrypt"]);
  return new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv: block }, k, new Uint8Array(16))).subarray(0, 16);
}

function words(b) {
  return Int32Array.from([0, 1, 2, 3], (i) => (b[4 * i] << 24) | (b[4 * i + 1] << 16) | (b[4 * i + 2] << 8) | b[4 * i + 3]);
}
function bytes(w) {
  const b = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    b[4 * i] = w[i] >>> 24; b[4 * i + 1] = w[i] >>> 16; b[4 * i + 2] = w[i] >>> 8; b[4 * i + 3] = w[i];
  }
  return b;
}

// FIPS 197 appendix C.
const pt = unhex("00112233445566778899aabbccddeeff");
for (const [key, ct] of [
  ["000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a"],
  ["000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191"],
  ["000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "8ea2b7ca516745bfeafc49904b496089"],
]) {
  const s = words(pt);
  aes.encryptBlock(aes.expandKey(unhex(key)), s);
  check(hex(bytes(s)) === ct, "FIPS 197 AES-" + key.length * 4);
}

for (let n = 0; n < 60; n++) {
  const key = rand([16, 24, 32][n % 3]);
  const block = rand(16);
  const s = words(block);
  aes.encryptBlock(aes.expandKey(key), s);
  check(equal(bytes(s), await encrypt1(key, block)), "AES block vs WebCrypto, key " + hex(key));
}

// primitives checks CFB and both hashes, in JavaScript or (once
// kernels.js is installed) in WebAssembly.
async function primitives(label) {
  // CFB decryption against CFB built from WebCrypto's block cipher.
  for (let n = 0; n < 12; n++) {
    const key = rand([16, 24, 32][n % 3]);
    const iv = n % 2 ? rand(16) : new Uint8Array(16);
    const ct = rand(randInt(3000) + (n === 0 ? 0 : 1));
    const want = new Uint8Array(ct.length);
    let prev = iv;
    for (let i = 0; i < ct.length; i += 16) {
      const ks = await encrypt1(key, prev);
      const c = ct.subarray(i, i + 16);
      for (let j = 0; j < c.length; j++) want[i + j] = c[j] ^ ks[j];
      prev = c;
    }
    const d = new aes.CFBDecrypter(key, iv);
    const got = [];
    for (const piece of splits(ct)) got.push(...d.decrypt(piece));
    check(equal(Uint8Array.from(got), want), label + " CFB vs WebCrypto, " + ct.length + " bytes, key of " + key.length);
    // In place, in one call.
    const inplace = ct.slice();
    new aes.CFBDecrypter(key, iv).decrypt(inplace, inplace);
    check(equal(inplace, want), label + " CFB in place, " + ct.length + " bytes");
  }

  // Hashes against WebCrypto.
  for (const [name, H, algo] of [["sha1", SHA1, "SHA-1"], ["sha256", SHA256, "SHA-256"]]) {
    for (const len of [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, randInt(5000), 1 << 20]) {
      const b = rand(len);
      const h = new H();
      for (const piece of splits(b)) h.update(piece);
      const got = name === "sha1" ? hex(h.digest()) : h.hex();
      const want = hex(new Uint8Array(await crypto.subtle.digest(algo, b)));
      check(got === want, label + " " + name + " of " + len + " bytes vs WebCrypto");
    }
  }
}
await primitives("js");

// The WebAssembly kernels (kernels.wasm, as the worker loads it): the same
// checks with the module installed, counting its calls so that a kernel
// left unused fails; then pieces larger than the module's 1 MiB data area,
// which go through it in turns.
const wasmBytes = new Uint8Array(readFileSync(join(dir, "kernels.wasm")));
const kernel = await kernels.instantiate(wasmBytes);
const calls = { cfb: 0, sha1: 0, sha256: 0 };
const counted = {
  cfb: (...a) => { calls.cfb++; return kernel.cfb(...a); },
  sha1: (...a) => { calls.sha1++; return kernel.sha1(...a); },
  sha256: (...a) => { calls.sha256++; return kernel.sha256(...a); },
};
kernels.install(counted);
await primitives("wasm");
check(calls.cfb > 0 && calls.sha1 > 0 && calls.sha256 > 0, "kernels used: " + JSON.stringify(calls));
{
  const key = rand(32);
  const iv = rand(16);
  const ct = rand((1 << 20) * 2 + 4096 + 7);
  const inplace = ct.slice();
  new aes.CFBDecrypter(key, iv).decrypt(inplace, inplace);
  kernels.install(null);
  const want = new aes.CFBDecrypter(key, iv).decrypt(ct.slice());
  check(equal(inplace, want), "wasm CFB of " + ct.length + " bytes in one call vs aes.js");
  kernels.install(counted);
  for (const [name, H, algo] of [["sha1", SHA1, "SHA-1"], ["sha256", SHA256, "SHA-256"]]) {
    const h = new H();
    h.update(ct);
    const got = name === "sha1" ? hex(h.digest()) : h.hex();
    check(got === hex(new Uint8Array(await crypto.subtle.digest(algo, ct))), "wasm " + name + " of " + ct.length + " bytes in one call vs WebCrypto");
  }
}
kernels.install(null);

// A damaged module is never used: each of 40 single-byte changes in its
// code either makes instantiate refuse it (it does not compile, or its
// check against the JavaScript fails), stops it (a trap, or a loop that
// never ends: the worker is ended after 10 s, the document never done),
// or leaves a module that still computes what the JavaScript does. Each
// runs in a worker thread of its own, as in the page.
{
  const code = wasmSection(wasmBytes, 10);
  const damaged = `
const { parentPort, workerData: w } = require("node:worker_threads");
(async () => {
  const kernels = await import(w.dir + "/kernels.js");
  const aes = await import(w.dir + "/aes.js");
  const { SHA1 } = await import(w.dir + "/sha1.js");
  const { SHA256 } = await import(w.dir + "/sha256.js");
  let k;
  try { k = await kernels.instantiate(w.bad); } catch { parentPort.postMessage({ refused: true }); return; }
  kernels.install(k);
  try {
    const plain = w.ct.slice();
    new aes.CFBDecrypter(w.key).decrypt(plain, plain);
    const h1 = new SHA1(); h1.update(w.ct);
    const h2 = new SHA256(); h2.update(w.ct);
    parentPort.postMessage({ plain, sha1: h1.digest(), sha256: h2.hex() });
  } catch { parentPort.postMessage({ stopped: true }); }
})();
`;
  const tally = { refused: 0, stopped: 0, same: 0 };
  for (let n = 0; n < 40; n++) {
    const bad = wasmBytes.slice();
    const at = code.start + randInt(code.end - code.start);
    bad[at] ^= 1 << randInt(8);
    const key = rand(16 + 8 * (n % 3));
    const ct = rand(4096 + 16 * randInt(64));
    const w = new Worker(damaged, { eval: true, workerData: { dir, bad, key, ct } });
    const r = await new Promise((resolve) => {
      const t = setTimeout(() => resolve({ stopped: true }), 10000);
      w.on("message", (m) => { clearTimeout(t); resolve(m); });
      w.on("error", () => { clearTimeout(t); resolve({ stopped: true }); });
    });
    await w.terminate();
    if (r.refused) { tally.refused++; continue; }
    if (r.stopped) { tally.stopped++; continue; }
    const j1 = new SHA1(); j1.update(ct);
    const j2 = new SHA256(); j2.update(ct);
    const same = equal(r.plain, new aes.CFBDecrypter(key).decrypt(ct.slice())) && hex(r.sha1) === hex(j1.digest()) && r.sha256 === j2.hex();
    if (same) tally.same++;
    check(same, "a module changed at byte " + at + " was accepted and computes otherwise");
  }
  console.log("damaged modules: " + JSON.stringify(tally));
  check(tally.refused > 0, "no damaged module refused");
}

// wasmSection finds section id's contents in a WebAssembly module.
function wasmSection(b, id) {
  let i = 8;
  while (i < b.length) {
    const sid = b[i++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const x = b[i++];
      size |= (x & 0x7f) << shift;
      if (!(x & 0x80)) break;
    }
    if (sid === id) return { start: i, end: i + size };
    i += size;
  }
  throw new Error("no section " + id);
}

// Sealed messages: decryptTo (seipd.js) against OpenPGP.js's decrypt.
const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8"));
const senderKey = await openpgp.readKey({ armoredKey: readFileSync(join(dir, "sender.asc"), "utf8") });

// splitter cuts the ciphertext as a download would hand it over.
let splitter = splits;

function body(b) {
  const pieces = splitter(b);
  return new ReadableStream({
    pull(ctl) {
      if (pieces.length === 0) ctl.close();
      else ctl.enqueue(pieces.shift().slice());
    },
  });
}

// nodeWorker runs the page's cryptoworker.js in a node worker thread behind
// the part of the Web Worker interface seipd.js and stream.js use; messages
// that arrive before the module is loaded wait, as a browser's do.
const boot = `
const { parentPort, workerData } = require("node:worker_threads");
globalThis.self = globalThis;
globalThis.postMessage = (m, t) => parentPort.postMessage(m, t);
const early = [];
let ready = false;
parentPort.on("message", (data) => (ready ? self.onmessage({ data }) : early.push(data)));
import(workerData).then(() => { ready = true; for (const data of early) self.onmessage({ data }); });
`;
let started = 0;
let live = 0;
function nodeWorker() {
  const w = new Worker(boot, { eval: true, workerData: pathToFileURL(join(dir, "cryptoworker.js")).href });
  started++;
  live++;
  let ended = false;
  const o = {
    onmessage: null,
    onerror: null,
    postMessage: (m, t) => w.postMessage(m, t),
    terminate() {
      if (!ended) { ended = true; live--; }
      w.terminate();
    },
  };
  w.on("message", (data) => o.onmessage && o.onmessage({ data }));
  w.on("error", (e) => o.onerror && o.onerror(e));
  return o;
}

// mode is how viaPage runs the crypto: on this thread ("inline"; "wasm"
// with the kernels installed here), or in workers.
let mode = "inline";

async function viaPage(c, ct) {
  const parts = [];
  let committed = false;
  let aborted = false;
  try {
    const workers = mode === "workers" ? nodeWorker : () => null;
    const r = await stream.decryptTo(openpgp, body(ct), ct.length, { secret: c.secret, senderKey: c.key || senderKey, workers }, async (name) => ({
      kind: "test", name,
      write: async (chunk) => { parts.push(chunk.slice()); },
      close: async () => { committed = true; },
      abort: async () => { aborted = true; },
    }), () => {});
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) { all.set(p, off); off += p.length; }
    return { ok: true, data: all, r, committed, aborted };
  } catch (e) {
    return { ok: false, kind: e.kind || String(e), err: e.message, committed, aborted, wrote: parts.length > 0,
      written: parts.reduce((n, p) => n + p.length, 0) };
  }
}

async function viaOpenPGP(c, ct) {
  try {
    const message = await openpgp.readMessage({ binaryMessage: ct });
    const r = await openpgp.decrypt({ message, passwords: [c.secret], verificationKeys: c.key || senderKey, format: "binary", expectSigned: true });
    return { ok: true, data: r.data, filename: r.filename };
  } catch (e) {
    return { ok: false, err: e.message };
  }
}

// Crafted messages. reseal encrypts inner (the packets inside SEIPD) again
// with base's session key, behind base's SKESK: a message whose MDC is
// right whatever inner holds, to reach the signature check itself.
function reseal(base, inner) {
  const prefix = rand(18);
  prefix[16] = prefix[14];
  prefix[17] = prefix[15];
  const plain = new Uint8Array(18 + inner.length + 22);
  plain.set(prefix, 0);
  plain.set(inner, 18);
  plain[18 + inner.length] = 0xd3;
  plain[19 + inner.length] = 0x14;
  const mdc = new SHA1();
  mdc.update(plain.subarray(0, 20 + inner.length));
  plain.set(mdc.digest(), 20 + inner.length);
  // AES-CFB with a zero IV (RFC 9580 §5.13.1), from aes.js's block cipher.
  const ks = aes.expandKey(base.key);
  const ct = new Uint8Array(plain.length);
  let prev = new Uint8Array(16);
  for (let i = 0; i < plain.length; i += 16) {
    const s = words(prev);
    aes.encryptBlock(ks, s);
    const e = bytes(s);
    for (let j = 0; j < 16 && i + j < plain.length; j++) ct[i + j] = plain[i + j] ^ e[j];
    prev = ct.subarray(i, i + 16);
  }
  const len = 1 + ct.length;
  const out = new Uint8Array(base.skesk.length + 6 + len);
  out.set(base.skesk, 0);
  let o = base.skesk.length;
  out[o++] = 0xd2; // SEIPD, new format, five-octet length
  out[o++] = 255;
  new DataView(out.buffer).setUint32(o, len);
  o += 4;
  out[o++] = 1;
  out.set(ct, o);
  return out;
}

// craft builds the cases no Go seal makes: the sealed inner message
// encrypted again with one part changed (the digest check is then all that
// stands), and messages of other shapes made by OpenPGP.js with its own
// key, which the page must read with OpenPGP.js (path "openpgp").
async function craft(cases) {
  const from = cases.find((c) => c.name === "intact-65537");
  const ct = new Uint8Array(readFileSync(join(dir, from.file)));
  const message = await openpgp.readMessage({ binaryMessage: ct });
  const [sk] = await openpgp.decryptSessionKeys({ message, passwords: [from.secret] });
  const skesk = ct.subarray(0, 2 + ct[1]);
  const { Decrypter } = await import(join(dir, "seipd.js"));
  const d = new Decrypter(sk.algorithm, sk.data);
  const body = packetBody(ct, skesk.length);
  const inner = d.push(body.subarray(1)).slice(); // after the version byte
  d.end();
  // The signature packet is the last: find it from the OPS (15 bytes),
  // the literal packet's chunks, and walk.
  const sigAt = lastPacket(inner);
  const base = { inner, sigAt, skesk, key: sk.data, secret: from.secret };
  const out = [];
  const add = (name, bytes, expect, extra = {}) => out.push({ name, ct: bytes, secret: from.secret, expect, ...extra });
  const change = (at, f) => { const b = inner.slice(); b[at] = f(b[at]); return b; };
  add("resealed-intact", reseal(base, inner), "ok");
  add("resealed-literal-byte", reseal(base, change(sigAt - 100, (x) => x ^ 1)), "altered|badsig");
  add("resealed-literal-first-byte", reseal(base, change(lastLiteralStart(inner), (x) => x ^ 0x80)), "altered|badsig");
  // The signature's last byte (its EdDSA S), and its left 16 bits of the digest.
  add("resealed-signature-value", reseal(base, change(inner.length - 1, (x) => x ^ 1)), "altered|badsig");
  const left16 = leftSixteen(inner, sigAt);
  add("resealed-signature-left16", reseal(base, change(left16, (x) => x ^ 1)), "altered|badsig");
  add("resealed-no-signature", reseal(base, inner.subarray(0, sigAt)), "altered|badsig|corrupt");
  const twice = new Uint8Array(inner.length + (inner.length - sigAt));
  twice.set(inner, 0);
  twice.set(inner.subarray(sigAt), inner.length);
  add("resealed-two-signatures", reseal(base, twice), "altered|badsig|corrupt");
  // A file name is not signed (v4): read, and named, as OpenPGP.js does.
  add("resealed-other-name", reseal(base, change(lastLiteralStart(inner) - 5 - 1, (x) => x ^ 0x20)), "ok");
  // One-pass packets of a type no document signature has (standalone
  // 0x02, timestamp 0x40): malformed, refused at the head. OpenPGP.js
  // reads the whole message and goes by the signature's own type; handed
  // to its streaming verify, they left it waiting forever.
  add("resealed-ops-type-standalone", reseal(base, change(3, () => 0x02)), "corrupt", { pageOnly: true });
  add("resealed-ops-type-timestamp", reseal(base, change(3, () => 0x40)), "corrupt", { pageOnly: true });
  // A one-pass packet with a partial length (never allowed on it).
  add("resealed-ops-partial-length", reseal(base, change(1, () => 0xe4)), "corrupt");
  base.lit = lastLiteralStart(inner);
  out.base = base;

  // Other shapes, from OpenPGP.js, opened with its own key.
  const { privateKey } = await openpgp.generateKey({ userIDs: [{ name: "Other Shape", email: "other@example.org" }], format: "object" });
  const { privateKey: second } = await openpgp.generateKey({ userIDs: [{ name: "Second", email: "second@example.org" }], format: "object" });
  const { privateKey: v6 } = await openpgp.generateKey({ userIDs: [{ name: "Six", email: "six@example.org" }], format: "object", config: { v6Keys: true } });
  const data = rand(70_000);
  const shaped = async (name, msg, signingKeys, config, key) => {
    const bytes = await openpgp.encrypt({ message: msg, passwords: [from.secret], signingKeys, format: "binary",
      config: { aeadProtect: false, preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed, ...config } });
    out.push({ name, ct: bytes, secret: from.secret, expect: "ok", path: "openpgp", key: key.toPublic() });
  };
  await shaped("openpgpjs-binary", await openpgp.createMessage({ binary: data, filename: "a.pdf" }), privateKey, {}, privateKey);
  await shaped("openpgpjs-text", await openpgp.createMessage({ text: "compte rendu\n", filename: "a.txt" }), privateKey, {}, privateKey);
  await shaped("openpgpjs-compressed", await openpgp.createMessage({ binary: data }), privateKey,
    { preferredCompressionAlgorithm: openpgp.enums.compression.zlib }, privateKey);
  // A compressed bomb: 64 MiB of zeros in about 64 KiB of ciphertext. The
  // page stops past 16× the ciphertext (opener.js readConfig), having
  // written at most that, where OpenPGP.js's defaults decompress it all;
  // zeros compressed within the bound still open.
  await shaped("openpgpjs-compressed-bomb", await openpgp.createMessage({ binary: new Uint8Array(64 << 20), filename: "bomb.pdf" }), privateKey,
    { preferredCompressionAlgorithm: openpgp.enums.compression.zlib }, privateKey);
  Object.assign(out[out.length - 1], { expect: "corrupt|altered", pageOnly: true, bomb: true });
  await shaped("openpgpjs-compressed-zeros", await openpgp.createMessage({ binary: new Uint8Array(1 << 20), filename: "zeros.pdf" }), privateKey,
    { preferredCompressionAlgorithm: openpgp.enums.compression.zlib }, privateKey);
  await shaped("openpgpjs-sha512", await openpgp.createMessage({ binary: data }), privateKey,
    { preferredHashAlgorithm: openpgp.enums.hash.sha512 }, privateKey);
  await shaped("openpgpjs-v6-signature", await openpgp.createMessage({ binary: data }), v6, {}, v6);
  await shaped("openpgpjs-two-signatures", await openpgp.createMessage({ binary: data }), [privateKey, privateKey], {}, privateKey);
  await shaped("openpgpjs-signed-by-another-key", await openpgp.createMessage({ binary: data }), second, {}, privateKey);
  out[out.length - 1].expect = "badsig|altered";
  return out;
}

// lastPacket is the offset of the last packet of a packet sequence
// (new-format headers; partial lengths followed).
function lastPacket(b) {
  let at = 0;
  let last = 0;
  while (at < b.length) {
    last = at;
    at++;
    for (;;) {
      const a = b[at];
      if (a < 192) { at += 1 + a; break; }
      if (a < 224) { at += 2 + ((a - 192) << 8) + b[at + 1] + 192; break; }
      if (a === 255) { at += 5 + new DataView(b.buffer, b.byteOffset + at + 1, 4).getUint32(0); break; }
      at += 1 + (1 << (a & 0x1f)); // a partial chunk, its next length follows
    }
  }
  return last;
}

// packetBody is the body of the packet at b[at] (new format), its partial
// chunks joined.
function packetBody(b, at) {
  const parts = [];
  at++;
  for (;;) {
    const a = b[at];
    let n;
    if (a < 192) { n = a; at += 1; } else if (a < 224) { n = ((a - 192) << 8) + b[at + 1] + 192; at += 2; } else if (a === 255) {
      n = new DataView(b.buffer, b.byteOffset + at + 1, 4).getUint32(0); at += 5;
    } else {
      n = 1 << (a & 0x1f);
      parts.push(b.subarray(at + 1, at + 1 + n));
      at += 1 + n;
      continue;
    }
    parts.push(b.subarray(at, at + n));
    break;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

// lastLiteralStart is where the literal body starts: OPS (15 bytes), the
// literal packet's header and its first length, then format, name, date.
function lastLiteralStart(b) {
  let at = 15 + 1;
  const a = b[at];
  at += a < 192 || (a >= 224 && a < 255) ? 1 : a < 224 ? 2 : 5;
  return at + 2 + b[at + 1] + 4;
}

// leftSixteen is the offset of the signature's left 16 bits of the digest.
function leftSixteen(b, sigAt) {
  let at = sigAt + 1;
  const a = b[at];
  at += a < 192 ? 1 : a < 224 ? 2 : 5;
  at += 4;
  at += 2 + ((b[at] << 8) | b[at + 1]); // hashed subpackets
  at += 2 + ((b[at] << 8) | b[at + 1]); // unhashed
  return at;
}

// bounded fails a case whose promise never settles: a page stuck forever
// on a bad message is a failure too.
function bounded(p, what) {
  let timer;
  return Promise.race([p, new Promise((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, hung: true, kind: "hung", err: what + " never finished" }), 20000);
  })]).finally(() => clearTimeout(timer)).then((r) => {
    check(!r.hung, what + " never finished");
    return r;
  });
}

// runCase decrypts ct with the page's decryptTo and with OpenPGP.js and
// checks they agree with the case's expectation: "ok" (the same plaintext,
// file name and fingerprint; path, the way the page read the inner
// message), or the failure kinds allowed, never committed.
async function runCase(c, ct) {
  const mine = await bounded(viaPage(c, ct), "the page's decryptTo");
  const theirs = await bounded(viaOpenPGP(c, ct), "OpenPGP.js's decrypt");
  if (c.expect === "ok") {
    check(mine.ok && mine.committed && !mine.aborted, c.name + ": page decryption failed: " + (mine.kind || ""));
    check(theirs.ok, c.name + ": OpenPGP.js decryption failed: " + theirs.err);
    if (mine.ok && theirs.ok) {
      check(equal(mine.data, theirs.data), c.name + ": plaintext differs from OpenPGP.js's");
      check(mine.r.filename === (theirs.filename || ""), c.name + ": file name " + mine.r.filename + " vs " + theirs.filename);
      const sum = c.sha256 || hex(new Uint8Array(await crypto.subtle.digest("SHA-256", theirs.data)));
      check(mine.r.sha256 === sum && mine.r.size === mine.data.length, c.name + ": fingerprint " + mine.r.sha256);
      check(mine.r.path === (c.path || "onepass"), c.name + ": read by " + mine.r.path + ", want " + (c.path || "onepass"));
    }
  } else if (c.expect === "agree") {
    // Mutants: whatever the page accepts, OpenPGP.js accepts the same way.
    check(mine.ok || !mine.committed, c.name + ": refused but committed");
    if (mine.wrote && !mine.ok) check(mine.aborted, c.name + ": plaintext written but the sink not aborted");
    if (mine.ok) {
      check(theirs.ok, c.name + ": the page accepted what OpenPGP.js refuses (" + theirs.err + ")");
      if (theirs.ok) {
        check(equal(mine.data, theirs.data) && mine.r.filename === (theirs.filename || ""), c.name + ": accepted with another plaintext or name than OpenPGP.js");
      }
    }
    if (!mine.ok && theirs.ok) console.log(c.name + ": refused by the page only: " + mine.kind + " " + (mine.err || ""));
    return { mine: mine.ok, theirs: theirs.ok, path: mine.ok ? mine.r.path : "" };
  } else {
    check(!mine.ok && !mine.committed, c.name + ": the page accepted a bad message (committed " + mine.committed + ")");
    if (!c.pageOnly) check(!theirs.ok, c.name + ": OpenPGP.js accepted it too (the case is wrong)");
    check(!mine.ok && c.expect.split("|").includes(mine.kind), c.name + ": failure kind " + mine.kind + " (" + (mine.err || "") + "), want " + c.expect);
    if (mine.wrote) check(mine.aborted, c.name + ": plaintext written but the sink not aborted");
    if (c.bomb) {
      const bound = opener.readConfig(ct.length).maxDecompressedMessageSize;
      check(mine.written <= bound, c.name + ": " + mine.written + " bytes written, more than the bound " + bound);
      // In memory too (small documents: opener.js).
      let opened = true;
      try {
        await opener.open(openpgp, ct, { secret: c.secret, senderKey: c.key });
      } catch {
        opened = false;
      }
      check(!opened, c.name + ": opened in memory");
    }
  }
  return null;
}

const started0 = Date.now();
const crafted = await craft(cases);
for (const m of ["inline", "wasm", "workers"]) {
  mode = m;
  kernels.install(m === "wasm" ? kernel : null);
  for (const c of cases) {
    console.log("case " + c.name + " (" + mode + ")");
    await runCase(c, new Uint8Array(readFileSync(join(dir, c.file))));
  }
  for (const c of crafted) {
    console.log("case " + c.name + " (" + mode + ")");
    await runCase(c, c.ct);
  }
}
kernels.install(null);

// Each byte alone, after an empty piece: a stream may hand over pieces of
// any size, empty ones included (OpenPGP.js took an empty read where the
// SEIPD packet starts for its end: "corrupt" for a good message).
splitter = (b) => Array.from(b, (_, i) => [b.subarray(i, i), b.subarray(i, i + 1)]).flat();
for (const m of ["inline", "workers"]) {
  mode = m;
  for (const c of cases.filter((x) => x.name === "intact-17")) {
    console.log("case " + c.name + " byte by byte (" + mode + ")");
    await runCase(c, new Uint8Array(readFileSync(join(dir, c.file))));
  }
}
splitter = splits;

// Mutants of the sealed inner message, encrypted again (a valid MDC): a
// byte or a few changed in the packet headers, the literal header, the
// body or the signature. The page may refuse more than OpenPGP.js, never
// accept more or otherwise.
{
  const base = crafted.base;
  const tally = { both: 0, neither: 0, pageOnly: 0, theirsOnly: 0, onepass: 0 };
  const rounds = Number(process.env.SEALPRINT_MUTANTS || 40);
  for (let n = 0; n < rounds; n++) {
    mode = n % 2 ? "workers" : "inline";
    const inner = base.inner.slice();
    const sig = base.sigAt;
    // OPS, literal header, body, signature, its hashed part.
    const zones = [[0, 15], [15, base.lit], [base.lit, sig], [sig, inner.length], [sig, sig + 12]];
    const [lo, hi] = zones[n % zones.length];
    for (let k = 0, m = n % 4 === 3 ? 1 + randInt(3) : 1; k < m; k++) {
      const at = lo + randInt(hi - lo);
      inner[at] = n % 3 === 0 ? randInt(256) : inner[at] ^ (1 << randInt(8));
    }
    const c = { name: "mutant-" + n, secret: base.secret, expect: "agree" };
    const r = await runCase(c, reseal(base, inner));
    if (r.mine && r.theirs) tally.both++;
    else if (!r.mine && !r.theirs) tally.neither++;
    else if (r.mine) tally.pageOnly++;
    else tally.theirsOnly++;
    if (r.path === "onepass") tally.onepass++;
  }
  console.log("mutants (seed " + seed + "): " + JSON.stringify(tally) + " after " + ((Date.now() - started0) / 1000).toFixed(1) + " s");
  check(tally.pageOnly === 0, "mutants the page accepted and OpenPGP.js refused: " + tally.pageOnly);
}

// Every worker the page started is ended, whatever the outcome: a worker
// left running holds a session key.
await new Promise((r) => setTimeout(r, 100));
check(started >= cases.length, "the worker path started " + started + " workers for " + cases.length + " cases");
check(live === 0, live + " workers left running");

finish();
