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
// sha256.js (random lengths and splits against WebCrypto), and stream.js's
// decryptTo with seipd.js on messages sealed by envelope (Go): the same
// plaintext as OpenPGP.js's own decrypt, and every tampered case refused
// without the sink being committed.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

const dir = process.argv[2];
const aes = await import(join(dir, "aes.js"));
const { SHA1 } = await import(join(dir, "sha1.js"));
const { SHA256 } = await import(join(dir, "sha256.js"));
const stream = await import(join(dir, "stream.js"));
const openpgp = await import(join(dir, "vendor", "openpgp.min.mjs"));

let checks = 0;
let failures = 0;
function check(ok, what) {
  checks++;
  if (!ok) {
    failures++;
    console.log("FAIL " + what);
  }
}

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s) => Uint8Array.from(s.match(/../g), (x) => parseInt(x, 16));
const rand = (n) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
};
const randInt = (n) => Math.floor(Math.random() * n);
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
  check(equal(Uint8Array.from(got), want), "CFB vs WebCrypto, " + ct.length + " bytes, key of " + key.length);
  // In place, in one call.
  const inplace = ct.slice();
  new aes.CFBDecrypter(key, iv).decrypt(inplace, inplace);
  check(equal(inplace, want), "CFB in place, " + ct.length + " bytes");
}

// Hashes against WebCrypto.
for (const [name, H, algo] of [["sha1", SHA1, "SHA-1"], ["sha256", SHA256, "SHA-256"]]) {
  for (const len of [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, randInt(5000), 1 << 20]) {
    const b = rand(len);
    const h = new H();
    for (const piece of splits(b)) h.update(piece);
    const got = name === "sha1" ? hex(h.digest()) : h.hex();
    const want = hex(new Uint8Array(await crypto.subtle.digest(algo, b)));
    check(got === want, name + " of " + len + " bytes vs WebCrypto");
  }
}

// Sealed messages: decryptTo (seipd.js) against OpenPGP.js's decrypt.
const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8"));
const senderKey = await openpgp.readKey({ armoredKey: readFileSync(join(dir, "sender.asc"), "utf8") });

function body(b) {
  const pieces = splits(b);
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

// mode is how viaPage runs the crypto: on this thread, or in workers.
let mode = "inline";

async function viaPage(c, ct) {
  const parts = [];
  let committed = false;
  let aborted = false;
  try {
    const workers = mode === "workers" ? nodeWorker : () => null;
    const r = await stream.decryptTo(openpgp, body(ct), ct.length, { secret: c.secret, senderKey, workers }, async (name) => ({
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
    return { ok: false, kind: e.kind || String(e), committed, aborted, wrote: parts.length > 0 };
  }
}

async function viaOpenPGP(c, ct) {
  try {
    const message = await openpgp.readMessage({ binaryMessage: ct });
    const r = await openpgp.decrypt({ message, passwords: [c.secret], verificationKeys: senderKey, format: "binary", expectSigned: true });
    return { ok: true, data: r.data, filename: r.filename };
  } catch (e) {
    return { ok: false, err: e.message };
  }
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

for (const m of ["inline", "workers"]) {
mode = m;
for (const c of cases) {
  console.log("case " + c.name + " (" + mode + ")");
  const ct = new Uint8Array(readFileSync(join(dir, c.file)));
  const mine = await bounded(viaPage(c, ct), "the page's decryptTo");
  const theirs = await bounded(viaOpenPGP(c, ct), "OpenPGP.js's decrypt");
  if (c.expect === "ok") {
    check(mine.ok && mine.committed && !mine.aborted, c.name + ": page decryption failed: " + (mine.kind || ""));
    check(theirs.ok, c.name + ": OpenPGP.js decryption failed: " + theirs.err);
    if (mine.ok && theirs.ok) {
      check(equal(mine.data, theirs.data), c.name + ": plaintext differs from OpenPGP.js's");
      check(mine.r.filename === theirs.filename, c.name + ": file name " + mine.r.filename + " vs " + theirs.filename);
      check(mine.r.sha256 === c.sha256 && mine.r.size === mine.data.length, c.name + ": fingerprint " + mine.r.sha256);
    }
  } else {
    check(!mine.ok && !mine.committed, c.name + ": the page accepted a bad message (committed " + mine.committed + ")");
    check(!theirs.ok, c.name + ": OpenPGP.js accepted it too (the case is wrong)");
    check(!mine.ok && c.expect.split("|").includes(mine.kind), c.name + ": failure kind " + mine.kind + ", want " + c.expect);
    if (mine.wrote) check(mine.aborted, c.name + ": plaintext written but the sink not aborted");
  }
}

}
// Every worker the page started is ended, whatever the outcome: a worker
// left running holds a session key.
await new Promise((r) => setTimeout(r, 100));
check(started >= cases.length, "the worker path started " + started + " workers for " + cases.length + " cases");
check(live === 0, live + " workers left running");

console.log((failures ? "FAILED " + failures + " of " : "ok ") + checks + " checks");
process.exit(failures ? 1 : 0);
