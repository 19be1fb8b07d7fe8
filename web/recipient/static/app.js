// The recipient's page: fetch the drop's public information, ask for the
// access code or the recipient's key when needed, download the ciphertext,
// decrypt and verify it in this browser, show it, and post the receipt.
// The root element's data-state tells automation where the page is:
// loading, ready (waiting for "Open the document"), code, key, save (a
// large document waits for the person to choose where to save it),
// decrypted, error, locked, expired, altered.
//
// Mail gateways' link scanners follow links: nothing that counts (a
// download, a receipt) happens before a person acts — types the access
// code, unlocks a key, or clicks "Open the document".

import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import * as api from "./api.js";
import * as opener from "./opener.js";
import * as keys from "./keykit.js";

const root = document.documentElement;
const $ = (id) => document.getElementById(id);
const testMode = root.dataset.test === "1";
const pgpModule = import("/d/static/vendor/openpgp.min.mjs");
pgpModule.catch(() => {}); // reported where awaited

// Texts that depend on data are re-rendered on a language switch.
const dynamic = new Map();
function bind(el, fn) {
  dynamic.set(el, fn);
  el.textContent = fn();
}
function refresh() {
  for (const [el, fn] of dynamic) el.textContent = fn();
}

class Stop extends Error {}

function setState(s) {
  root.dataset.state = s;
}

function show(el, on) {
  el.hidden = !on;
}

function status(fn) {
  show($("status"), true);
  bind($("status-text"), fn);
}

const problemStates = { expired: "expired", exhausted: "expired", revoked: "expired", locked: "locked", altered: "altered" };

// problem shows an explanation with what to do, and stops the flow.
function problem(kind, vars = {}) {
  setState(problemStates[kind] || "error");
  root.dataset.reason = kind;
  for (const id of ["status", "code-form", "key-panel", "viewer-card", "actions", "big-card"]) show($(id), false);
  show($("problem"), true);
  bind($("problem-title"), () => t("p." + kind, vars));
  bind($("problem-text"), () => t("p." + kind + ".text", vars));
  bind($("problem-what"), () => t("p." + kind + ".what", vars));
  $("problem").focus?.();
  throw new Stop(kind);
}

function apiProblem(e) {
  if (e instanceof Stop) throw e;
  if (!(e instanceof api.APIError)) problem("network", { why: e && e.message ? e.message : "?" });
  if (e.status === 404) problem("notfound");
  if (e.status === 410) problem(["expired", "exhausted", "revoked"].includes(e.body.state) ? e.body.state : "expired");
  if (e.status === 423) problem("locked");
  if (e.status === -1) problem("corrupt");
  problem("network", { why: e.status ? "HTTP " + e.status : t("p.network") });
}

function formatSize(n) {
  const units = t("units");
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const num = new Intl.NumberFormat(i18n.lang(), { maximumFractionDigits: i === 0 ? 0 : 1 }).format(v);
  return num + "\u00a0" + units[i];
}

// locale is the browser's own locale when it speaks the page's language
// (fr-CA, en-GB…), else the page's language: dates follow the reader.
function locale() {
  const l = i18n.lang();
  const own = (navigator.languages || [navigator.language || ""]).find((x) => String(x).toLowerCase().split("-")[0] === l);
  return own || l;
}

function formatDate(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "—";
  const abs = new Intl.DateTimeFormat(locale(), { dateStyle: "full", timeStyle: "short" }).format(d);
  const days = Math.round((d - Date.now()) / 86400000);
  const rel = new Intl.RelativeTimeFormat(i18n.lang(), { numeric: "auto" });
  const hours = Math.round((d - Date.now()) / 3600000);
  return abs + " (" + (Math.abs(hours) < 48 ? rel.format(hours, "hour") : rel.format(days, "day")) + ")";
}

function groupHex(h) {
  return h.match(/.{1,8}/g).join(" ");
}

function fact(id, fn) {
  const row = $(id);
  show(row, true);
  bind(row.querySelector("dd"), fn);
}

