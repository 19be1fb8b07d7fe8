// seipd decrypts the body of a SEIPD v1 packet (RFC 9580 §5.13.1: AES in
// CFB mode with a zero IV over a random prefix, the inner packets and a
// modification detection code) as a stream, for large documents.
// OpenPGP.js does the same with an AES that allocates per block; here the
// cipher and the MDC's SHA-1 run over whole chunks, on another thread
// (cryptoworker.js) where the browser has workers, which is what makes a
// 600 MiB document practical (docs/recipient.md). OpenPGP.js still reads
// the session key and the inner packets and checks the signature.
//
// The plaintext is released before the MDC is known, as OpenPGP.js does
// with allowUnauthenticatedStream: the caller must not trust it until
// checked resolves. A wrong MDC errors the stream instead of closing it,
// and rejects checked.

import { CFBDecrypter } from "./aes.js";
import { SHA1 } from "./sha1.js";

const keySizes = { aes128: 16, aes192: 24, aes256: 32 };
const block = 16;
const prefixLen = block + 2;
const mdcLen = 22; // tag 19 new format (0xD3), length 20, SHA-1
// headroom is the room before each piece for the bytes held back (≥ prefixLen + mdcLen, a multiple of 4).
const headroom = 64;

/** supported reports whether decryptSEIPD handles packet with a session key of algorithm. */
export function supported(packet, algorithm) {
  return !!packet && packet.version === 1 && algorithm in keySizes && !!packet.encrypted;
}

/** SEIPDError is a failure of this layer: kind is "quickcheck" (wrong key), "short" or "modified". */
export class SEIPDError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/**
 * Decrypter is the SEIPD v1 layer without streams: push each ciphertext
 * chunk, get the plaintext it releases (the last 22 bytes seen are held
 * back: they may be the MDC), then end() checks the MDC. Both throw a
 * SEIPDError. The released arrays are the caller's (a worker transfers
 * their buffers).
 */
export class Decrypter {
  constructor(algorithm, key) {
    if (!(algorithm in keySizes) || !key || key.length !== keySizes[algorithm]) {
      throw new SEIPDError("quickcheck", "unsupported session key " + algorithm);
    }
    this.cfb = new CFBDecrypter(key);
    this.mdc = new SHA1();
    this.pending = new Uint8Array(0); // decrypted, not yet released
    this.started = false;
    this.failed = null;
  }

  /**
   * pushInPlace is push without a copy: chunk is decrypted where it is and
   * the plaintext released is a view of chunk's buffer, which must have
   * headroom bytes free before chunk (for the held-back bytes).
   */
  pushInPlace(chunk) {
    if (this.failed) throw this.failed;
    const pending = this.pending;
    if (chunk.byteOffset < pending.length) return this.push(chunk);
    this.cfb.decrypt(chunk, chunk);
    const buf = new Uint8Array(chunk.buffer, chunk.byteOffset - pending.length, pending.length + chunk.length);
    buf.set(pending, 0);
    return this.release(buf);
  }

  /** push decrypts chunk (Uint8Array, not kept) and returns the plaintext it releases, maybe empty. */
  push(chunk) {
    // A copy, with headroom, placed so that its whole blocks start on
    // 4-byte boundaries (aes.js then reads and writes words).
    const head = (block - this.cfb.pos) % block; // bytes left of the current block
    const at = headroom + ((4 - (head & 3)) & 3);
    const buf = new Uint8Array(at + chunk.length);
    buf.set(chunk, at);
    return this.pushInPlace(buf.subarray(at));
  }

  // release takes the decrypted bytes after the prefix is checked, keeps
  // the last mdcLen back, hashes and returns the rest.
  release(all) {
    if (!this.started) {
      if (all.length < prefixLen) {
        this.pending = all.slice();
        return new Uint8Array(0);
      }
      // The prefix repeats its last two random bytes: a wrong session key
      // shows here, before any plaintext is released.
      if (all[block - 2] !== all[block] || all[block - 1] !== all[block + 1]) {
        throw this.fail(new SEIPDError("quickcheck", "session key does not decrypt this message"));
      }
      this.mdc.update(all.subarray(0, prefixLen));
      all = all.subarray(prefixLen);
      this.started = true;
    }
    if (all.length <= mdcLen) {
      this.pending = all.slice();
      return new Uint8Array(0);
    }
    const out = all.subarray(0, all.length - mdcLen);
    this.mdc.update(out);
    this.pending = all.slice(all.length - mdcLen);
    return out;
  }

  /** end checks the MDC once the ciphertext has ended. */
  end() {
    if (this.failed) throw this.failed;
    const p = this.pending;
    if (!this.started || p.length !== mdcLen) throw this.fail(new SEIPDError("short", "encrypted data cut short"));
    if (p[0] !== 0xd3 || p[1] !== 0x14) throw this.fail(new SEIPDError("modified", "Modification detected: no MDC packet"));
    this.mdc.update(p.subarray(0, 2));
    const got = this.mdc.digest();
    let diff = 0;
    for (let i = 0; i < 20; i++) diff |= got[i] ^ p[2 + i];
    if (diff !== 0) throw this.fail(new SEIPDError("modified", "Modification detected."));
  }

  fail(err) {
    this.failed = err;
    return err;
  }
}

