// tus is a small client of the tus 1.0.0 resumable upload protocol
// (https://tus.io/protocols/resumable-upload), enough for the relay: create
// an upload of a known length, send it in chunks with PATCH, and after a
// failed chunk ask the server with HEAD how far it got and go on from
// there. Extra headers (the reply grant) go with every request.

const version = "1.0.0";
const common = { cache: "no-store", credentials: "same-origin", referrerPolicy: "no-referrer", redirect: "error" };

/** TusError is a refused or failed upload: status is the HTTP status (0: network). */
export class TusError extends Error {
  constructor(status, message) {
    super(message || (status ? "HTTP " + status : "network error"));
    this.status = status;
  }
}

function b64(s) {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

async function send(url, init) {
  try {
    return await fetch(url, { ...common, ...init });
  } catch {
    throw new TusError(0);
  }
}

async function errorOf(res) {
  let msg = "";
  try {
    const j = JSON.parse(await res.text());
    msg = typeof j.error === "string" ? j.error : "";
  } catch { /* not JSON */ }
  return new TusError(res.status, msg);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * upload sends bytes (a Uint8Array) to a new upload created at endpoint
 * with metadata (an object of strings), then PATCHes it in chunks to
 * uploadURL. progress(sent, total) is called as chunks are acknowledged.
 * Network failures and 5xx answers are retried, resuming at the offset
 * the server reports; 4xx answers are final.
 */
export async function upload({ endpoint, uploadURL, bytes, metadata = {}, headers = {}, progress = () => {}, chunkSize = 1 << 20, retries = 5 }) {
  const meta = Object.entries(metadata).map(([k, v]) => k + " " + b64(v)).join(",");
  const total = bytes.length;
  const create = await send(endpoint, {
    method: "POST",
    headers: { ...headers, "Tus-Resumable": version, "Upload-Length": String(total), "Upload-Metadata": meta },
  });
  if (create.status !== 201) throw await errorOf(create);
  let offset = 0;
  let failures = 0;
  progress(0, total);
  while (offset < total) {
    const end = Math.min(offset + chunkSize, total);
    let res = null;
    try {
      res = await send(uploadURL, {
        method: "PATCH",
        headers: { ...headers, "Tus-Resumable": version, "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" },
        body: bytes.subarray(offset, end),
      });
    } catch (e) {
      if (!(e instanceof TusError)) throw e;
    }
    if (res && res.status === 204) {
      const got = Number(res.headers.get("Upload-Offset"));
      if (!Number.isSafeInteger(got) || got <= offset || got > total) throw new TusError(-1, "bad Upload-Offset");
      offset = got;
      failures = 0;
      progress(offset, total);
      continue;
    }
    if (res && res.status >= 400 && res.status < 500 && res.status !== 409) throw await errorOf(res);
    if (++failures > retries) throw res ? await errorOf(res) : new TusError(0);
    await sleep(Math.min(500 * 2 ** failures, 8000));
    offset = await resume(uploadURL, headers, offset, total);
  }
  return total;
}

// resume asks the server how much of the upload it holds (HEAD).
async function resume(uploadURL, headers, offset, total) {
  let res;
  try {
    res = await send(uploadURL, { method: "HEAD", headers: { ...headers, "Tus-Resumable": version } });
  } catch {
    return offset; // still unreachable: try the same chunk again
  }
  if (res.status !== 200 && res.status !== 204) throw await errorOf(res);
  const got = Number(res.headers.get("Upload-Offset"));
  if (!Number.isSafeInteger(got) || got < 0 || got > total) throw new TusError(-1, "bad Upload-Offset");
  return got;
}
