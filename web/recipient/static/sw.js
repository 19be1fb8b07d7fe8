// sw is the recipient page's service worker. Its only job: turn the stream
// of decrypted chunks the page posts into a download, so that a large
// document goes to disk without being held in memory. It serves nothing
// else and caches nothing; it never sees the link's secret or a key.

const prefix = new URL("./dl/", self.location).pathname;
const pending = new Map(); // token → {name, client, stream, ctl, deliver}
const maxName = 200;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (ev) => ev.waitUntil(self.clients.claim()));

function tell(d, op) {
  if (d.client) d.client.postMessage({ token: d.token, op });
}

self.addEventListener("message", (ev) => {
  const m = ev.data || {};
  if (typeof m.token !== "string" || !/^[0-9a-f]{32}$/.test(m.token)) return;
  if (m.op === "open") {
    if (pending.has(m.token) || typeof m.name !== "string" || m.name.length > maxName) return;
    const d = { token: m.token, name: m.name, client: ev.source, ctl: null, deliver: null };
    d.stream = new ReadableStream({
      start(ctl) { d.ctl = ctl; },
      pull() {
        tell(d, "pull");
        return new Promise((r) => { d.deliver = r; });
      },
      cancel() {
        tell(d, "cancel");
        pending.delete(d.token);
      },
    }, new CountQueuingStrategy({ highWaterMark: 4 }));
    pending.set(m.token, d);
    tell(d, "opened");
    return;
  }
  const d = pending.get(m.token);
  if (!d) return;
  if (m.op === "chunk" && m.chunk instanceof Uint8Array) {
    d.ctl.enqueue(m.chunk);
    if (d.deliver) { const r = d.deliver; d.deliver = null; r(); }
  } else if (m.op === "close") {
    d.ctl.close();
    pending.delete(m.token);
  } else if (m.op === "abort") {
    // The download fails: the browser keeps no finished file.
    d.ctl.error(new Error("document altéré"));
    pending.delete(m.token);
  }
});

self.addEventListener("fetch", (ev) => {
  const url = new URL(ev.request.url);
  if (!url.pathname.startsWith(prefix)) return;
  const token = url.pathname.slice(prefix.length).split("/")[0];
  const d = pending.get(token);
  if (!d || d.served) {
    ev.respondWith(new Response("gone", { status: 404 }));
    return;
  }
  d.served = true;
  const ascii = d.name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  ev.respondWith(new Response(d.stream, {
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(d.name)}`,
      "Content-Security-Policy": "default-src 'none'; sandbox",
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": "no-store",
    },
  }));
});
