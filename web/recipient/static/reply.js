// reply lets the recipient answer the sender through the same secure
// channel: on a drop whose sender has a key bound by the relay, once the
// document is decrypted and its signature by that key checked, the page
// offers "Reply securely". The files and the optional message are packed
// (replyarchive.js), encrypted in this browser to the sender's key and
// signed with the recipient's own key when one opened the document, then
// uploaded with tus to a reply drop the relay ties to this one. The relay
// gives the reply grant only for proof that this download was decrypted:
// the download's receipt token and the reply key derived from the session
// key. The root element's data-reply tells automation where the form is:
// offered, form, sending, sent, failed.

import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import * as tus from "./tus.js";
import * as archive from "./replyarchive.js";

const $ = (id) => document.getElementById(id);
const root = document.documentElement;
const base = "/api/v1/drops/";
const common = { cache: "no-store", credentials: "same-origin", referrerPolicy: "no-referrer", redirect: "error" };

i18n.extend({
  fr: {
    "reply.title": "Répondre à l’expéditeur",
    "reply.open": "Répondre de façon sécurisée",
    "reply.hint": "Vos fichiers et votre message sont chiffrés dans ce navigateur pour la clé de l’expéditeur : le serveur ne voit pas leur contenu.",
    "reply.files": "Fichiers à joindre",
    "reply.message": "Message (facultatif)",
    "reply.send": "Chiffrer et envoyer",
    "reply.cancel": "Annuler",
    "reply.limit": "Jusqu’à {n} fichiers, {size} au total.",
    "reply.signed": "Votre réponse sera signée avec votre clé {fpr}.",
    "reply.unsigned": "Votre réponse ne sera pas signée (pas de clé personnelle dans ce navigateur).",
    "reply.empty": "Joignez au moins un fichier ou écrivez un message.",
    "reply.toomany": "Au plus {n} fichiers.",
    "reply.toolarge": "La réponse chiffrée ferait {size} : c’est plus que la limite de {max}.",
    "reply.encrypting": "Chiffrement de la réponse…",
    "reply.sending": "Envoi de la réponse chiffrée… {pct}",
    "reply.sent": "Réponse envoyée de façon sécurisée ({n} fichier(s)). L’expéditeur la verra dans sa liste d’envois.",
    "reply.another": "Envoyer une autre réponse",
    "reply.failed": "La réponse n’a pas pu être envoyée : {why}. Réessayez.",
    "reply.gone": "le document n’est plus disponible (expiré, révoqué ou épuisé) : il ne reçoit plus de réponse",
    "reply.refused": "le serveur refuse la réponse ({why})",
    "reply.network": "le serveur ne répond pas",
  },
  en: {
    "reply.title": "Reply to the sender",
    "reply.open": "Reply securely",
    "reply.hint": "Your files and message are encrypted in this browser for the sender’s key: the server does not see their content.",
    "reply.files": "Files to attach",
    "reply.message": "Message (optional)",
    "reply.send": "Encrypt and send",
    "reply.cancel": "Cancel",
    "reply.limit": "Up to {n} files, {size} in all.",
    "reply.signed": "Your reply will be signed with your key {fpr}.",
    "reply.unsigned": "Your reply will not be signed (no personal key in this browser).",
    "reply.empty": "Attach at least one file or write a message.",
    "reply.toomany": "At most {n} files.",
    "reply.toolarge": "The encrypted reply would be {size}: more than the limit of {max}.",
    "reply.encrypting": "Encrypting the reply…",
    "reply.sending": "Sending the encrypted reply… {pct}",
    "reply.sent": "Reply sent securely ({n} file(s)). The sender will see it in their list of sent documents.",
    "reply.another": "Send another reply",
    "reply.failed": "The reply could not be sent: {why}. Try again.",
    "reply.gone": "the document is no longer available (expired, revoked or used up): it takes no more replies",
    "reply.refused": "the server refuses the reply ({why})",
    "reply.network": "the server does not answer",
  },
});

async function call(path, init) {
  let res;
  try {
    res = await fetch(path, { ...common, ...init });
  } catch {
    throw new tus.TusError(0);
  }
  let body = null;
  try { body = JSON.parse(await res.text()); } catch { body = null; }
  if (!res.ok) throw new tus.TusError(res.status, body && typeof body.error === "string" ? body.error : "");
  return body;
}

function postJSON(path, payload, headers = {}) {
  return call(path, { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(payload) });
}

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** replyKey returns hex(SHA-256("sealprint-reply" ‖ sessionKey)), as docs/relay-api.md defines. */
export async function replyKey(sessionKey) {
  const label = new TextEncoder().encode("sealprint-reply");
  const m = new Uint8Array(label.length + sessionKey.length);
  m.set(label, 0);
  m.set(sessionKey, label.length);
  return hex(await crypto.subtle.digest("SHA-256", m));
}

function setReply(s) {
  root.dataset.reply = s;
}

// Texts bound to the language: re-rendered on a switch.
const live = new Map();
function say(el, fn) {
  live.set(el, fn);
  el.textContent = fn();
}
i18n.onChange(() => {
  for (const [el, fn] of live) el.textContent = fn();
});

