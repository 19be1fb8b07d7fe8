// driver.mjs drives Firefox ESR over WebDriver BiDi (puppeteer-core) for the
// Go tests of the recipient page. It reads one JSON command per line on
// stdin and answers one JSON line per command on stdout:
//   {"id": 1, "op": "goto", "page": "p1", "url": "…"} → {"id": 1, "ok": true, "value": …}
// Page console messages and errors are sent as {"event": "console", "text": "…"}.
// The Go side (firefox_test.go) owns the process and kills it at the end.
//
// Ops: launch {downloadDir}, page {} (a new browser context: own storage),
// context {page} (a new page in the same context as page), goto {page,url},
// eval {page,expr}, wait {page,expr,timeout}, click {page,sel},
// type {page,sel,text}, upload {page,sel,files}, axe {page}, close {page}, quit.

import { createInterface } from "node:readline";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let browser = null;
const pages = new Map();
let nextPage = 1;

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function pageOf(cmd) {
  const p = pages.get(cmd.page);
  if (!p) throw new Error("no page " + cmd.page);
  return p;
}

function watch(page, name) {
  page.on("console", (m) => send({ event: "console", text: name + " console." + m.type() + ": " + m.text() }));
  page.on("pageerror", (e) => send({ event: "console", text: name + " page error: " + (e && e.message ? e.message : String(e)) }));
}

async function addPage(context) {
  const page = await context.newPage();
  const name = "p" + nextPage++;
  watch(page, name);
  pages.set(name, page);
  return name;
}

const ops = {
  async launch(cmd) {
    const prefs = {
      "browser.download.folderList": 2,
      "browser.download.useDownloadDir": true,
      "browser.download.always_ask_before_handling_new_types": false,
      "browser.download.start_downloads_in_tmp_dir": false,
      "browser.helperApps.neverAsk.saveToDisk": "application/pdf,application/octet-stream",
      "pdfjs.disabled": false,
      "datareporting.policy.dataSubmissionEnabled": false,
      "toolkit.telemetry.reportingpolicy.firstRun": false,
      "app.update.enabled": false,
      "browser.shell.checkDefaultBrowser": false,
      "network.captive-portal-service.enabled": false,
      "network.connectivity-service.enabled": false,
      "browser.safebrowsing.malware.enabled": false,
      "browser.safebrowsing.phishing.enabled": false,
      "browser.safebrowsing.downloads.enabled": false,
      "extensions.update.enabled": false,
      "browser.search.update": false,
    };
    if (cmd.downloadDir) prefs["browser.download.dir"] = cmd.downloadDir;
    browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: cmd.executable || "/usr/bin/firefox-esr",
      headless: true,
      userDataDir: cmd.profile || undefined,
      extraPrefsFirefox: prefs,
      protocolTimeout: 600000,
    });
    const proc = browser.process();
    return { pid: proc ? proc.pid : 0, version: await browser.version() };
  },
  async page() {
    const context = await browser.createBrowserContext();
    return addPage(context);
  },
  async sibling(cmd) {
    return addPage(pageOf(cmd).browserContext());
  },
  async goto(cmd) {
    // Generous: on a loaded machine a first load has taken over 30 s.
    await pageOf(cmd).goto(cmd.url, { waitUntil: "load", timeout: 120000 });
    return null;
  },
  async eval(cmd) {
    return pageOf(cmd).evaluate(cmd.expr);
  },
  async wait(cmd) {
    // Evaluations in a loop, not waitForFunction: Firefox ESR 140 runs the
    // latter's string through eval, which the page's CSP blocks.
    const page = pageOf(cmd);
    const end = Date.now() + (cmd.timeout || 60000);
    let last = null;
    for (;;) {
      try {
        const v = await page.evaluate(cmd.expr);
        if (v) return v;
        last = null;
      } catch (e) {
        last = e; // a page between two documents: tried again
      }
      if (Date.now() > end) throw new Error("Waiting failed: " + (last ? last.message : "still false") + ": " + cmd.expr.slice(0, 120));
      await new Promise((r) => setTimeout(r, 100));
    }
  },
  async click(cmd) {
    const el = await pageOf(cmd).waitForSelector(cmd.sel, { timeout: 60000 });
    await el.click();
    return null;
  },
  async type(cmd) {
    const el = await pageOf(cmd).waitForSelector(cmd.sel, { timeout: 60000 });
    await el.type(cmd.text);
    return null;
  },
  async keys(cmd) {
    await pageOf(cmd).keyboard.type(cmd.text);
    return null;
  },
  async press(cmd) {
    await pageOf(cmd).keyboard.press(cmd.key);
    return null;
  },
  async upload(cmd) {
    const el = await pageOf(cmd).waitForSelector(cmd.sel, { timeout: 60000 });
    await el.uploadFile(...cmd.files);
    return null;
  },
  async axe(cmd) {
    const page = pageOf(cmd);
    const loaded = await page.evaluate("typeof window.axe === 'object'");
    if (!loaded) await page.evaluate(axeSource);
    return page.evaluate(`axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
      .then(r => ({ passes: r.passes.length, violations: r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5) })) }))`);
  },
  async close(cmd) {
    const page = pageOf(cmd);
    pages.delete(cmd.page);
    await page.close();
    return null;
  },
  async quit() {
    if (browser) await browser.close();
    browser = null;
    return null;
  },
};

const rl = createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on("line", (line) => {
  queue = queue.then(async () => {
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (e) {
      send({ id: 0, ok: false, error: "bad command: " + e.message });
      return;
    }
    try {
      const op = ops[cmd.op];
      if (!op) throw new Error("unknown op " + cmd.op);
      const value = await op(cmd);
      send({ id: cmd.id, ok: true, value: value === undefined ? null : value });
    } catch (e) {
      send({ id: cmd.id, ok: false, error: e && e.stack ? e.stack : String(e) });
    }
    if (cmd.op === "quit") process.exit(0);
  });
});
rl.on("close", () => {
  queue.then(async () => {
    if (browser) await browser.close().catch(() => {});
    process.exit(0);
  });
});
