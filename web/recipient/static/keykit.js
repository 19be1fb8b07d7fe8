// keykit runs the "your key" panel of key mode: unlock a key saved in this
// browser, import a secret key file, or create a key and publish its public
// half in the key directory (VKS API). Secret keys never leave the browser.

import { t, lang } from "./i18n.js";
import * as store from "./keystore.js";

const $ = (id) => document.getElementById(id);
let pgp = null;
let waiting = null; // resolve function of the pending ask()
let wired = false;

function setError(text) {
  $("key-error").textContent = text || "";
}

async function fillStored() {
  const stored = await store.list();
  const sel = $("unlock-key");
  sel.replaceChildren(
    ...stored.map((k) => {
      const o = document.createElement("option");
      o.value = k.fingerprint;
      o.textContent = (k.label ? k.label + " — " : "") + k.fingerprint.slice(-16);
      return o;
    }),
  );
  $("unlock-form").hidden = stored.length === 0;
  $("import-box").open = stored.length === 0;
  return stored;
}

function done(keys) {
  $("key-panel").hidden = true;
  setError("");
  const resolve = waiting;
  waiting = null;
  if (resolve) resolve(keys);
}

async function readSecretKey(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes.length > 1 << 20) throw new Error(t("key.notsecret"));
  const text = new TextDecoder().decode(bytes);
  try {
    if (text.includes("-----BEGIN PGP PRIVATE KEY BLOCK-----")) return await pgp.readPrivateKey({ armoredKey: text });
    if (text.includes("-----BEGIN PGP")) throw new Error("public");
    return await pgp.readPrivateKey({ binaryKey: bytes });
  } catch {
    throw new Error(t("key.notsecret"));
  }
}

function label(key) {
  return key.getUserIDs()[0] || "";
}

async function onUnlock(ev) {
  ev.preventDefault();
  const fpr = $("unlock-key").value;
  const rec = (await store.list()).find((k) => k.fingerprint === fpr);
  if (!rec) return fillStored();
  try {
    const key = await pgp.readPrivateKey({ armoredKey: rec.armored });
    const unlocked = await pgp.decryptKey({ privateKey: key, passphrase: $("unlock-pass").value });
    $("unlock-pass").value = "";
    done([unlocked]);
  } catch {
    setError(t("key.badpass"));
    $("unlock-pass").focus();
  }
}

async function onImport(ev) {
  ev.preventDefault();
  const file = $("import-file").files[0];
  if (!file) return setError(t("key.nofile"));
  const pass = $("import-pass").value;
  let key;
  try {
    key = await readSecretKey(file);
  } catch (e) {
    return setError(e.message);
  }
  let unlocked;
  let protectedKey;
  if (key.isDecrypted()) {
    if (pass.length < 10) return setError(t("key.needpass"));
    unlocked = key;
    protectedKey = await pgp.encryptKey({ privateKey: key, passphrase: pass });
  } else {
    try {
      unlocked = await pgp.decryptKey({ privateKey: key, passphrase: pass });
    } catch {
      return setError(t("key.badpass"));
    }
    protectedKey = key;
  }
  if ($("import-remember").checked) {
    try {
      await store.put(key.getFingerprint().toUpperCase(), label(key), protectedKey.armor());
    } catch { /* not remembered: still usable now */ }
  }
  $("import-pass").value = "";
  done([unlocked]);
}

async function vks(path, payload) {
  const res = await fetch("/vks/v1/" + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
    cache: "no-store",
    referrerPolicy: "no-referrer",
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || "HTTP " + res.status);
  return body;
}

async function onCreate(ev) {
  ev.preventDefault();
  const name = $("create-name").value.trim();
  const email = $("create-email").value.trim();
  const pass = $("create-pass").value;
  if (!name || !$("create-email").checkValidity() || !email) return setError(t("key.email"));
  if (pass.length < 10) return setError(t("key.needpass"));
  if (pass !== $("create-pass2").value) return setError(t("key.mismatch"));
  setError("");
  const out = $("created-text");
  out.textContent = t("key.creating");
  $("created").hidden = false;
  const { privateKey, publicKey } = await pgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name, email }],
    passphrase: pass,
    format: "armored",
  });
  $("create-pass").value = "";
  $("create-pass2").value = "";
  const pub = await pgp.readKey({ armoredKey: publicKey });
  const fpr = pub.getFingerprint().toUpperCase();
  await store.put(fpr, label(pub), privateKey).catch(() => {});
  const backup = $("backup");
  backup.href = URL.createObjectURL(new Blob([privateKey], { type: "application/pgp-keys" }));
  backup.download = "sealprint-secret-key-" + fpr.slice(-16) + ".asc";
  let text = t("key.created", { fpr: fpr.match(/.{1,4}/g).join(" ") });
  try {
    const up = await vks("upload", { keytext: publicKey });
    await vks("request-verify", { token: up.token, addresses: [email], locale: [lang()] });
    text += " " + t("key.published", { email });
    document.documentElement.dataset.keyPublished = fpr;
  } catch (e) {
    text += " " + t("key.notpublished", { why: e.message });
  }
  out.textContent = text;
  fillStored();
}

function wire() {
  if (wired) return;
  wired = true;
  $("unlock-form").addEventListener("submit", onUnlock);
  $("import-form").addEventListener("submit", onImport);
  $("create-form").addEventListener("submit", onCreate);
  $("forget-key").addEventListener("click", async () => {
    const fpr = $("unlock-key").value;
    if (fpr) await store.remove(fpr).catch(() => {});
    fillStored();
  });
}

/**
 * ask shows the key panel (with errorText, if any) and resolves with the
 * recipient's unlocked secret keys once they unlocked or imported one.
 */
export async function ask(openpgp, errorText) {
  pgp = openpgp;
  wire();
  const stored = await fillStored();
  $("status").hidden = true;
  $("key-panel").hidden = false;
  setError(errorText);
  (stored.length ? $("unlock-pass") : $("import-file")).focus();
  // Set last: automation may type as soon as it sees this state.
  document.documentElement.dataset.state = "key";
  return new Promise((resolve) => {
    waiting = resolve;
  });
}
