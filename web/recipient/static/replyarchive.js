// replyarchive packs a secure reply — files and an optional message — into
// one ustar archive (POSIX.1-1988 tar), the plaintext that is then
// encrypted. The first entry, .sealprint-reply.json, holds the message
// and the list of files; 'sealprint open --reply' reads the archive back
// and writes each file safely. Names are the files' base names in UTF-8,
// shortened to fit ustar's 100 bytes.

export const MANIFEST = ".sealprint-reply.json";
export const MAX_FILES = 20;
export const MAX_MESSAGE = 10000;

const enc = new TextEncoder();

function octal(n, width) {
  const s = n.toString(8);
  if (s.length > width - 1) throw new Error("tar field too small");
  return s.padStart(width - 1, "0") + "\0";
}

function put(buf, off, s, width) {
  const b = typeof s === "string" ? enc.encode(s) : s;
  buf.set(b.subarray(0, width), off);
}

/** fitName returns name (no directory, no control characters) in at most 100 UTF-8 bytes, keeping its extension. */
export function fitName(name) {
  let n = String(name).replace(/^.*[\\/]/, "").replace(/[\u0000-\u001f\u007f]/g, "_").trim();
  if (n === "" || n === "." || n === ".." || n === MANIFEST) n = "fichier";
  if (enc.encode(n).length <= 100) return n;
  const dot = n.lastIndexOf(".");
  const ext = dot > 0 && n.length - dot <= 10 ? n.slice(dot) : "";
  let stem = Array.from(ext ? n.slice(0, dot) : n);
  while (stem.length && enc.encode(stem.join("") + ext).length > 100) stem.pop();
  return stem.join("") + ext;
}

function header(name, size, mtime) {
  const h = new Uint8Array(512);
  put(h, 0, name, 100);
  put(h, 100, "0000644\0", 8);
  put(h, 108, "0000000\0", 8);
  put(h, 116, "0000000\0", 8);
  put(h, 124, octal(size, 12), 12);
  put(h, 136, octal(mtime, 12), 12);
  put(h, 148, "        ", 8);
  h[156] = 0x30; // '0': regular file
  put(h, 257, "ustar\0", 6);
  put(h, 263, "00", 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(h, 148, octal(sum, 7) + " ", 8);
  return h;
}

/**
 * build returns the archive of files (File objects) and message as one
 * Uint8Array, and the names used. Duplicate names get " (2)", " (3)"….
 */
export async function build(files, message) {
  if (files.length > MAX_FILES) throw new Error("too many files");
  const used = new Set([MANIFEST]);
  const names = [];
  for (const f of files) {
    let n = fitName(f.name);
    for (let i = 2; used.has(n); i++) {
      const dot = n.lastIndexOf(".");
      n = fitName(dot > 0 ? n.slice(0, dot) + " (" + i + ")" + n.slice(dot) : n + " (" + i + ")");
    }
    used.add(n);
    names.push(n);
  }
  const manifest = enc.encode(JSON.stringify({ version: 1, message: String(message || "").slice(0, MAX_MESSAGE), files: names }));
  const parts = [];
  const now = Math.floor(Date.now() / 1000);
  const add = (name, data, mtime) => {
    parts.push(header(name, data.length, mtime), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(new Uint8Array(pad));
  };
  add(MANIFEST, manifest, now);
  for (let i = 0; i < files.length; i++) {
    const data = new Uint8Array(await files[i].arrayBuffer());
    add(names[i], data, now);
  }
  parts.push(new Uint8Array(1024)); // two zero blocks end the archive
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return { bytes: out, names };
}