function showInfo(info) {
  show($("facts-card"), true);
  // "Sent by" waits for the signature: info.sender is the name of the
  // relay account that uploaded the drop, which nothing binds to the
  // document's signer, so the page shows no sender before decryption.
  fact("f-size", () => formatSize(info.size));
  fact("f-expires", () => formatDate(info.expires_at));
  fact("f-downloads", () =>
    typeof info.downloads_left === "number" && info.downloads_left >= 0 ? String(info.downloads_left) : t("facts.unlimited"));
}

function parseID() {
  const m = location.pathname.match(/^\/d\/([A-Za-z0-9_-]{22})\/?$/);
  return m ? m[1] : "";
}

// askOpen shows "Open the document" and resolves when it is clicked.
function askOpen() {
  show($("status"), false);
  const form = $("open-form");
  show(form, true);
  return new Promise((resolve) => {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      show(form, false);
      resolve();
    }, { once: true });
    setState("ready");
  });
}

// askCode shows the access-code form until the relay grants a download.
function askCode(id) {
  show($("status"), false);
  const form = $("code-form");
  const input = $("code");
  const err = $("code-error");
  show(form, true);
  input.focus();
  return new Promise((resolve, reject) => {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const value = input.value.trim();
      if (!value) {
        bind(err, () => t("code.empty"));
        return;
      }
      form.querySelector("button").disabled = true;
      try {
        const r = await api.code(id, value);
        show(form, false);
        resolve(r.grant);
      } catch (e) {
        if (e instanceof api.APIError && e.status === 403) {
          const n = e.body.attempts_left;
          bind(err, () => (n === 1 ? t("code.wrong1") : t("code.wrong", { n: n ?? "?" })));
          input.value = "";
          input.setAttribute("aria-invalid", "true");
          input.focus();
        } else {
          try { apiProblem(e); } catch (stop) { reject(stop); }
        }
      } finally {
        form.querySelector("button").disabled = false;
      }
    });
    setState("code"); // last: the form is ready for input
  });
}

