// bigdoc runs the page for a document too large to hold in memory: the
// person clicks to choose where to save it, then the ciphertext streams
// from the relay through OpenPGP.js into that file. Nothing is shown as
// good before the modification check and the signature pass at the end;
// if either fails the file is removed (or its download fails) and the page
// says "document altéré — supprimez ce fichier".

import * as api from "./api.js";
import * as opener from "./opener.js";
import * as sink from "./sink.js";
import * as stream from "./stream.js";

// sinkMode lets browser tests force the private-storage or download path
// in a browser that also has the File System Access picker (whose dialog
// cannot be driven), or the download path where there is private storage.
function sinkMode(testMode) {
  if (!testMode) return "auto";
  const how = new URLSearchParams(location.search).get("sink");
  return how === "download" || how === "storage" ? how : "auto";
}

/**
 * run streams drop id to a file. ui holds app.js's helpers ($, t, show,
 * bind, status, fact, setState, problem, apiProblem, formatSize, groupHex).
 */
export async function run(ui, { id, info, grant, secret, myKeys, senderKey, openpgp, testMode }) {
  const { $, t } = ui;
  ui.show($("status"), false);
  const card = $("big-card");
  ui.show(card, true);
  ui.bind($("big-text"), () => t("big.text", { size: ui.formatSize(info.size) }));
  const button = $("big-save");
  ui.setState("save");
  button.focus();
  await new Promise((resolve) => button.addEventListener("click", resolve, { once: true }));
  performance.mark("sealprint-save");
  ui.show(card, false);
  ui.setState("loading");
  const bar = $("progress");
  bar.hidden = false;
  bar.value = 0;
  let shown = -1;
  const progress = (f) => {
    const pct = Math.floor(f * 100);
    if (pct === shown) return;
    shown = pct;
    bar.value = pct;
    ui.bind($("status-text"), () => t("big.progress", { pct: pct + "\u00a0%" }));
  };
  ui.status(() => t("downloading", { pct: "" }));

  let got;
  try {
    got = await api.blob(id, grant, info.size);
  } catch (e) {
    ui.apiProblem(e);
  }
  let name = "";
  let opened;
  try {
    opened = await stream.decryptTo(openpgp, got.body, got.size, { secret, keys: myKeys, senderKey }, async (filename) => {
      const s = await sink.open(opener.safeName(filename, /\.pdf$/i.test(filename)), sinkMode(testMode), info.size);
      name = s.name;
      root().dataset.sink = s.kind;
      return s;
    }, progress);
  } catch (e) {
    bar.hidden = true;
    if (e && e.name === "AbortError") ui.problem("cancelled");
    if (!(e instanceof opener.OpenError)) throw e;
    if (e.kind === "altered") ui.problem("altered", { name: name || "document" });
    ui.problem(e.kind === "nomatch" ? "badsecret" : e.kind);
  }
  bar.hidden = true;
  performance.mark("sealprint-decrypted");

  const who = opened.signer.userID || opened.signer.fingerprint;
  ui.show($("status"), false);
  ui.show($("verdict"), true);
  ui.bind($("verdict-text"), () => t("sig.goodtext", { who }));
  ui.fact("f-sender", () => who);
  ui.fact("f-signature", () => t("sig.fpr", { fpr: opened.signer.fingerprint.match(/.{1,4}/g).join(" ") }));
  ui.fact("f-file", () => name);
  ui.fact("f-size", () => ui.formatSize(opened.size));
  ui.fact("f-sha256", () => ui.groupHex(opened.sha256));
  ui.show($("sha-hint"), true);
  ui.show($("big-done"), true);
  ui.bind($("big-done"), () => t("big.done", { name }));
  root().dataset.sha256 = opened.sha256;
  root().dataset.engine = opened.engine;
  ui.setState("decrypted");
  // Not held in memory: the PDF's own signature is not checked here.
  if (/\.pdf$/i.test(name)) import("./pdfsig.js").then((m) => m.unchecked(), () => {});

  // Verified (modification check and the sender's signature): the same
  // reply offer as for a document shown inline.
  import("./reply.js").then((reply) => reply.offer({ id, info, openpgp, senderKey, signerFingerprint: opened.signer.fingerprint,
    sessionKey: opened.sessionKey, receiptToken: got.receiptToken, myKeys, formatSize: ui.formatSize }))
    .catch((e) => console.warn("reply form unavailable", e));

  const receipt = $("receipt");
  ui.show($("actions"), true);
  ui.show($("save"), false);
  try {
    if (!got.sha256) throw new Error("no ciphertext hash");
    const proof = await opener.receiptProof(opened.sessionKey, got.sha256);
    // Key mode: signed with the key that opened the document, as inline;
    // a relay that refuses the signature still gets the plain receipt.
    // Link mode: a second HMAC keyed from this link's own secret.
    let signed = null;
    if (opened.openedWith) signed = await opener.signReceipt(openpgp, opened.openedWith, id, got.sha256).catch(() => null);
    const linked = !myKeys && secret ? { link_proof: await opener.linkReceiptProof(secret, got.sha256) } : null;
    try {
      await api.receipt(id, proof, got.receiptToken, signed || linked);
    } catch (e) {
      if (!signed && !linked) throw e;
      await api.receipt(id, proof, got.receiptToken);
      if (signed) root().dataset.receiptSigned = "refused";
    }
    if (signed && root().dataset.receiptSigned !== "refused") root().dataset.receiptSigned = "yes";
    ui.bind(receipt, () => t("receipt.sent"));
    root().dataset.receipt = "sent";
  } catch {
    ui.bind(receipt, () => t("receipt.failed"));
    root().dataset.receipt = "failed";
  }
}

function root() {
  return document.documentElement;
}
