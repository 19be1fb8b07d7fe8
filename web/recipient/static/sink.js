// sink opens the file a large document is decrypted into: a file the
// person picks with the File System Access API where the browser has it
// (Chromium); else a file in the browser's private storage for this site
// (Origin Private File System: Firefox), handed to the browser's downloads
// only once the document is verified; else a download fed by this page's
// service worker. Each way the plaintext flows to disk chunk by chunk, and
// abort() leaves no file that could pass for the document: the picked or
// private file is removed, the download fails.
//
// The private file is preferred to the service worker where both exist: a
// service-worker download crosses two more processes and, in Firefox, held
// about 2× the document in memory on the way (docs/recipient.md), and it
// puts an unverified file in the downloads until the end.

const swURL = "/d/static/sw.js";
const swScope = "/d/static/dl/";

/**
 * open returns a sink {kind, name, write(chunk), close(), abort()} for a
 * file named name of at most size bytes. how is "auto" (the picker where
 * there is one, else private storage, else the service-worker download),
 * or "storage" or "download" to force one of the latter two.
 */
export async function open(name, how = "auto", size = 0) {
  if (how === "auto" && typeof window.showSaveFilePicker === "function") {
    try {
      return batched(await pickedFile(name));
    } catch (e) {
      if (e && e.name === "AbortError") throw e; // the person cancelled
      // No user activation left, or the picker is blocked: go on below.
    }
  }
  if (how !== "download") {
    try {
      return batched(await storedFile(name, size));
    } catch {
      // No private storage here (private browsing, quota): download.
    }
  }
  return batched(await download(name));
}

/** batchSize is the size of the writes a sink makes. */
export const batchSize = 1 << 20;

/** depth is how many writes may be on their way to the file at once. */
export const depth = 2;

// batched gathers chunks into writes of batchSize, depth in flight (one
// queued keeps the file written while the page decrypts); buffers reused.
function batched(s) {
  // The service worker queues 4 itself (2 here stalled Chromium).
  const most = s.kind === "download" ? 1 : depth;
  const spare = [];
  let buf = new Uint8Array(batchSize);
  let fill = 0;
  const inflight = []; // in order of writing
  const flush = async () => {
    if (fill === 0) return;
    const out = buf.subarray(0, fill);
    // In order; throws the first write's error.
    while (inflight.length >= most) await inflight.shift();
    const p = s.write(out).then(() => {
      if (out.buffer.byteLength === batchSize && spare.length < most) spare.push(out.buffer);
    });
    p.catch(() => {}); // reported when awaited
    inflight.push(p);
    const again = spare.pop();
    buf = again ? new Uint8Array(again) : new Uint8Array(batchSize);
    fill = 0;
  };
  return {
    kind: s.kind,
    name: s.name,
    async write(chunk) {
      for (let off = 0; off < chunk.length;) {
        const n = Math.min(batchSize - fill, chunk.length - off);
        buf.set(chunk.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === batchSize) await flush();
      }
    },
    async close() {
      await flush();
      while (inflight.length > 0) await inflight.shift();
      await s.close();
    },
    abort: () => s.abort(),
  };
}

const storageDir = "sealprint-documents";

// storedFile writes to a file in the origin's private file system; close()
// hands it to the browser's downloads as name, abort() removes it.
async function storedFile(name, size) {
  if (!navigator.storage || typeof navigator.storage.getDirectory !== "function") throw new Error("no private storage");
  const est = await navigator.storage.estimate();
  if (size && (est.quota || 0) - (est.usage || 0) < size + (16 << 20)) throw new Error("not enough private storage");
  const root = await navigator.storage.getDirectory();
  const dir = await root.getDirectoryHandle(storageDir, { create: true });
  // Documents of earlier visits: already handed over, or never verified.
  for await (const old of dir.keys()) await dir.removeEntry(old).catch(() => {});
  const file = token();
  const handle = await dir.getFileHandle(file, { create: true });
  if (typeof handle.createWritable !== "function") {
    await dir.removeEntry(file).catch(() => {});
    throw new Error("no writable private files");
  }
  const w = await handle.createWritable();
  const remove = () => dir.removeEntry(file).catch(() => {});
  return {
    kind: "storage",
    name,
    write: (chunk) => w.write(chunk),
    async close() {
      await w.close();
      const url = URL.createObjectURL(await handle.getFile());
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      a.hidden = true;
      document.body.append(a);
      a.click();
      a.remove();
      // The downloads copy the file from disk; it is removed when the page
      // goes, or on the next visit (above).
      addEventListener("pagehide", () => {
        URL.revokeObjectURL(url);
        remove();
      }, { once: true });
    },
    async abort() {
      try { await w.abort(); } finally { await remove(); }
    },
  };
}

