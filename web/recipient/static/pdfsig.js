// pdfsig checks the PAdES signatures of a decrypted PDF held in memory and
// shows the verdict beside the OpenPGP one: valid, modified after signing,
// invalid, or none. It is loaded only once a PDF is shown, and loads the
// vendored asn1js (its DER decoder) only when the PDF has a signature
// dictionary.
//
// What it checks, like pdfsign.Verify on the sender's side: each
// /ByteRange covers the file but exactly its /Contents hole; the CMS
// SignedData is detached, with one signer whose certificate it carries;
// the content-type and message-digest signed attributes (digest of the
// byte range, WebCrypto); the signature value with the certificate's key
// (RSA PKCS#1 v1.5 or ECDSA); the key usage; the ESS signing-certificate-v2
// attribute names that certificate; the signature-time-stamp token's own
// signature, its message digest and its imprint over the signature value.
// A file with bytes after the newest signature, or with several signatures
// (each later one an update the first signer did not sign), is "modified
// after signing". What it does not check: trust in the certificate chain
// (the page has no trust store: it shows the chain's subjects and says so),
// revocation, and documents streamed to a file (too large to hold).

import { t, lang, onChange } from "./i18n.js";

const root = () => document.documentElement;
const $ = (id) => document.getElementById(id);

// Bounds on what is read, as pdfsign's verifier has them.
const maxSignatures = 64;
const maxHole = 1 << 20;
const dictWindow = 8 << 10;

const enc = new TextEncoder();
const ascii = (s) => enc.encode(s);

/** indexOf finds pattern (bytes) in bytes from position from, or -1. */
function indexOf(bytes, pattern, from = 0) {
  for (let i = bytes.indexOf(pattern[0], from); i >= 0 && i <= bytes.length - pattern.length; i = bytes.indexOf(pattern[0], i + 1)) {
    let k = 1;
    while (k < pattern.length && bytes[i + k] === pattern[k]) k++;
    if (k === pattern.length) return i;
  }
  return -1;
}

function lastIndexOf(bytes, pattern) {
  for (let i = bytes.length - pattern.length; i >= 0; i--) {
    let k = 0;
    while (k < pattern.length && bytes[i + k] === pattern[k]) k++;
    if (k === pattern.length) return i;
  }
  return -1;
}

const isSpace = (c) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0x0c || c === 0x00;
const delims = new Set(Array.from("/<>[]()", (c) => c.charCodeAt(0)));

/**
 * findSignatures returns the signature dictionaries of a PDF: each byte
 * range whose hole holds a /Contents hex string, with the decoded contents
 * and the /SubFilter. The scan trusts no cross-reference: a signature is
 * what its byte range and hole prove.
 */
export function findSignatures(bytes) {
  const key = ascii("/ByteRange");
  const found = [];
  for (let at = indexOf(bytes, key); at >= 0; at = indexOf(bytes, key, at + key.length)) {
    const d = readSigDict(bytes, at);
    if (!d) continue;
    if (found.length === maxSignatures) throw new Error("more than " + maxSignatures + " signatures");
    found.push(d);
  }
  return found;
}

