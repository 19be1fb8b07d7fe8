// sink opens the file a large document is decrypted into: a file the
// person picks with the File System Access API where the browser has it
// (Chromium), else a download fed by this page's service worker (Firefox).
// Either way the plaintext flows to disk chunk by chunk, and abort() leaves
// no file that could pass for the document: the picked file is removed, the
// download fails.

const swURL = "/d/static/sw.js";
const swScope = "/d/static/dl/";

/**
 * open returns a sink {kind, name, write(chunk), close(), abort()} for a
 * file named name. how is "auto" (the picker where there is one), or
 * "download" to force the service-worker download.
 */
export async function open(name, how = "auto") {
  if (how !== "download" && typeof window.showSaveFilePicker === "function") {
    try {
      return await pickedFile(name);
    } catch (e) {
      if (e && e.name === "AbortError") throw e; // the person cancelled
      // No user activation left, or the picker is blocked: download instead.
    }
  }
  return download(name);
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
  const onMessage = (ev) => {
    const m = ev.data || {};
    if (m.token !== id) return;
    if (m.op === "pull") credits++;
    if (m.op === "cancel") failed = new Error("the download was cancelled");
    if (wake) { const w = wake; wake = null; w(); }
  };
  navigator.serviceWorker.addEventListener("message", onMessage);
  navigator.serviceWorker.startMessages();
  sw.postMessage({ op: "open", token: id, name });
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
  return {
    kind: "download",
    name,
    async write(chunk) {
      while (credits === 0 && !failed) await new Promise((r) => { wake = r; });
      if (failed) throw failed;
      credits--;
      const copy = chunk.slice();
      sw.postMessage({ op: "chunk", token: id, chunk: copy }, [copy.buffer]);
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