/** batch is the size of the ciphertext pieces handed to a worker. */
const batch = 1 << 20;
/** depth is how many pieces may be in a worker at once. */
const depth = 4;

/**
 * decryptSEIPD decrypts body (a ReadableStream of the SEIPD v1 packet's
 * bytes after its version byte) with key (Uint8Array) of algorithm
 * ("aes128" | "aes192" | "aes256"). Returns {plaintext, checked}:
 * plaintext streams the inner packets; checked resolves once the MDC
 * matched, or rejects with a SEIPDError; failed() returns that error as
 * soon as there is one (checked settles only once the stream is read to
 * its end), else null; engine() is what ran AES and SHA-1 ("wasm" or
 * "js"; "" before a worker has ended). With worker (a Worker running cryptoworker.js, or
 * anything with its postMessage, onmessage, onerror and terminate) the
 * decryption runs there, ahead of the reader by up to depth pieces; the
 * worker is terminated at the end.
 */
export function decryptSEIPD(body, algorithm, key, worker = null) {
  const d = new Decrypter(algorithm, key); // throws on a bad key before anything starts
  const reader = body.getReader();
  let settle;
  let failure = null;
  const checked = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  checked.catch(() => {}); // the caller awaits it when it needs it
  const fail = (ctl, err) => {
    if (!(err instanceof SEIPDError)) err = new SEIPDError("short", err && err.message ? err.message : String(err));
    failure = err;
    settle.reject(err);
    ctl.error(err);
    reader.cancel(err).catch(() => {});
    if (worker) worker.terminate();
  };
  const source = worker ? viaWorker(reader, algorithm, key, worker) : inline(reader, d);
  const plaintext = new ReadableStream({
    async pull(ctl) {
      for (;;) {
        let r;
        try {
          r = await source.next();
        } catch (e) {
          fail(ctl, e);
          return;
        }
        if (r.done) {
          settle.resolve();
          ctl.close();
          if (worker) worker.terminate();
          return;
        }
        if (r.value.length === 0) continue;
        ctl.enqueue(r.value);
        return;
      }
    },
    cancel(reason) {
      settle.reject(new SEIPDError("short", "cancelled"));
      if (worker) worker.terminate();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { plaintext, checked, failed: () => failure, engine: () => source.engine };
}

// inline decrypts on this thread, one chunk per read.
function inline(reader, d) {
  return {
    engine: "js",
    async next() {
      for (;;) {
        const r = await reader.read();
        if (r.done) {
          d.end();
          return { done: true };
        }
        if (!r.value || r.value.length === 0) continue;
        return { done: false, value: d.push(r.value) };
      }
    },
  };
}

// viaWorker feeds the ciphertext to the worker in pieces of batch bytes
// (copied: OpenPGP.js may still hold the chunks' buffers), depth at most in
// flight, and yields the plaintext pieces in order.
function viaWorker(reader, algorithm, key, worker) {
  const results = [];
  let inflight = 0;
  let wake = null;
  let credit = null;
  const poke = () => {
    if (wake) { const w = wake; wake = null; w(); }
  };
  worker.onmessage = (ev) => {
    results.push(ev.data || {});
    poke();
  };
  worker.onerror = () => {
    results.push({ op: "error", kind: "short", message: "the decryption worker failed" });
    poke();
  };
  worker.postMessage({ op: "init", algorithm, key: key.slice() });
  const send = (msg, transfer) => {
    inflight++;
    worker.postMessage(msg, transfer);
  };
  (async () => {
    // Each piece has headroom bytes before it: the worker decrypts it in
    // place and puts the bytes it held back there (no copy, no new buffer).
    // Pieces are whole multiples of the block, so every piece's blocks
    // start on a 4-byte boundary.
    const room = () => new Uint8Array(new ArrayBuffer(headroom + batch), headroom, batch);
    let buf = room();
    let fill = 0;
    const flush = async () => {
      while (inflight >= depth) await new Promise((r) => { credit = r; });
      send({ op: "chunk", buf: buf.buffer, off: headroom, len: fill }, [buf.buffer]);
      buf = room();
      fill = 0;
    };
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        const c = r.value;
        for (let off = 0; c && off < c.length;) {
          const n = Math.min(batch - fill, c.length - off);
          buf.set(c.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill === batch) await flush();
        }
      }
      if (fill > 0) await flush();
      send({ op: "end" });
    } catch (e) {
      results.push({ op: "error", kind: "short", message: e && e.message ? e.message : String(e) });
      poke();
    }
  })();
  return {
    engine: "", // the worker's, once it has ended
    async next() {
      while (results.length === 0) await new Promise((r) => { wake = r; });
      const m = results.shift();
      // A piece counts as in flight until read here, so that neither the
      // worker nor the queue of its answers holds more than depth pieces.
      inflight--;
      if (credit) { const c = credit; credit = null; c(); }
      if (m.op === "plain") return { done: false, value: new Uint8Array(m.buf, m.off, m.len) };
      if (m.op === "done") {
        this.engine = m.engine === "wasm" ? "wasm" : "js";
        return { done: true };
      }
      throw new SEIPDError(m.kind in { quickcheck: 1, short: 1, modified: 1 } ? m.kind : "short", String(m.message || "decryption failed"));
    },
  };
}
