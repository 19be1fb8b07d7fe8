// harness times the recipient page's per-byte passes (aes.js, sha1.js,
// sha256.js, copied next to it by bench/web-wasm.sh) in JavaScript and with
// the page's WebAssembly kernels installed (kernels.js, kernels.wasm), over
// the same bytes through the same calls the page makes, after checking
// that both give the same result. It runs in node and in the browsers
// (index.html); run(wasmBytes, mib) resolves to one line per measurement.

import { CFBDecrypter } from "./aes.js";
import { SHA1 } from "./sha1.js";
import { SHA256 } from "./sha256.js";
import { instantiate, install } from "./kernels.js";

const chunk = 1 << 20;

function random(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

// passes runs each pass once over ct, as the page does.
function passes(key, ct) {
  const a = ct.slice();
  new CFBDecrypter(key).decrypt(a, a);
  const s1 = new SHA1();
  s1.update(ct);
  const s2 = new SHA256();
  s2.update(ct);
  return [hex(a.subarray(0, 64)) + hex(a.subarray(a.length - 64)), hex(s1.digest()), s2.hex()];
}

/** run checks and times each pass over mib MiB, in 1 MiB calls. */
export async function run(wasmBytes, mib) {
  const k = await instantiate(wasmBytes);
  const key = random(32);
  const ct = random(chunk);
  const lines = [];

  // Same results first.
  install(null);
  const js = passes(key, ct);
  install(k);
  const wasm = passes(key, ct);
  install(null);
  for (const [i, name] of ["AES-256-CFB", "SHA-1", "SHA-256"].entries()) {
    if (js[i] !== wasm[i]) throw new Error(name + ": kernels.wasm differs from the JavaScript");
  }

  const buf = ct.slice();
  const time = (name, f) => {
    for (let i = 0; i < 8; i++) f();
    const t0 = performance.now();
    for (let i = 0; i < mib; i++) f();
    const rate = mib / ((performance.now() - t0) / 1000);
    lines.push(`${name} ${rate.toFixed(0)} MiB/s`);
    return rate;
  };
  const cfb = new CFBDecrypter(key);
  const s1 = new SHA1();
  const s2 = new SHA256();
  const pairs = [
    ["AES-256-CFB", () => cfb.decrypt(buf, buf)],
    ["SHA-1", () => s1.update(buf)],
    ["SHA-256", () => s2.update(buf)],
  ];
  for (const [name, f] of pairs) {
    install(null);
    const rj = time(name + " js", f);
    install(k);
    const rw = time(name + " wasm (with copies)", f);
    install(null);
    lines.push(`${name} wasm/js ${(rw / rj).toFixed(2)}`);
  }
  return lines;
}