function readSigDict(bytes, pos) {
  const size = bytes.length;
  let i = pos + "/ByteRange".length;
  const space = () => { while (i < size && isSpace(bytes[i])) i++; };
  space();
  if (bytes[i++] !== 0x5b) return null; // [
  const br = [];
  for (let k = 0; k < 4; k++) {
    space();
    const s = i;
    while (i < size && bytes[i] >= 0x30 && bytes[i] <= 0x39 && i - s < 16) i++;
    if (i === s) return null;
    br.push(Number(String.fromCharCode(...bytes.subarray(s, i))));
  }
  space();
  if (bytes[i] !== 0x5d) return null; // ]
  if (br[0] !== 0 || br[1] <= 0 || br[2] <= br[1] + 1 || br[3] < 0 || br[2] > size || br[3] > size - br[2] || br[2] - br[1] > maxHole) return null;
  if (pos < br[1] - dictWindow || pos > br[2] + dictWindow) return null;
  const hole = bytes.subarray(br[1], br[2]);
  if (hole[0] !== 0x3c || hole[hole.length - 1] !== 0x3e) return null;
  const digits = [];
  for (const c of hole.subarray(1, hole.length - 1)) if (!isSpace(c)) digits.push(c);
  if (digits.length % 2 === 1) digits.push(0x30);
  const contents = new Uint8Array(digits.length / 2);
  const nibble = (c) => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1);
  for (let k = 0; k < contents.length; k++) {
    const h = nibble(digits[2 * k]);
    const l = nibble(digits[2 * k + 1]);
    if (h < 0 || l < 0) return null;
    contents[k] = (h << 4) | l;
  }
  let b = br[1];
  while (b > 0 && isSpace(bytes[b - 1])) b--;
  if (b < 9 || String.fromCharCode(...bytes.subarray(b - 9, b)) !== "/Contents") return null;
  // /SubFilter: in the dictionary's text around the hole.
  let around = bytes.subarray(Math.max(0, Math.min(pos, br[1]) - dictWindow), br[1]);
  const obj = lastIndexOf(around, ascii(" obj"));
  if (obj >= 0) around = around.subarray(obj);
  let after = bytes.subarray(br[2], br[2] + Math.min(dictWindow, size - br[2]));
  const end = indexOf(after, ascii("endobj"));
  if (end >= 0) after = after.subarray(0, end);
  return { byteRange: br, contents, subFilter: nameAfter(around, "/SubFilter") || nameAfter(after, "/SubFilter") };
}

function nameAfter(text, key) {
  const k = ascii(key);
  for (let at = indexOf(text, k); at >= 0; at = indexOf(text, k, at + 1)) {
    let i = at + k.length;
    while (i < text.length && isSpace(text[i])) i++;
    if (text[i] !== 0x2f) continue;
    const s = ++i;
    while (i < text.length && !isSpace(text[i]) && !delims.has(text[i])) i++;
    return String.fromCharCode(...text.subarray(s, i));
  }
  return "";
}

/** modifiedAfter reports bytes after offset last other than a few line ends. */
function modifiedAfter(bytes, last) {
  if (last >= bytes.length) return false;
  if (bytes.length - last > 64) return true;
  return !bytes.subarray(last).every(isSpace);
}

/**
 * check verifies every signature of the PDF in bytes. Its verdict is
 * "none", "valid", "modified" (content changed, data appended or several
 * signatures) or "invalid"; signatures holds each one's details.
 */
export async function check(bytes) {
  const dicts = findSignatures(bytes);
  if (dicts.length === 0) return { verdict: "none", signatures: [] };
  const cms = await import("./pdfsigcms.js");
  const signatures = [];
  let last = 0;
  for (const d of dicts) {
    const br = d.byteRange;
    const signed = new Uint8Array(br[1] + br[3]);
    signed.set(bytes.subarray(0, br[1]), 0);
    signed.set(bytes.subarray(br[2], br[2] + br[3]), br[1]);
    const s = await cms.verifyCMS(d.contents, signed);
    s.subFilter = d.subFilter;
    s.byteRange = br;
    s.wholeFile = br[2] + br[3] === bytes.length;
    if (s.valid && d.subFilter === "ETSI.CAdES.detached" && s.hasESS) s.level = s.timestamp ? "B-T" : "B-B";
    signatures.push(s);
    last = Math.max(last, br[2] + br[3]);
  }
  const appended = modifiedAfter(bytes, last);
  let verdict = "valid";
  let why = "";
  if (signatures.some((s) => s.problems.includes("digest"))) [verdict, why] = ["modified", "digest"];
  else if (signatures.some((s) => !s.valid)) [verdict, why] = ["invalid", signatures.find((s) => !s.valid).problems[0] || "cms"];
  else if (appended) [verdict, why] = ["modified", "appended"];
  else if (signatures.length > 1 || signatures.some((s) => !s.wholeFile)) [verdict, why] = ["modified", "several"];
  return { verdict, why, appended, signatures };
}

