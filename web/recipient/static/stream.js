// stream decrypts a large sealed document as it downloads, writing the
// plaintext to a sink (a file the person chose) without holding the
// document in memory.
//
// OpenPGP.js releases the plaintext of a SEIPD v1 (MDC) message before its
// end only with allowUnauthenticatedStream: the modification check and the
// sender's signature are known once the last byte is read. So nothing is
// trusted until then: the sink is committed only after both checks pass;
// any failure aborts it (the file is removed, or the download fails) and
// the caller shows "document altéré — supprimez ce fichier".

import { OpenError, readConfig } from "./opener.js";
import * as seipd from "./seipd.js";
import { SHA256 } from "./sha256.js";
import { Inner, Unsupported, maxSignature } from "./onepass.js";

// Malformed is a sealed inner message that no signer writes (sniff).
class Malformed extends Error {}

/**
 * newWorker starts a crypto worker (cryptoworker.js), or returns null
 * where the browser has no module workers: the work then runs on the
 * page's thread. With ?engine=js in the page's address the worker leaves
 * its WebAssembly kernels aside (to compare the two: docs/recipient.md).
 */
export function newWorker() {
  if (typeof Worker !== "function") return null;
  try {
    const url = new URL("./cryptoworker.js", import.meta.url);
    if (typeof location === "object" && new URLSearchParams(location.search).get("engine") === "js") url.search = "?engine=js";
    return new Worker(url, { type: "module" });
  } catch {
    return null;
  }
}

// mark records a step for scripts/bench web (performance timeline).
function mark(step) {
  if (typeof performance !== "undefined" && performance.mark) performance.mark("sealprint-stream-" + step);
}

// hashBatch is the size of the plaintext pieces sent to the fingerprint's worker.
const hashBatch = 1 << 20;
// hashDepth: how many may wait in the worker.
const hashDepth = 4;

// fingerprint hashes the plaintext with SHA-256 in a worker (copies of the
// chunks, gathered in pieces of hashBatch, transferred), else here.
// hex() resolves to {hex, length}.
function fingerprint(worker) {
  if (!worker) {
    const h = new SHA256();
    return { update: async (c) => h.update(c), hex: async () => ({ hex: h.hex(), length: h.length }), stop() {} };
  }
  let buf = new Uint8Array(hashBatch);
  let fill = 0;
  let failed = null;
  let inflight = 0; // pieces the worker has not hashed yet
  const spare = []; // buffers the worker gave back
  let credit = null;
  const answer = new Promise((resolve, reject) => {
    worker.onmessage = (ev) => {
      const m = ev.data || {};
      if (m.op === "hashed") {
        inflight--;
        if (m.buf instanceof ArrayBuffer && m.buf.byteLength === hashBatch) spare.push(m.buf);
        if (credit) { const c = credit; credit = null; c(); }
        return;
      }
      if (m.op === "sha256" && typeof m.hex === "string") resolve({ hex: m.hex, length: m.length });
      else reject(new Error(m.message || "fingerprint worker failed"));
      if (credit) { const c = credit; credit = null; c(); }
    };
    worker.onerror = () => {
      reject(new Error("fingerprint worker failed"));
      if (credit) { const c = credit; credit = null; c(); }
    };
  });
  answer.catch((e) => { failed = e; });
  const flush = async () => {
    // At most hashDepth pieces wait in the worker: it may be slower than
    // the sink, and what it has not hashed yet is memory held.
    while (inflight >= hashDepth && !failed) await new Promise((r) => { credit = r; });
    if (failed) throw failed;
    const out = fill === hashBatch ? buf : buf.slice(0, fill);
    inflight++;
    worker.postMessage({ op: "hash", buf: out.buffer }, [out.buffer]);
    buf = new Uint8Array(spare.pop() || new ArrayBuffer(hashBatch));
    fill = 0;
  };
  return {
    async update(c) {
      if (failed) throw failed;
      for (let off = 0; off < c.length;) {
        const n = Math.min(hashBatch - fill, c.length - off);
        buf.set(c.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === hashBatch) await flush();
      }
    },
    async hex() {
      if (fill > 0) await flush();
      worker.postMessage({ op: "digest" });
      try {
        return await answer;
      } finally {
        worker.terminate();
      }
    },
    stop: () => worker.terminate(),
  };
}

