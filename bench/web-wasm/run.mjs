// run.mjs serves the harness (the directory argv[2], built by
// bench/web-wasm.sh) on a loopback port and runs it in node, Chromium
// (CDP) and Firefox ESR (WebDriver BiDi) through puppeteer-core, over
// argv[3] MiB per pass, then AES-256-CFB in node's OpenSSL for scale.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createDecipheriv, randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dir = resolve(process.argv[2]);
const mib = Number(process.argv[3]) || 256;
const req = createRequire(resolve("web/recipient/browsertest") + "/");
const puppeteer = (await import(pathToFileURL(req.resolve("puppeteer-core")))).default;

const types = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm" };
const files = ["index.html", "harness.js", "aes.js", "sha1.js", "sha256.js", "kernels.js", "kernels.wasm"];
const server = createServer(async (q, res) => {
  const name = new URL(q.url, "http://x").pathname.slice(1) || "index.html";
  if (!files.includes(name)) return res.writeHead(404).end();
  res.writeHead(200, { "Content-Type": types[name.slice(name.lastIndexOf("."))] });
  res.end(await readFile(join(dir, name)));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}/index.html?mib=${mib}`;

const show = (who, lines) => console.log(lines.map((l) => `${who}: ${l}`).join("\n"));
const { run } = await import(pathToFileURL(join(dir, "harness.js")));
show(`node ${process.version}`, await run(await readFile(join(dir, "kernels.wasm")), mib));

for (const [who, opts] of [
  ["chromium", { browser: "chrome", executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] }],
  ["firefox-esr", { browser: "firefox", executablePath: "/usr/bin/firefox-esr" }],
]) {
  const browser = await puppeteer.launch({ headless: true, protocolTimeout: 600000, ...opts });
  try {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: "load" });
    let text = "";
    while (!text.startsWith("RESULT")) {
      await new Promise((ok) => setTimeout(ok, 500));
      text = await page.evaluate("document.body.textContent");
    }
    show(`${who} ${await browser.version()}`, text.split("\n").slice(1));
  } finally {
    await browser.close();
  }
}

const key = randomBytes(32);
const buf = randomBytes(1 << 20);
const t0 = performance.now();
for (let i = 0; i < mib; i++) createDecipheriv("aes-256-cfb", key, Buffer.alloc(16)).update(buf);
console.log(`node OpenSSL: AES-256-CFB ${(mib / ((performance.now() - t0) / 1000)).toFixed(0)} MiB/s`);
server.close();