function whyOf(e) {
  if (e instanceof tus.TusError) {
    if (e.status === 410) return t("reply.gone");
    if (e.status === 0) return t("reply.network");
    return t("reply.refused", { why: e.message || "HTTP " + e.status });
  }
  return e && e.message ? e.message : "?";
}

/**
 * offer shows "Reply securely" when the drop takes replies and the
 * document was signed by the sender's bound key. ctx: {id, info, openpgp,
 * senderKey, signerFingerprint, sessionKey, receiptToken, myKeys,
 * formatSize}.
 */
export function offer(ctx) {
  const { info, senderKey } = ctx;
  const max = Number(info.reply_max_size || 0);
  if (!(max > 0) || !ctx.receiptToken || !ctx.sessionKey || !senderKey) return false;
  const fpr = senderKey.getFingerprint().toUpperCase();
  if (!info.sender_fingerprint || info.sender_fingerprint.toUpperCase() !== fpr || ctx.signerFingerprint !== fpr) return false;
  const card = $("reply-card");
  const openBtn = $("reply-open");
  const form = $("reply-form");
  const signer = ctx.myKeys && ctx.myKeys.length ? ctx.myKeys[0] : null;
  say($("reply-limit"), () => t("reply.limit", { n: archive.MAX_FILES, size: ctx.formatSize(max) }));
  say($("reply-signing"), () => (signer ? t("reply.signed", { fpr: signer.getFingerprint().toUpperCase().match(/.{1,4}/g).join(" ") }) : t("reply.unsigned")));
  card.hidden = false;
  setReply("offered");

  const openForm = () => {
    form.hidden = false;
    openBtn.hidden = true;
    openBtn.setAttribute("aria-expanded", "true");
    $("reply-files").focus();
    setReply("form");
  };
  openBtn.addEventListener("click", openForm);
  $("reply-cancel").addEventListener("click", () => {
    form.hidden = true;
    openBtn.hidden = false;
    openBtn.setAttribute("aria-expanded", "false");
    openBtn.focus();
    setReply("offered");
  });
  $("reply-again").addEventListener("click", () => {
    $("reply-files").value = "";
    $("reply-message").value = "";
    $("reply-again").hidden = true;
    $("reply-status").hidden = true;
    openForm();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const files = Array.from($("reply-files").files || []);
    const message = $("reply-message").value.trim();
    const err = $("reply-error");
    say(err, () => "");
    if (files.length === 0 && message === "") return say(err, () => t("reply.empty"));
    if (files.length > archive.MAX_FILES) return say(err, () => t("reply.toomany", { n: archive.MAX_FILES }));
    const plainSize = files.reduce((n, f) => n + f.size, 0);
    if (plainSize > max) return say(err, () => t("reply.toolarge", { size: ctx.formatSize(plainSize), max: ctx.formatSize(max) }));
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      await send(ctx, files, message, signer, max);
      form.hidden = true;
      say($("reply-status-text"), () => t("reply.sent", { n: files.length }));
      $("reply-progress").hidden = true;
      $("reply-again").hidden = false;
      setReply("sent");
      $("reply-status-text").focus?.();
    } catch (e) {
      $("reply-progress").hidden = true;
      say($("reply-status-text"), () => t("reply.failed", { why: whyOf(e) }));
      setReply("failed");
    } finally {
      submit.disabled = false;
    }
  });
  return true;
}

// send encrypts and uploads one reply.
async function send(ctx, files, message, signer, max) {
  const { id, openpgp, senderKey } = ctx;
  const status = $("reply-status");
  const text = $("reply-status-text");
  const bar = $("reply-progress");
  status.hidden = false;
  setReply("sending");
  say(text, () => t("reply.encrypting"));
  const { bytes } = await archive.build(files, message);
  const msg = await openpgp.createMessage({ binary: bytes, filename: "reply.tar", format: "binary" });
  const sealed = await openpgp.encrypt({
    message: msg, encryptionKeys: senderKey, signingKeys: signer || undefined, format: "binary",
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
  });
  if (sealed.length > max) throw new Error(t("reply.toolarge", { size: ctx.formatSize(sealed.length), max: ctx.formatSize(max) }));
  const sha256 = hex(await crypto.subtle.digest("SHA-256", sealed));
  const path = base + encodeURIComponent(id);
  const g = await postJSON(path + "/reply-grant", { token: ctx.receiptToken, reply_key: await replyKey(ctx.sessionKey) });
  const headers = { "X-Sealprint-Reply-Grant": g.grant };
  const created = await postJSON(path + "/replies", { size: sealed.length, sha256 }, headers);
  bar.hidden = false;
  bar.value = 0;
  let shown = -1;
  await tus.upload({
    endpoint: "/api/v1/uploads/", uploadURL: created.upload_url, bytes: sealed, headers,
    metadata: { drop: created.id },
    progress: (sent, total) => {
      const pct = Math.floor((sent / total) * 100);
      if (pct === shown) return;
      shown = pct;
      bar.value = pct;
      say(text, () => t("reply.sending", { pct: pct + "\u00a0%" }));
    },
  });
  await postJSON(created.complete_url, {}, headers);
  root.dataset.replyId = created.id;
}