function keyIDs(key) {
  return key.getKeys().map((k) => k.getKeyID().toHex());
}

// window is how far (bytes) the ciphertext fed to OpenPGP.js may run ahead
// of the plaintext written: OpenPGP.js tees the plaintext, and its eager
// hashing branch would otherwise pile the document up in memory. It also
// covers the pieces in the two workers (up to 4 + 4 MiB) and the sink's
// batches.
const window = 16 * 1024 * 1024;

// gate holds the input back until the output catches up.
class Gate {
  constructor() {
    this.out = 0;
    this.wake = null;
  }
  // advance records n more plaintext bytes written.
  advance(n) {
    this.out += n;
    if (this.wake) { const w = this.wake; this.wake = null; w(); }
  }
  async wait(fed) {
    while (fed - this.out > window) await new Promise((r) => { this.wake = r; });
  }
}

// gated reads the ciphertext body as OpenPGP.js asks for it, never more
// than window ahead of the sink, refusing more than limit bytes, erroring
// if the body ends short of limit, and reporting progress.
function gated(body, limit, progress, gate) {
  const reader = body.getReader();
  let n = 0;
  return new ReadableStream({
    async pull(ctl) {
      await gate.wait(n);
      let r;
      // Empty pieces skipped: OpenPGP.js takes one for the end.
      do r = await reader.read(); while (!r.done && r.value.length === 0);
      const { done, value } = r;
      if (done) {
        if (n !== limit) ctl.error(new OpenError("corrupt", "download cut short"));
        else ctl.close();
        return;
      }
      n += value.length;
      if (n > limit) {
        reader.cancel().catch(() => {});
        ctl.error(new OpenError("corrupt", "more bytes than announced"));
        return;
      }
      progress(n / limit);
      ctl.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * decryptTo reads the ciphertext stream body (size bytes), decrypts it with
 * the link secret or the recipient's keys, checks the sender's signature,
 * and writes the plaintext to the sink that openSink(filename) returns
 * ({write(Uint8Array), close(), abort()}), opened once the sealed file name
 * is known. workers() returns a crypto worker (cryptoworker.js) or null
 * to work on this thread; it is called twice, for the decryption and for
 * the fingerprint, so that each has a thread (default newWorker).
 * Returns {sha256, size, filename, sessionKey, signer, openedWith, path}
 * (openedWith: the key of keys that opened it, or null; path: "onepass"
 * when onepass.js parsed the inner message, "openpgp" when OpenPGP.js did;
 * engine: "wasm", "js" or "openpgp", what ran AES and the hashes). On any failure it
 * aborts the sink and throws an OpenError; kind "altered" means plaintext
 * may already be on disk.
 */
export async function decryptTo(openpgp, body, size, { secret, keys, senderKey, workers = newWorker }, openSink, progress) {
  let wrote = false;
  let sink = null;
  let hash = null;
  try {
    const gate = new Gate();
    const input = gated(body, size, progress, gate);
    let message;
    try {
      message = await openpgp.readMessage({ binaryMessage: input, config: readConfig(size) });
    } catch (e) {
      throw new OpenError("corrupt", e.message);
    }
    if (keys) {
      const wanted = message.getEncryptionKeyIDs().map((k) => k.toHex());
      const have = keys.flatMap(keyIDs);
      if (!wanted.some((k) => have.includes(k))) throw new OpenError("nomatch", wanted.map((k) => k.toUpperCase()).join(", "));
    }
    let sessionKeys;
    try {
      sessionKeys = await openpgp.decryptSessionKeys(keys ? { message, decryptionKeys: keys } : { message, passwords: [secret] });
    } catch (e) {
      throw new OpenError(keys ? "nomatch" : "badsecret", e.message);
    }
    const sk = sessionKeys[0];
    mark("key");
    const packet = message.packets.filterByTag(openpgp.enums.packet.symEncryptedIntegrityProtectedData)[0];
    let result;
    let filename = "";
    let checked = null; // the MDC, when seipd.js decrypts
    let onepass = null; // {head, rest}: the inner message is parsed here (onepass.js)
    let decrypted = null; // seipd.js's decryption, when it decrypts
    if (seipd.supported(packet, sk.algorithm)) {
      const d = seipd.decryptSEIPD(packet.encrypted, sk.algorithm, sk.data, workers());
      decrypted = d;
      checked = d.checked;
      const rd = d.plaintext.getReader();
      const refused = (e) => {
        rd.cancel().catch(() => {});
        const quick = d.failed() && d.failed().kind === "quickcheck";
        return new OpenError(quick ? (keys ? "nomatch" : "badsecret") : "corrupt", e.message);
      };
      let head;
      try {
        head = await sniff(rd);
      } catch (e) {
        if (e instanceof Malformed) {
          rd.cancel().catch(() => {});
          throw new OpenError("corrupt", e.message);
        }
        throw refused(e);
      }
      if (head.filename !== null) {
        onepass = { head: head.pieces, rest: rd };
        filename = head.filename;
      } else {
        // Not the sealed profile's shape: OpenPGP.js reads it all.
        let inner;
        try {
          inner = await openpgp.readMessage({ binaryMessage: replay(head.pieces, rd), config: readConfig(size) });
          result = await openpgp.verify({ message: inner, verificationKeys: senderKey, format: "binary", config: readConfig(size) });
        } catch (e) {
          throw refused(e);
        }
        filename = inner.getFilename() || "";
      }
    } else {
      // SEIPD v2 (AEAD) and ciphers other than AES: OpenPGP.js alone.
      try {
        result = await openpgp.decrypt({
          message, sessionKeys: sk, verificationKeys: senderKey, format: "binary",
          config: { ...readConfig(size), allowUnauthenticatedStream: true },
        });
      } catch (e) {
        throw new OpenError(keys ? "nomatch" : "badsecret", e.message);
      }
      filename = result.filename || "";
    }
    if (!onepass && (!result.signatures || result.signatures.length === 0)) throw new OpenError("badsig", "not signed");
    sink = await openSink(filename);
    mark("sink");
    let parsed = null; // onepass.js's answer: fingerprint, signature and its digest
    if (onepass) {
      const w = workers();
      hash = { stop: () => { if (w) w.terminate(); } };
      try {
        parsed = await pump(onepass, w, async (chunk) => {
          wrote = true;
          await sink.write(chunk);
        }, (n) => gate.advance(n));
      } catch (e) {
        onepass.rest.cancel().catch(() => {});
        throw new OpenError(wrote ? "altered" : "corrupt", e && e.message ? e.message : String(e));
      }
    } else {
      hash = fingerprint(workers());
      const reader = result.data.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await hash.update(value);
          wrote = true;
          await sink.write(value);
          gate.advance(value.length);
        }
      } catch (e) {
        throw new OpenError(wrote ? "altered" : "corrupt", e && e.message ? e.message : String(e));
      }
    }
    mark("streamed");
    // The stream is read to its end; with seipd.js the MDC is its own
    // promise (OpenPGP.js's decrypt errors the stream). Then the signature.
    if (checked) {
      try {
        await checked;
      } catch (e) {
        throw new OpenError(wrote ? "altered" : "corrupt", e.message);
      }
    }
    let sum;
    if (parsed) {
      try {
        await verifyDigest(openpgp, parsed, senderKey);
      } catch (e) {
        throw new OpenError(wrote ? "altered" : "badsig", e.message);
      }
      sum = { hex: parsed.sha256, length: parsed.length };
      hash.stop();
    } else {
      const senderIDs = keyIDs(senderKey);
      let good = false;
      for (const s of result.signatures) {
        try {
          if ((await s.verified) === true && senderIDs.includes(s.keyID.toHex())) good = true;
        } catch (e) {
          throw new OpenError(wrote ? "altered" : "badsig", e.message);
        }
      }
      if (!good) throw new OpenError(wrote ? "altered" : "badsig", "no signature by the sender's key");
      sum = await hash.hex();
    }
    mark("checked");
    await sink.close();
    mark("handed");
    // The recipient key the message was encrypted to (key mode): it signs
    // the receipt and the reply, as for documents opened in memory.
    const addressed = message.getEncryptionKeyIDs().map((k) => k.toHex());
    const openedWith = keys ? keys.find((k) => keyIDs(k).some((id) => addressed.includes(id))) || null : null;
    return {
      sha256: sum.hex,
      size: sum.length,
      filename,
      sessionKey: sessionKeys[0].data,
      signer: { fingerprint: senderKey.getFingerprint().toUpperCase(), userID: senderKey.getUserIDs()[0] || "" },
      openedWith,
      path: parsed ? "onepass" : "openpgp",
      engine: engineOf(decrypted, parsed),
    };
  } catch (e) {
    if (hash) hash.stop();
    if (sink) {
      try { await sink.abort(); } catch { /* reported below */ }
    }
    if (e instanceof OpenError) throw e;
    throw new OpenError(wrote ? "altered" : "corrupt", e && e.message ? e.message : String(e));
  }
}

// engineOf says what ran the per-byte loops: "wasm" when both the
// decryption and the inner message's hashing ran in kernels.js, "js" when
// the page's JavaScript did, "openpgp" when OpenPGP.js did any of it.
function engineOf(decrypted, parsed) {
  if (!decrypted || !parsed) return "openpgp";
  return decrypted.engine() === "wasm" && parsed.engine === "wasm" ? "wasm" : "js";
}

// headLimit bounds the plaintext read to tell the inner message's shape:
// its first packets (One-Pass Signature, literal header) are far smaller.
const headLimit = 64 * 1024;

// sniff reads the first plaintext pieces until onepass.js knows the inner
// message's shape. Returns {pieces, filename}: filename is null when it is
// another shape (then OpenPGP.js reads pieces and the rest). A malformed
// head is refused (Malformed): OpenPGP.js's streaming verify hung on some.
// Other errors are the decryption's (a wrong key shows here).
async function sniff(rd) {
  const pieces = [];
  const look = new Inner(false);
  let n = 0;
  while (!look.head()) {
    const r = await rd.read();
    if (r.done) return { pieces, filename: null };
    pieces.push(r.value);
    n += r.value.length;
    try {
      look.push(r.value);
    } catch (e) {
      if (e instanceof Unsupported) return { pieces, filename: null };
      throw new Malformed(e && e.message ? e.message : String(e));
    }
    if (!look.head() && n > headLimit) return { pieces, filename: null };
  }
  return { pieces, filename: look.filename };
}

// replay is the stream of pieces, then of what rd has left.
function replay(pieces, rd) {
  return new ReadableStream({
    async pull(ctl) {
      if (pieces.length > 0) { ctl.enqueue(pieces.shift()); return; }
      const r = await rd.read();
      if (r.done) ctl.close();
      else ctl.enqueue(r.value);
    },
    cancel: (reason) => rd.cancel(reason),
  }, { highWaterMark: 0 });
}

// innerDepth is how many plaintext pieces may be in the inner worker at once.
const innerDepth = 4;

// pump parses the inner message with onepass.js in worker (cryptoworker.js,
// or null for this thread): each plaintext piece goes there and comes back
// with where the literal body lies in it; write(chunk) gets the body in
// order, advance(n) the plaintext done with. Resolves to Inner's end().
async function pump({ head, rest }, worker, write, advance) {
  const next = async () => (head.length > 0 ? { done: false, value: head.shift() } : rest.read());
  if (!worker) {
    const inner = new Inner();
    for (;;) {
      const r = await next();
      if (r.done) return inner.end();
      const c = r.value;
      const segs = inner.push(c);
      for (let k = 0; k < segs.length; k += 2) await write(c.subarray(segs[k], segs[k] + segs[k + 1]));
      advance(c.length);
    }
  }
  const results = [];
  let wake = null;
  let credit = null;
  let inflight = 0;
  const waited = { sink: 0, inner: 0, plain: 0 }; // ms this thread waited on each, for scripts/bench web
  const clock = () => (typeof performance !== "undefined" ? performance.now() : Date.now());
  const poke = () => { if (wake) { const w = wake; wake = null; w(); } };
  worker.onmessage = (ev) => { results.push(ev.data || {}); poke(); };
  worker.onerror = () => { results.push({ op: "error", message: "the document's worker failed" }); poke(); };
  worker.postMessage({ op: "inner" });
  let stopped = false;
  let failed = null;
  (async () => {
    try {
      for (;;) {
        while (inflight >= innerDepth && !stopped) await new Promise((r) => { credit = r; });
        if (stopped) return;
        const t0 = clock();
        const r = await next();
        waited.plain += clock() - t0;
        inflight++;
        if (r.done) { worker.postMessage({ op: "finish" }); return; }
        const c = r.value;
        worker.postMessage({ op: "piece", buf: c.buffer, off: c.byteOffset, len: c.length }, [c.buffer]);
      }
    } catch (e) {
      // After the pieces already sent: their body is written first, as
      // it would have been had the failure come later.
      failed = e instanceof Error ? e : new Error(String(e));
      poke();
    }
  })();
  try {
    for (;;) {
      const t0 = clock();
      while (results.length === 0) {
        if (failed && inflight === 0) throw failed;
        await new Promise((r) => { wake = r; });
      }
      waited.inner += clock() - t0;
      const m = results.shift();
      inflight--;
      if (credit) { const c = credit; credit = null; c(); }
      if (m.op === "body" && m.buf instanceof ArrayBuffer && Array.isArray(m.segs)) {
        const t1 = clock();
        for (let k = 0; k < m.segs.length; k += 2) await write(new Uint8Array(m.buf, m.off + m.segs[k], m.segs[k + 1]));
        waited.sink += clock() - t1;
        advance(m.len);
        continue;
      }
      if (m.op === "parsed") {
        const f = (x) => (x / 1000).toFixed(1);
        mark(`waits-plaintext-${f(waited.plain)}s-inner-${f(waited.inner)}s-sink-${f(waited.sink)}s`);
        return m;
      }
      throw new Error(String(m.message || "the inner message does not parse"));
    }
  } finally {
    stopped = true;
    if (credit) { const c = credit; credit = null; c(); }
  }
}

// verifyDigest checks the document's signature from the digest onepass.js
// computed: OpenPGP.js reads the signature packet and, given the digest
// (its SignaturePacket.verify uses .hashed when set), checks its left 16
// bits and the EdDSA signature against the sender's key, then that key's
// validity when it signed, as its own verify does.
async function verifyDigest(openpgp, parsed, senderKey) {
  if (!(parsed.signature instanceof Uint8Array) || parsed.signature.length > maxSignature + 6 ||
    !(parsed.digest instanceof Uint8Array) || parsed.digest.length !== 32) throw new Error("no signature");
  const sig = await openpgp.readSignature({ binarySignature: parsed.signature });
  if (sig.packets.length !== 1) throw new Error("not one signature");
  const p = sig.packets[0];
  if (p.version !== 4 || p.signatureType !== openpgp.enums.signature.binary || p.hashAlgorithm !== openpgp.enums.hash.sha256) {
    throw new Error("signature of another kind");
  }
  const ops = Array.from(parsed.keyID, (x) => x.toString(16).padStart(2, "0")).join("");
  if (p.issuerKeyID.toHex() !== ops) throw new Error("signature by another key than announced");
  const signing = senderKey.getKeys(p.issuerKeyID)[0];
  if (!signing) throw new Error("no signature by the sender's key");
  p.hashed = parsed.digest;
  await p.verify(signing.keyPacket, openpgp.enums.signature.binary, null, new Date(), false, openpgp.config);
  if (signing.getCreationTime() > p.created) throw new Error("Key is newer than the signature");
  await senderKey.getSigningKey(signing.getKeyID(), p.created, undefined, openpgp.config);
}
