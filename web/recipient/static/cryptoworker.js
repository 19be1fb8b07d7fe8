// cryptoworker is a module worker that runs a large document's own crypto
// off the page's thread: the SEIPD v1 layer (AES-CFB and the MDC's SHA-1,
// seipd.js), the document's SHA-256 fingerprint (sha256.js), or the inner
// message in one pass (onepass.js: fingerprint and signed digest). The page
// starts one per job (stream.js); each job is one of:
//   {op: "init", algorithm, key}, then {op: "chunk", buf, off, len}
//   (ArrayBuffer, transferred; the bytes at off, with free room before
//   them) decrypted in place and answered {op: "plain", buf, off, len}
//   (the same buffer), then {op: "end"}
//   answered {op: "done"}; any failure is answered {op: "error", kind,
//   message} and ends the job;
//   {op: "hash", buf} (transferred) answered {op: "hashed", buf} (given
//   back), then {op: "digest"}
//   answered {op: "sha256", hex, length};
//   {op: "inner"}, then {op: "piece", buf, off, len} (the decrypted inner
//   message, transferred) answered {op: "body", buf, off, len, segs} (the
//   same buffer; segs: where the literal body lies in it, [offset, length]
//   pairs from off), then {op: "finish"} answered {op: "parsed", ...} with
//   onepass.js's Inner end(): the fingerprint, the signature packet and
//   the digest it signs.
// "done" and "parsed" also say which engine ran the loops:
// engine "wasm" (kernels.js, loaded when the worker starts) or "js".
// It holds the session key of one document and nothing else, and the page
// terminates it when the document is done.

import { Decrypter, SEIPDError } from "./seipd.js";
import { SHA256 } from "./sha256.js";
import { Inner } from "./onepass.js";
import * as kernels from "./kernels.js";

let dec = null;
let hash = null;
let inner = null;
let dead = false;
let engine = "js";

// Messages wait for the kernels (a few ms), then run in order. A worker
// started as cryptoworker.js?engine=js stays in JavaScript.
const wanted = typeof location !== "object" || new URL(location.href).searchParams.get("engine") !== "js";
let queue = (wanted ? kernels.load() : Promise.resolve(null)).then((k) => {
  if (!k) return;
  kernels.install(k);
  engine = "wasm";
});

self.onmessage = (ev) => {
  queue = queue.then(() => handle(ev.data || {}));
};

function handle(m) {
  if (dead) return;
  try {
    switch (m.op) {
      case "init":
        dec = new Decrypter(m.algorithm, m.key instanceof Uint8Array ? m.key : new Uint8Array(0));
        return;
      case "chunk": {
        if (!dec || !(m.buf instanceof ArrayBuffer)) throw new SEIPDError("short", "no decryption under way");
        const off = Number.isSafeInteger(m.off) && m.off >= 0 && m.off <= m.buf.byteLength ? m.off : 0;
        const len = Number.isSafeInteger(m.len) && m.len >= 0 && m.len <= m.buf.byteLength - off ? m.len : m.buf.byteLength - off;
        const out = dec.pushInPlace(new Uint8Array(m.buf, off, len));
        self.postMessage({ op: "plain", buf: out.buffer, off: out.byteOffset, len: out.length }, [out.buffer]);
        return;
      }
      case "end":
        if (!dec) throw new SEIPDError("short", "no decryption under way");
        dec.end();
        self.postMessage({ op: "done", engine });
        return;
      case "hash":
        if (!(m.buf instanceof ArrayBuffer)) return;
        if (!hash) hash = new SHA256();
        hash.update(new Uint8Array(m.buf));
        self.postMessage({ op: "hashed", buf: m.buf }, [m.buf]); // for the page to fill again
        return;
      case "inner":
        inner = new Inner();
        return;
      case "piece": {
        if (!inner || !(m.buf instanceof ArrayBuffer)) throw new Error("no inner message under way");
        const off = Number.isSafeInteger(m.off) && m.off >= 0 && m.off <= m.buf.byteLength ? m.off : 0;
        const len = Number.isSafeInteger(m.len) && m.len >= 0 && m.len <= m.buf.byteLength - off ? m.len : m.buf.byteLength - off;
        const segs = inner.push(new Uint8Array(m.buf, off, len));
        self.postMessage({ op: "body", buf: m.buf, off, len, segs }, [m.buf]);
        return;
      }
      case "finish": {
        if (!inner) throw new Error("no inner message under way");
        const r = inner.end();
        inner = null;
        self.postMessage({ op: "parsed", ...r, engine }, [r.signature.buffer, r.digest.buffer]);
        return;
      }
      case "digest": {
        const h = hash || new SHA256();
        const length = h.length;
        self.postMessage({ op: "sha256", hex: h.hex(), length });
        hash = null;
        return;
      }
    }
  } catch (e) {
    dead = true;
    self.postMessage({ op: "error", kind: e instanceof SEIPDError ? e.kind : "short", message: e && e.message ? e.message : String(e) });
  }
}