async function pickedFile(name) {
  const handle = await window.showSaveFilePicker({ suggestedName: name, id: "sealprint" });
  const w = await handle.createWritable();
  return {
    kind: "file",
    name: handle.name,
    write: (chunk) => w.write(chunk),
    close: () => w.close(),
    async abort() {
      // The writable writes to a swap file: abort discards it; the empty
      // file the picker created goes too.
      try { await w.abort(); } finally {
        try { await handle.remove?.(); } catch { /* not supported: it stays empty */ }
      }
    },
  };
}

function activated(reg) {
  const sw = reg.active || reg.waiting || reg.installing;
  if (!sw) return Promise.reject(new Error("no service worker"));
  if (sw.state === "activated") return Promise.resolve(sw);
  return new Promise((resolve, reject) => {
    sw.addEventListener("statechange", () => {
      if (sw.state === "activated") resolve(sw);
      if (sw.state === "redundant") reject(new Error("service worker redundant"));
    });
  });
}

function token() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// download hands a stream to the service worker, which answers a hidden
// frame's request for it as an attachment: the browser's download manager
// writes it to disk. The worker asks for each chunk (pull), so nothing
// piles up in memory.
async function download(name) {
  if (!navigator.serviceWorker) throw new Error("no service workers in this browser");
  const reg = await navigator.serviceWorker.register(swURL, { scope: swScope });
  const sw = await activated(reg);
  const id = token();
  let credits = 0;
  let wake = null;
  let failed = null;
  let opened;
  const held = new Promise((r) => { opened = r; });
  const onMessage = (ev) => {
    const m = ev.data || {};
    if (m.token !== id) return;
    if (m.op === "opened") opened(true);
    if (m.op === "pull") credits++;
    if (m.op === "cancel") failed = new Error("the download was cancelled");
    if (wake) { const w = wake; wake = null; w(); }
  };
  navigator.serviceWorker.addEventListener("message", onMessage);
  navigator.serviceWorker.startMessages();
  sw.postMessage({ op: "open", token: id, name });
  // The frame asks once the worker holds the stream: its request could
  // overtake this message and find nothing (Chromium, loaded machine).
  const t = setTimeout(() => opened(false), 30000);
  const ok = await held;
  clearTimeout(t);
  if (!ok) {
    navigator.serviceWorker.removeEventListener("message", onMessage);
    throw new Error("the service worker did not answer");
  }
  const frame = document.createElement("iframe");
  frame.hidden = true;
  frame.setAttribute("aria-hidden", "true");
  frame.tabIndex = -1;
  frame.title = "download";
  frame.src = swScope + id + "/" + encodeURIComponent(name);
  document.body.append(frame);
  const done = () => {
    navigator.serviceWorker.removeEventListener("message", onMessage);
    setTimeout(() => frame.remove(), 1000);
  };
  const send = async (chunk) => {
    while (credits === 0 && !failed) await new Promise((r) => { wake = r; });
    if (failed) throw failed;
    credits--;
    // Transferred, not copied, when the chunk is a whole buffer (batched's).
    const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
    const out = whole ? chunk : chunk.slice();
    sw.postMessage({ op: "chunk", token: id, chunk: out }, [out.buffer]);
  };
  // In order, one waiter.
  let last = Promise.resolve();
  return {
    kind: "download",
    name,
    write(chunk) {
      const p = last.then(() => send(chunk));
      last = p.catch(() => {});
      return p;
    },
    async close() {
      sw.postMessage({ op: "close", token: id });
      done();
    },
    async abort() {
      sw.postMessage({ op: "abort", token: id });
      done();
    },
  };
}
