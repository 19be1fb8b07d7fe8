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

import { OpenError } from "./opener.js";
import * as seipd from "./seipd.js";
import { SHA256 } from "./sha256.js";

/**
 * newWorker starts a crypto worker (cryptoworker.js), or returns null
 * where the browser has no module workers: the work then runs on the
 * page's thread.
 */
export function newWorker() {
  if (typeof Worker !== "function") return null;
  try {
    return new Worker(new URL("./cryptoworker.js", import.meta.url), { type: "module" });
  } catch {
    return null;
  }
}

// mark records a step for scripts/bench web (the page's performance timeline).
function mark(step) {
  if (typeof performance !== "undefined" && performance.mark) performance.mark("sealprint-stream-" + step);
}

// hashBatch is the size of the plaintext pieces sent to the fingerprint's worker.
const hashBatch = 1 << 20;
// hashDepth is how many of them may wait in the worker.
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
// of the plaintext written to the sink. OpenPGP.js tees the plaintext for
// its modification check and the signature, and a tee buffers whatever one
// branch reads ahead of the other: without this bound its eager hashing
// branch would pile the whole document up in memory while the file is
// written.
const window = 8 * 1024 * 1024;

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
      const { done, value } = await reader.read();
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
 * Returns {sha256, size, filename, sessionKey, signer, openedWith}
 * (openedWith: the key of keys that opened it, or null). On any failure it
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
      message = await openpgp.readMessage({ binaryMessage: input });
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
    if (seipd.supported(packet, sk.algorithm)) {
      const d = seipd.decryptSEIPD(packet.encrypted, sk.algorithm, sk.data, workers());
      checked = d.checked;
      let inner;
      try {
        inner = await openpgp.readMessage({ binaryMessage: d.plaintext });
        result = await openpgp.verify({ message: inner, verificationKeys: senderKey, format: "binary" });
      } catch (e) {
        d.plaintext.cancel().catch(() => {});
        const quick = d.failed() && d.failed().kind === "quickcheck";
        throw new OpenError(quick ? (keys ? "nomatch" : "badsecret") : "corrupt", e.message);
      }
      filename = inner.getFilename() || "";
    } else {
      // SEIPD v2 (AEAD) and ciphers other than AES: OpenPGP.js alone.
      try {
        result = await openpgp.decrypt({
          message, sessionKeys: sk, verificationKeys: senderKey, format: "binary",
          config: { allowUnauthenticatedStream: true },
        });
      } catch (e) {
        throw new OpenError(keys ? "nomatch" : "badsecret", e.message);
      }
      filename = result.filename || "";
    }
    if (!result.signatures || result.signatures.length === 0) throw new OpenError("badsig", "not signed");
    sink = await openSink(filename);
    mark("sink");
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
    const sum = await hash.hex();
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
