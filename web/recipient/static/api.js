// api talks to the relay (docs/relay-api.md). Only the drop id, the access
// code and the receipt proof are ever sent: never the link's secret, which
// lives in the URL fragment and in memory only.

const base = "/api/v1/drops/";
const jsonLimit = 64 * 1024;

/** APIError is a failed call: status is the HTTP status (0 for a network failure), body the parsed JSON error. */
export class APIError extends Error {
  constructor(status, body) {
    super((body && body.error) || (status ? "HTTP " + status : "network error"));
    this.status = status;
    this.body = body || {};
  }
}

const common = { cache: "no-store", credentials: "same-origin", referrerPolicy: "no-referrer", redirect: "error" };

async function call(path, init = {}) {
  let res;
  try {
    res = await fetch(base + path, { ...common, ...init });
  } catch {
    throw new APIError(0, null);
  }
  const text = res.status === 204 ? "" : await res.text();
  let body = null;
  if (text && text.length <= jsonLimit) {
    try { body = JSON.parse(text); } catch { body = null; }
  }
  if (!res.ok) throw new APIError(res.status, body);
  return body;
}

function post(path, payload) {
  return call(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
}

/** info returns the drop's public information. */
export function info(id) {
  return call(encodeURIComponent(id));
}

/** code checks an access code and returns {grant, expires_in}. */
export function code(id, value) {
  return post(encodeURIComponent(id) + "/code", { code: value });
}

/**
 * receipt posts the proof that the document was decrypted, with the
 * download's one-time receipt token; signed, when given, adds the
 * recipient's signature of the receipt statement ({signer, signature, signed_at})
 * or, in link mode, the proof keyed from the link's secret ({link_proof}).
 */
export function receipt(id, proof, token, signed) {
  return post(encodeURIComponent(id) + "/receipt", { proof, token, ...(signed || {}) });
}

/**
 * download fetches the ciphertext as a stream into one buffer of the
 * announced size, calling progress(fraction) as bytes arrive. It refuses
 * more bytes than announced. Returns {bytes, sha256, receiptToken} (the relay's hash header, may be "";
 * the one-time token a receipt for this download needs).
 */
export async function download(id, grant, expectedSize, progress) {
  const headers = grant ? { "X-Sealprint-Grant": grant } : {};
  let res;
  try {
    res = await fetch(base + encodeURIComponent(id) + "/blob", { ...common, headers });
  } catch {
    throw new APIError(0, null);
  }
  if (!res.ok) {
    let body = null;
    try { body = JSON.parse(await res.text()); } catch { body = null; }
    throw new APIError(res.status, body);
  }
  const announced = Number(res.headers.get("Content-Length") || expectedSize || 0);
  if (!Number.isSafeInteger(announced) || announced <= 0 || (expectedSize && announced !== expectedSize)) {
    throw new APIError(-1, { error: "size mismatch" });
  }
  const buf = new Uint8Array(announced);
  let n = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.length > announced) {
      reader.cancel();
      throw new APIError(-1, { error: "more bytes than announced" });
    }
    buf.set(value, n);
    n += value.length;
    progress(n / announced);
  }
  if (n !== announced) throw new APIError(-1, { error: "download cut short" });
  return {
    bytes: buf,
    sha256: (res.headers.get("X-Sealprint-SHA256") || "").toLowerCase(),
    receiptToken: res.headers.get("X-Sealprint-Receipt-Token") || "",
  };
}

/** inlineLimit is the largest document (ciphertext bytes) decrypted in memory and shown inline. */
export const inlineLimit = 32 * 1024 * 1024;

/** large reports whether a document of size bytes (ciphertext) is streamed to a file (bigdoc.js). */
export function large(size) {
  return size > inlineLimit;
}

/** rangeSize is how much of a large ciphertext one request asks for. */
export const rangeSize = 32 * 1024 * 1024;

/** prefetch is how many ranges are asked for ahead of the one read (memory: about (prefetch + 1) × rangeSize). */
export const prefetch = 2;

async function fetchBlob(id, headers) {
  let res;
  try {
    res = await fetch(base + encodeURIComponent(id) + "/blob", { ...common, headers });
  } catch {
    throw new APIError(0, null);
  }
  if (!res.ok) {
    let body = null;
    try { body = JSON.parse(await res.text()); } catch { body = null; }
    throw new APIError(res.status, body);
  }
  return res;
}

/**
 * blob downloads a large ciphertext as a stream read piece by piece: the
 * relay answers ranges of rangeSize, asked for prefetch ahead of the one
 * the reader is in, so the browser never buffers much more than
 * prefetch + 1 ranges (Firefox buffers a whole response body that is read
 * slowly). A relay without ranges answers the whole body, which is
 * streamed as it is. Returns {body, size, sha256, receiptToken}.
 */
export async function blob(id, grant, expectedSize) {
  const first = { Range: "bytes=0-" + (rangeSize - 1) };
  if (grant) first["X-Sealprint-Grant"] = grant;
  const res = await fetchBlob(id, first);
  const sha256 = (res.headers.get("X-Sealprint-SHA256") || "").toLowerCase();
  const token = res.headers.get("X-Sealprint-Download") || "";
  const receiptToken = res.headers.get("X-Sealprint-Receipt-Token") || "";
  let size;
  if (res.status === 206) {
    const m = /^bytes 0-(\d+)\/(\d+)$/.exec(res.headers.get("Content-Range") || "");
    size = m ? Number(m[2]) : 0;
    if (!m || !token) size = 0;
  } else {
    size = Number(res.headers.get("Content-Length") || 0);
  }
  if (!Number.isSafeInteger(size) || size <= 0 || (expectedSize && size !== expectedSize)) {
    res.body?.cancel().catch(() => {});
    throw new APIError(-1, { error: "size mismatch" });
  }
  if (res.status !== 206) return { body: res.body, size, sha256, receiptToken };

  let reader = res.body.getReader();
  let asked = Math.min(rangeSize, size); // first byte not asked for yet
  const ask = (start) => {
    const end = Math.min(start + rangeSize, size) - 1;
    const p = fetchBlob(id, { Range: "bytes=" + start + "-" + end, "X-Sealprint-Download": token }).then((r) => {
      if (r.status !== 206 || r.headers.get("Content-Range") !== "bytes " + start + "-" + end + "/" + size) {
        r.body?.cancel().catch(() => {});
        throw new APIError(-1, { error: "unexpected range" });
      }
      return r;
    });
    p.catch(() => {}); // reported when awaited
    return p;
  };
  const ahead = [];
  const topUp = () => {
    while (ahead.length < prefetch && asked < size) {
      ahead.push(ask(asked));
      asked = Math.min(asked + rangeSize, size);
    }
  };
  topUp();
  const body = new ReadableStream({
    async pull(ctl) {
      for (;;) {
        const { done, value } = await reader.read();
        if (!done) {
          ctl.enqueue(value);
          return;
        }
        if (ahead.length === 0) {
          ctl.close();
          return;
        }
        const r = await ahead.shift();
        reader = r.body.getReader();
        topUp();
      }
    },
    cancel(reason) {
      for (const p of ahead.splice(0)) p.then((r) => r.body?.cancel(), () => {});
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { body, size, sha256, receiptToken };
}
