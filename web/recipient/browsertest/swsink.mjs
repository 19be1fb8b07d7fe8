// swsink checks the service-worker download (sink.js's download and sw.js)
// in node, the two wired as a browser wires them: messages both ways, the
// hidden frame's request as a fetch event, the answer's body read as the
// browser's downloads would. Each message to the worker can be held back,
// so that the frame's request reaches the worker before the page's "open"
// (seen in Chromium on a loaded machine: the page then waited forever).
//
// Usage: node swsink.mjs STATIC_DIR. Prints "ok N checks" or fails.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { check, finish } from "./checks.mjs";

const dir = process.argv[2];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// world wires one page to one worker; hold(op) is how long (ms) a message
// of that op from the page takes to reach the worker.
function world(hold) {
  const origin = "http://relay.test";
  const swListeners = {};
  const self = {
    location: new URL(origin + "/d/static/sw.js"),
    addEventListener: (type, fn) => { (swListeners[type] ||= []).push(fn); },
    skipWaiting() {},
    clients: { claim: async () => {} },
  };
  new Function("self", readFileSync(join(dir, "sw.js"), "utf8"))(self);
  const pageListeners = new Set();
  const client = {
    postMessage: (data) => setTimeout(() => { for (const fn of pageListeners) fn({ data }); }, 0),
  };
  const worker = {
    state: "activated",
    postMessage(data) {
      setTimeout(() => { for (const fn of swListeners.message) fn({ data, source: client }); }, hold(data.op));
    },
  };
  const answers = [];
  const frame = () => {
    const f = { hidden: false, tabIndex: 0, title: "", src: "", setAttribute() {}, remove() {} };
    return f;
  };
  const body = {
    append(f) {
      // The frame's navigation: a fetch event in the worker, soon.
      answers.push(new Promise((resolve) => setTimeout(() => {
        let answer = null;
        const ev = { request: { url: origin + f.src }, respondWith: (r) => { answer = r; } };
        for (const fn of swListeners.fetch) fn(ev);
        resolve(answer);
      }, 10)));
    },
  };
  Object.defineProperty(globalThis, "window", { value: {}, configurable: true, writable: true });
  Object.defineProperty(globalThis, "document", { value: { createElement: frame, body }, configurable: true, writable: true });
  Object.defineProperty(globalThis, "navigator", {
    configurable: true,
    writable: true,
    value: {
      serviceWorker: {
        register: async () => ({ active: worker }),
        addEventListener: (type, fn) => { if (type === "message") pageListeners.add(fn); },
        removeEventListener: (type, fn) => { if (type === "message") pageListeners.delete(fn); },
        startMessages() {},
      },
    },
  });
  return { answers };
}

// bounded fails what never settles.
function bounded(p, what, ms = 10000) {
  let timer;
  return Promise.race([p, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(what + " never finished")), ms); })])
    .finally(() => clearTimeout(timer));
}

const sink = await import(pathToFileURL(join(dir, "sink.js")).href);
const data = new Uint8Array(3 * sink.batchSize + 12345);
for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;

// run writes data through a download sink in pieces, closes or aborts it,
// and reads what the browser's downloads would get.
async function run(name, hold, end) {
  const w = world(hold);
  try {
    const s = await bounded(sink.open("rapport.pdf", "download"), name + ": open");
    check(s.kind === "download", name + ": sink kind " + s.kind);
    check(w.answers.length === 1, name + ": the frame asked " + w.answers.length + " times");
    const res = await bounded(w.answers[0], name + ": the worker's answer");
    check(res.status === 200, name + ": the worker answered " + res.status);
    if (res.status !== 200) return;
    const got = [];
    const reading = (async () => {
      const rd = res.body.getReader();
      for (;;) {
        const r = await rd.read();
        if (r.done) return "done";
        got.push(r.value);
      }
    })().catch((e) => "error: " + e.message);
    const writing = (async () => {
      for (let off = 0; off < data.length; off += 65536) await s.write(data.slice(off, off + 65536));
      if (end === "close") await s.close();
      else await s.abort();
    })();
    await bounded(writing, name + ": the writes");
    const how = await bounded(reading, name + ": the download");
    if (end === "close") {
      check(how === "done", name + ": download ended " + how);
      const all = Buffer.concat(got);
      check(all.length === data.length && all.equals(Buffer.from(data)), name + ": " + all.length + " bytes downloaded, not the " + data.length + " written");
    } else {
      check(how.startsWith("error"), name + ": an aborted download ended " + how + ", not as failed");
    }
  } catch (e) {
    check(false, e.message);
  }
  await sleep(1100); // the frame's removal timer
}

await run("prompt worker", () => 0, "close");
await run("prompt worker, aborted", () => 0, "abort");
// The page's "open" reaches the worker after the frame's request would.
await run("late open", (op) => (op === "open" ? 200 : 0), "close");
await run("late open, aborted", (op) => (op === "open" ? 200 : 0), "abort");
await run("slow worker", () => 20, "close");

finish();