async function showDocument(id, opened, cipherHex, info, receiptToken) {
  const { data } = opened;
  const pdf = opener.isPDF(data);
  const sha = await opener.sha256hex(data);
  const name = opener.safeName(opened.filename, pdf);
  const blob = new Blob([data], { type: pdf ? "application/pdf" : "application/octet-stream" });
  const url = URL.createObjectURL(blob);
  const pages = pdf ? opener.countPages(data) : 0;
  const who = opened.signer.userID || info.sender || opened.signer.fingerprint;

  show($("status"), false);
  show($("verdict"), true);
  // Green only when the relay's organisation vouches for this very key
  // (bound at enrolment, identity approved); otherwise amber: the
  // signature is valid but the name in the key is the sender's own claim.
  const fpr = opened.signer.fingerprint;
  const vouched = info.sender_verified === true && typeof info.sender_fingerprint === "string" &&
    info.sender_fingerprint.toUpperCase() === fpr && typeof info.sender_org === "string" && info.sender_org !== "";
  root.dataset.identity = vouched ? "verified" : "unverified";
  $("verdict").classList.toggle("unverified", !vouched);
  root.dataset.addressed = opened.notForMe ? "others" : "you";
  show($("not-for-you"), opened.notForMe === true);
  if (opened.notForMe) {
    const list = opened.intended.map((f) => f.match(/.{1,4}/g).join(" ")).join(", ");
    bind($("not-for-you"), () => t("sig.notforyou", { list }));
  }
  if (vouched) {
    bind($("verdict-title"), () => t("sig.good"));
    bind($("verdict-text"), () => t("sig.goodtext", { who, org: info.sender_org }));
  } else {
    bind($("verdict-title"), () => t("sig.unverified"));
    bind($("verdict-text"), () => t("sig.unverifiedtext", { who, fpr: fpr.match(/.{1,4}/g).join(" ") }));
  }
  // The sender's deadline and reference, only from the verified signature
  // (opener returns no cover otherwise); text only, never markup.
  const cover = opened.cover;
  if (cover && cover.deadline) fact("f-deadline", () => formatDate(cover.deadline.toISOString()));
  if (cover && cover.reference) fact("f-reference", () => cover.reference);
  root.dataset.cover = cover ? "yes" : "no";
  fact("f-sender", () => (info.sender && !who.includes(info.sender) ? who + " — " + info.sender : who));
  fact("f-signature", () => t("sig.fpr", { fpr: opened.signer.fingerprint.match(/.{1,4}/g).join(" ") }));
  fact("f-file", () => name);
  fact("f-size", () => formatSize(data.length));
  if (pages > 0) fact("f-pages", () => String(pages));
  if (typeof info.downloads_left === "number" && info.downloads_left > 0) {
    const left = info.downloads_left - 1;
    fact("f-downloads", () => String(left));
  }
  fact("f-sha256", () => groupHex(sha));
  show($("sha-hint"), true);
  const save = $("save");
  save.href = url;
  save.download = name;
  bind(save, () => t(pdf ? "doc.save" : "doc.saveany"));
  show($("actions"), true);
  // Phones show no PDF inline (or badly, in a small frame): the stylesheet
  // hides the viewer there and asks to open the saved file instead.
  if (pdf && navigator.pdfViewerEnabled === false) root.classList.add("no-pdf-viewer");
  if (pdf) {
    const frame = $("viewer");
    frame.src = url;
    frame.title = t("doc.viewer");
    i18n.onChange(() => { frame.title = t("doc.viewer"); });
    show($("viewer-card"), true);
  }
  if (testMode) {
    window.sealprintTest = {
      bytes: data,
      base64() {
        let s = "";
        for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
        return btoa(s);
      },
    };
  }
  // The PDF's own PAdES signature, checked beside the OpenPGP one.
  if (pdf) import("./pdfsig.js").then((m) => m.show(data, testMode)).catch(() => {
    root.dataset.pdfsig = "error";
    bind($("pdfsig-title"), () => t("pdfsig.error"));
  });
  root.dataset.sha256 = sha;
  performance.mark("sealprint-shown");
  setState("decrypted");

  // The reply form's modules load only once a document is shown.
  import("./reply.js").then((reply) => reply.offer({ id, info, openpgp: opened.openpgp, senderKey: opened.senderKey,
    signerFingerprint: fpr, sessionKey: opened.sessionKey, receiptToken, myKeys: opened.myKeys, formatSize }))
    .catch((e) => console.warn("reply form unavailable", e));
  const receipt = $("receipt");
  try {
    const proof = await opener.receiptProof(opened.sessionKey, cipherHex);
    // In key mode the receipt is signed with the key that opened the
    // document (the sender learns which recipient opened it); a relay
    // that refuses the signature still gets the plain receipt.
    let signed = null;
    if (opened.openedWith) signed = await opener.signReceipt(opened.openpgp, opened.openedWith, id, cipherHex).catch(() => null);
    // In link mode a second HMAC, keyed from this link's own secret, tells
    // the sender whose link opened it (the relay never sees the secret).
    const linked = opened.linkSecret ? { link_proof: await opener.linkReceiptProof(opened.linkSecret, cipherHex) } : null;
    try {
      await api.receipt(id, proof, receiptToken, signed || linked);
    } catch (e) {
      if (!signed && !linked) throw e;
      await api.receipt(id, proof, receiptToken);
      if (signed) root.dataset.receiptSigned = "refused";
    }
    if (signed && root.dataset.receiptSigned !== "refused") root.dataset.receiptSigned = "yes";
    bind(receipt, () => t("receipt.sent"));
    root.dataset.receipt = "sent";
  } catch {
    bind(receipt, () => t("receipt.failed"));
    root.dataset.receipt = "failed";
  }
}