// ---- Display ----

const texts = new Map();
onChange(() => { for (const [el, fn] of texts) el.textContent = fn(); });
function bind(el, fn) {
  texts.set(el, fn);
  el.textContent = fn();
}

function el(tag, cls, fn) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (fn) bind(e, fn);
  return e;
}

function formatTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "—";
  return new Intl.DateTimeFormat(lang(), { dateStyle: "long", timeStyle: "long" }).format(d);
}

function row(dl, label, fn, cls) {
  const div = el("div");
  div.append(el("dt", "", () => t(label)), el("dd", cls || "", fn));
  dl.append(div);
}

function status(kind, title, text) {
  root().dataset.pdfsig = kind;
  const box = $("pdfsig");
  box.className = "pdfsig " + kind;
  bind($("pdfsig-title"), title);
  bind($("pdfsig-text"), text);
}

function details(report) {
  const box = $("pdfsig-details");
  box.replaceChildren();
  report.signatures.forEach((s, i) => {
    const dl = el("dl", "facts");
    if (report.signatures.length > 1) row(dl, "pdfsig.which", () => t("pdfsig.nth", { n: i + 1, of: report.signatures.length }));
    row(dl, "pdfsig.state", () => t(s.valid ? (s.wholeFile ? "pdfsig.s.valid" : "pdfsig.s.older") : "pdfsig.s.invalid", { why: s.problems.map((p) => t("pdfsig.why." + p)).join(" ; ") }));
    if (s.signer) row(dl, "pdfsig.signer", () => s.signer);
    if (s.issuer) row(dl, "pdfsig.issuer", () => s.issuer);
    if (s.level) row(dl, "pdfsig.level", () => "PAdES " + s.level);
    if (s.timestamp) {
      row(dl, "pdfsig.time", () => formatTime(s.timestamp.time));
      row(dl, "pdfsig.tsa", () => s.timestamp.tsa || "—");
    } else if (s.signer) {
      row(dl, "pdfsig.time", () => t("pdfsig.notime"));
    }
    if (s.chain && s.chain.length > 0) row(dl, "pdfsig.chain", () => s.chain.join(" → "));
    box.append(dl);
  });
  box.append(el("p", "hint", () => t("pdfsig.trust")), el("p", "hint", () => t("pdfsig.checks")));
}

/**
 * show checks the PDF in bytes and shows the verdict in the page's
 * #pdfsig region; the root's data-pdfsig names it for automation.
 */
export async function show(bytes, testMode) {
  root().dataset.pdfsig = "checking";
  status("checking", () => t("pdfsig.checking"), () => "");
  let report;
  try {
    report = await check(bytes);
  } catch (e) {
    const why = e && e.message ? e.message : String(e);
    status("error", () => t("pdfsig.error"), () => t("pdfsig.errortext", { why }));
    return;
  }
  if (testMode && window.sealprintTest) window.sealprintTest.pdfsig = report;
  const newest = report.signatures[report.signatures.length - 1];
  const who = () => (newest && (newest.signerName || newest.signer)) || "?";
  switch (report.verdict) {
    case "none":
      status("none", () => t("pdfsig.none"), () => t("pdfsig.nonetext"));
      break;
    case "valid":
      status("valid", () => t("pdfsig.valid"), () => t("pdfsig.validtext", { who: who(), level: newest.level ? "PAdES " + newest.level : newest.subFilter || "?" }));
      break;
    case "modified":
      status("modified", () => t("pdfsig.modified"), () => t("pdfsig.modified." + report.why, { who: who() }));
      break;
    default:
      status("invalid", () => t("pdfsig.invalid"), () => t("pdfsig.invalidtext", { why: t("pdfsig.why." + report.why) }));
  }
  if (report.signatures.length > 0) details(report);
}

/** unchecked says that a document streamed to a file had its PDF signature not checked here. */
export function unchecked() {
  status("unchecked", () => t("pdfsig.unchecked"), () => t("pdfsig.uncheckedtext"));
}