async function main() {
  i18n.init();
  i18n.onChange(refresh);
  const id = parseID();
  if (!id) problem("notfound");
  // WebCrypto, which OpenPGP.js and the fingerprint need, exists only on
  // HTTPS (or the local machine).
  if (!window.isSecureContext || !window.crypto || !crypto.subtle) problem("insecure");
  status(() => t("loading"));

  let info;
  try {
    info = await api.info(id);
  } catch (e) {
    apiProblem(e);
  }
  if (info.state === "pending") problem("pending");
  if (info.state && info.state !== "ready") apiProblem(new api.APIError(410, { state: info.state }));
  showInfo(info);
  performance.mark("sealprint-info");

  // The secret stays in the fragment (so a reload works) and in memory; it
  // is never part of any request.
  let secret = "";
  if (info.mode === "link") {
    try {
      secret = decodeURIComponent(location.hash.slice(1));
    } catch {
      problem("nosecret");
    }
  }
  if (info.mode === "link" && !/^[A-Za-z0-9_-]{20,200}$/.test(secret)) problem("nosecret");
  // Out of the address bar and the history once read: it stays in memory
  // only (a reload needs the link from the mail again).
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);

  let openpgp;
  try {
    openpgp = await pgpModule;
  } catch {
    problem("browser");
  }
  let senderKey;
  try {
    senderKey = await openpgp.readKey({ armoredKey: info.sender_key });
  } catch {
    problem("badsig");
  }
  if (info.sender_fingerprint && senderKey.getFingerprint().toUpperCase() !== info.sender_fingerprint.toUpperCase()) {
    problem("badsig");
  }

  // A person must act before the download: the code form, the key panel,
  // or, for a link without code, the "Open the document" button.
  if (info.mode === "link" && !info.needs_code) await askOpen();
  const grant = info.needs_code ? await askCode(id) : "";
  let myKeys = null;
  if (info.mode === "key") myKeys = await keys.ask(openpgp, "");

  if (api.large(info.size)) {
    const bigdoc = await import("./bigdoc.js"); // loaded only for large documents
    const ui = { $, t, show, bind, status, fact, setState, problem, apiProblem, formatSize, groupHex };
    await bigdoc.run(ui, { id, info, grant, secret, myKeys, senderKey, openpgp, testMode });
    return;
  }

  setState("loading");
  status(() => t("downloading", { pct: "" }));
  $("progress").hidden = false;
  let got;
  try {
    let shown = -1;
    got = await api.download(id, grant, info.size, (f) => {
      const pct = Math.floor(f * 100);
      if (pct === shown) return;
      shown = pct;
      $("progress").value = pct;
      bind($("status-text"), () => t("downloading", { pct: pct + "\u00a0%" }));
    });
  } catch (e) {
    apiProblem(e);
  }
  $("progress").hidden = true;
  performance.mark("sealprint-downloaded");
  const cipherHex = await opener.sha256hex(got.bytes);
  if (got.sha256 && got.sha256 !== cipherHex) problem("corrupt");
  status(() => t("decrypting"));

  for (;;) {
    try {
      const opened = await opener.open(openpgp, got.bytes, { secret, keys: myKeys, senderKey });
      Object.assign(opened, { openpgp, senderKey, myKeys, linkSecret: myKeys ? "" : secret });
      performance.mark("sealprint-decrypted");
      await showDocument(id, opened, cipherHex, info, got.receiptToken);
      return;
    } catch (e) {
      if (!(e instanceof opener.OpenError)) throw e;
      if (e.kind === "nomatch" && myKeys) {
        myKeys = await keys.ask(openpgp, t("key.nomatch", { ids: e.detail }));
        setState("loading");
        status(() => t("decrypting"));
        continue;
      }
      problem(e.kind === "nomatch" ? "badsecret" : e.kind);
    }
  }
}

main().catch((e) => {
  if (e instanceof Stop) return;
  try {
    problem("network", { why: e && e.message ? e.message : String(e) });
  } catch { /* shown */ }
});
