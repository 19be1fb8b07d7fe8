// Texts of the recipient's page in French and English. Elements carrying
// data-t="key" get their text from here; the rest is filled by app.js via t().

const texts = {
  en: {
    "skip": "Skip to content",
    "title": "Sealed document",
    "lead": "This document was encrypted for you. It is decrypted here, in your browser: the server never sees its content.",
    "loading": "Loading…",
    "downloading": "Downloading the sealed document… {pct}",
    "decrypting": "Decrypting and checking the signature…",
    "code.title": "Access code",
    "code.hint": "The sender gave you this code separately, by phone or text message.",
    "code.label": "Code",
    "code.submit": "Open the document",
    "open.go": "Open the document",
    "open.hint": "The document is decrypted in this browser, on this device, when you open it.",
    "code.wrong": "Wrong code. {n} attempts left before the document is locked.",
    "code.wrong1": "Wrong code. Last attempt before the document is locked.",
    "code.empty": "Type the code first.",
    "key.title": "Your key",
    "key.hint": "This document was sealed for a personal key. Your key stays in this browser, protected by your passphrase; it is never sent to the server.",
    "key.stored": "Key saved in this browser",
    "key.passphrase": "Passphrase",
    "key.unlock": "Unlock and open",
    "key.forget": "Forget this key",
    "key.import": "Use a key file",
    "key.file": "Secret key file (.asc, .gpg, .key)",
    "key.passhint": "If the key file has no passphrase yet, the one you type here will protect it in this browser.",
    "key.remember": "Remember this key in this browser",
    "key.importgo": "Import and open",
    "key.create": "I have no key: create one",
    "key.createhint": "Creates a key in this browser and publishes its public half in the key directory, so senders can seal documents for you without an access code. This document was sealed for another key: ask the sender to send it again once your key is published.",
    "key.name": "Your name",
    "key.email": "Professional email address",
    "key.newpass": "Passphrase (at least 10 characters)",
    "key.newpass2": "Passphrase again",
    "key.creatego": "Create and publish my key",
    "key.backup": "Download a backup of my key",
    "key.badpass": "Wrong passphrase.",
    "key.nofile": "Choose your secret key file first.",
    "key.notsecret": "This file holds no secret key. Choose the file with your secret (private) key.",
    "key.needpass": "Choose a passphrase of at least 10 characters to protect the key in this browser.",
    "key.nomatch": "This document was not sealed for this key. It needs the key {ids}.",
    "key.mismatch": "The two passphrases differ.",
    "key.creating": "Creating your key…",
    "key.created": "Your key {fpr} is ready and saved in this browser.",
    "key.published": "We sent a confirmation email to {email}. Open it to publish your key; senders can then find it.",
    "key.notpublished": "The key could not be published ({why}). Your key is saved; send your public key to the sender another way.",
    "facts.title": "About this document",
    "facts.deadline": "Deadline",
    "facts.reference": "Procedure reference",
    "facts.sender": "Sent by",
    "facts.signature": "Signature",
    "facts.file": "File",
    "facts.size": "Size",
    "facts.pages": "Pages",
    "facts.expires": "Available until",
    "facts.downloads": "Downloads left",
    "facts.unlimited": "no limit",
    "facts.sha256": "SHA-256 fingerprint",
    "facts.shahint": "The sender sees the same fingerprint: compare the first and last characters by phone to be sure you hold the very same document.",
    "sig.good": "Authentic document",
    "sig.goodtext": "Signed by {who}, identity verified by {org}. The document has not been altered since it was sealed.",
    "sig.unverified": "Valid signature, identity not verified",
    "sig.notforyou": "This document was addressed to {list}, not to you: someone passed it on.",
    "sig.unverifiedtext": "Signed by a key that says it belongs to {who}, but nobody has verified that identity. The document has not been altered since it was sealed. Before relying on it, compare this fingerprint with the sender by phone: {fpr}.",
    "sig.fpr": "valid — key {fpr}",
    "doc.save": "Save the PDF",
    "doc.saveany": "Save the file",
    "doc.phone": "Save the PDF, then open it with your phone's PDF reader.",
    "doc.viewer": "The decrypted document",
    "receipt.sent": "The sender has been told that you opened the document.",
    "receipt.failed": "The acknowledgement could not be sent to the sender.",
    "foot": "Decrypted on this device with OpenPGP. The link's secret never leaves your browser.",
    "p.notfound": "This document does not exist",
    "p.notfound.text": "The link may be mistyped or cut short.",
    "p.notfound.what": "Copy the whole link again from the message you received, or ask the sender.",
    "p.expired": "This document has expired",
    "p.expired.text": "Sealed documents are kept only for a limited time, then erased for good.",
    "p.expired.what": "Ask the sender to send it again. Nothing can be recovered from this link.",
    "p.exhausted": "The download limit has been reached",
    "p.exhausted.text": "This document could only be downloaded a set number of times, and all of them have been used.",
    "p.exhausted.what": "If you did not download it yourself, tell the sender at once. Ask the sender to send it again.",
    "p.revoked": "The sender withdrew this document",
    "p.revoked.text": "The document was deleted from the server by the sender.",
    "p.revoked.what": "Contact the sender if you still need it.",
    "p.locked": "The document is locked",
    "p.locked.text": "The wrong access code was typed too many times. The document is now locked and the sender has been told.",
    "p.locked.what": "Ask the sender to send the document again with a new code.",
    "p.pending": "This document is not ready yet",
    "p.pending.text": "The sender is still sending it.",
    "p.pending.what": "Reload this page in a few minutes.",
    "p.nosecret": "This link is incomplete",
    "p.nosecret.text": "The end of the link, after the # sign, is missing. It holds the key that opens the document.",
    "p.nosecret.what": "Copy the whole link again from the message you received, or ask the sender.",
    "p.badsecret": "This document could not be opened",
    "p.badsecret.text": "The link does not open this document: it may be damaged or cut short.",
    "p.badsecret.what": "Copy the whole link again from the message you received, or ask the sender.",
    "p.badsig": "Do not use this document",
    "p.badsig.text": "Its signature does not match the sender's key: it may have been altered.",
    "p.badsig.what": "Call the sender to check. Do not rely on any copy of this document.",
    "p.corrupt": "The download was damaged",
    "p.corrupt.text": "What was received does not match what the sender sealed.",
    "p.corrupt.what": "Reload the page to try again.",
    "p.network": "The server could not be reached",
    "p.network.text": "The connection failed or the server answered with an error ({why}).",
    "p.network.what": "Check your connection and reload the page.",
    "p.insecure": "This page must be opened over HTTPS",
    "p.insecure.text": "Decryption needs a secure connection, and this address does not use one.",
    "p.insecure.what": "Check that the link starts with https://, or tell the relay's administrator.",
    "p.browser": "This browser cannot open the document",
    "p.browser.text": "Decryption needs a recent browser.",
    "p.browser.what": "Open the link in an up-to-date Firefox, Chrome, Edge or Safari.",
    "big.title": "Large document",
    "big.text": "This document is large ({size}): it is decrypted straight into a file on this computer, never whole in memory. Choose where to save it; its signature is checked at the end.",
    "big.save": "Choose where to save it and decrypt",
    "big.progress": "Decrypting into the file… {pct}",
    "big.done": "Saved as “{name}”. Open that file to read the document.",
    "p.altered": "Altered document — delete this file",
    "p.altered.text": "The document was modified after it was sealed, or damaged on the way: its check failed at the end of decryption. The file “{name}” is not the document the sender sealed.",
    "p.altered.what": "Delete the file “{name}” if your browser kept it, and do not use it. Tell the sender, who can send the document again.",
    "p.cancelled": "Saving was cancelled",
    "p.cancelled.text": "No file was chosen, so the document was not decrypted.",
    "p.cancelled.what": "Reload the page to try again.",
    "units": ["bytes", "KB", "MB", "GB"],
  },
  fr: {
    "skip": "Aller au contenu",
    "title": "Document scellé",
    "lead": "Ce document a été chiffré pour vous. Il est déchiffré ici, dans votre navigateur : le serveur ne voit jamais son contenu.",
    "loading": "Chargement…",
    "downloading": "Téléchargement du document scellé… {pct}",
    "decrypting": "Déchiffrement et vérification de la signature…",
    "code.title": "Code d’accès",
    "code.hint": "L’expéditeur vous a donné ce code à part, par téléphone ou par SMS.",
    "code.label": "Code",
    "code.submit": "Ouvrir le document",
    "open.go": "Ouvrir le document",
    "open.hint": "Le document est déchiffré dans ce navigateur, sur cet appareil, quand vous l’ouvrez.",
    "code.wrong": "Code erroné. Encore {n} essais avant le verrouillage du document.",
    "code.wrong1": "Code erroné. Dernier essai avant le verrouillage du document.",
    "code.empty": "Saisissez d’abord le code.",
    "key.title": "Votre clé",
    "key.hint": "Ce document a été scellé pour une clé personnelle. Votre clé reste dans ce navigateur, protégée par votre phrase secrète ; elle n’est jamais envoyée au serveur.",
    "key.stored": "Clé enregistrée dans ce navigateur",
    "key.passphrase": "Phrase secrète",
    "key.unlock": "Déverrouiller et ouvrir",
    "key.forget": "Oublier cette clé",
    "key.import": "Utiliser un fichier de clé",
    "key.file": "Fichier de clé secrète (.asc, .gpg, .key)",
    "key.passhint": "Si le fichier de clé n’a pas encore de phrase secrète, celle que vous saisissez ici la protégera dans ce navigateur.",
    "key.remember": "Garder cette clé dans ce navigateur",
    "key.importgo": "Importer et ouvrir",
    "key.create": "Je n’ai pas de clé : en créer une",
    "key.createhint": "Crée une clé dans ce navigateur et publie sa partie publique dans l’annuaire des clés, pour que les expéditeurs puissent vous sceller des documents sans code d’accès. Ce document a été scellé pour une autre clé : demandez à l’expéditeur de le renvoyer une fois votre clé publiée.",
    "key.name": "Vos prénom et nom",
    "key.email": "Adresse électronique professionnelle",
    "key.newpass": "Phrase secrète (10 caractères au moins)",
    "key.newpass2": "Phrase secrète, à nouveau",
    "key.creatego": "Créer et publier ma clé",
    "key.backup": "Télécharger une sauvegarde de ma clé",
    "key.badpass": "Phrase secrète erronée.",
    "key.nofile": "Choisissez d’abord votre fichier de clé secrète.",
    "key.notsecret": "Ce fichier ne contient pas de clé secrète. Choisissez le fichier de votre clé secrète (privée).",
    "key.needpass": "Choisissez une phrase secrète d’au moins 10 caractères pour protéger la clé dans ce navigateur.",
    "key.nomatch": "Ce document n’a pas été scellé pour cette clé. Il faut la clé {ids}.",
    "key.mismatch": "Les deux phrases secrètes diffèrent.",
    "key.creating": "Création de votre clé…",
    "key.created": "Votre clé {fpr} est prête et enregistrée dans ce navigateur.",
    "key.published": "Un courriel de confirmation a été envoyé à {email}. Ouvrez-le pour publier votre clé ; les expéditeurs pourront alors la trouver.",
    "key.notpublished": "La clé n’a pas pu être publiée ({why}). Elle est enregistrée ; transmettez votre clé publique à l’expéditeur par un autre moyen.",
    "facts.title": "À propos de ce document",
    "facts.deadline": "Échéance",
    "facts.reference": "Référence de procédure",
    "facts.sender": "Envoyé par",
    "facts.signature": "Signature",
    "facts.file": "Fichier",
    "facts.size": "Taille",
    "facts.pages": "Pages",
    "facts.expires": "Disponible jusqu’au",
    "facts.downloads": "Téléchargements restants",
    "facts.unlimited": "sans limite",
    "facts.sha256": "Empreinte SHA-256",
    "facts.shahint": "L’expéditeur voit la même empreinte : comparez les premiers et derniers caractères par téléphone pour être sûr de détenir exactement le même document.",
    "sig.good": "Document authentique",
    "sig.goodtext": "Signé par {who}, identité vérifiée par {org}. Le document n’a pas été modifié depuis qu’il a été scellé.",
    "sig.unverified": "Signature valide, identité non vérifiée",
    "sig.notforyou": "Ce document était adressé à {list}, pas à vous : quelqu’un vous l’a transmis.",
    "sig.unverifiedtext": "Signé par une clé qui se dit celle de {who}, mais personne n’a vérifié cette identité. Le document n’a pas été modifié depuis qu’il a été scellé. Avant de vous y fier, comparez cette empreinte avec l’expéditeur par téléphone : {fpr}.",
    "sig.fpr": "valide — clé {fpr}",
    "doc.save": "Enregistrer le PDF",
    "doc.saveany": "Enregistrer le fichier",
    "doc.phone": "Enregistrez le PDF, puis ouvrez-le avec le lecteur PDF de votre téléphone.",
    "doc.viewer": "Le document déchiffré",
    "receipt.sent": "L’expéditeur a été informé que vous avez ouvert le document.",
    "receipt.failed": "L’accusé de réception n’a pas pu être envoyé à l’expéditeur.",
    "foot": "Déchiffré sur cet appareil avec OpenPGP. Le secret du lien ne quitte jamais votre navigateur.",
    "p.notfound": "Ce document n’existe pas",
    "p.notfound.text": "Le lien est peut-être mal recopié ou tronqué.",
    "p.notfound.what": "Recopiez le lien en entier depuis le message reçu, ou demandez-le à l’expéditeur.",
    "p.expired": "Ce document a expiré",
    "p.expired.text": "Les documents scellés ne sont conservés qu’un temps limité, puis effacés définitivement.",
    "p.expired.what": "Demandez à l’expéditeur de vous le renvoyer. Rien ne peut être récupéré depuis ce lien.",
    "p.exhausted": "Le nombre de téléchargements est atteint",
    "p.exhausted.text": "Ce document ne pouvait être téléchargé qu’un nombre limité de fois, et tous ont été utilisés.",
    "p.exhausted.what": "Si vous ne l’avez pas téléchargé vous-même, prévenez aussitôt l’expéditeur. Demandez-lui de vous le renvoyer.",
    "p.revoked": "L’expéditeur a retiré ce document",
    "p.revoked.text": "Le document a été supprimé du serveur par l’expéditeur.",
    "p.revoked.what": "Contactez l’expéditeur si vous en avez encore besoin.",
    "p.locked": "Le document est verrouillé",
    "p.locked.text": "Un code d’accès erroné a été saisi trop de fois. Le document est maintenant verrouillé et l’expéditeur a été prévenu.",
    "p.locked.what": "Demandez à l’expéditeur de vous renvoyer le document avec un nouveau code.",
    "p.pending": "Ce document n’est pas encore prêt",
    "p.pending.text": "L’expéditeur est encore en train de l’envoyer.",
    "p.pending.what": "Rechargez cette page dans quelques minutes.",
    "p.nosecret": "Ce lien est incomplet",
    "p.nosecret.text": "La fin du lien, après le signe #, manque. Elle contient la clé qui ouvre le document.",
    "p.nosecret.what": "Recopiez le lien en entier depuis le message reçu, ou demandez-le à l’expéditeur.",
    "p.badsecret": "Ce document n’a pas pu être ouvert",
    "p.badsecret.text": "Ce lien n’ouvre pas ce document : il est peut-être abîmé ou tronqué.",
    "p.badsecret.what": "Recopiez le lien en entier depuis le message reçu, ou demandez-le à l’expéditeur.",
    "p.badsig": "N’utilisez pas ce document",
    "p.badsig.text": "Sa signature ne correspond pas à la clé de l’expéditeur : il a peut-être été modifié.",
    "p.badsig.what": "Appelez l’expéditeur pour vérifier. Ne vous fiez à aucune copie de ce document.",
    "p.corrupt": "Le téléchargement est abîmé",
    "p.corrupt.text": "Ce qui a été reçu ne correspond pas à ce que l’expéditeur a scellé.",
    "p.corrupt.what": "Rechargez la page pour réessayer.",
    "p.network": "Le serveur est injoignable",
    "p.network.text": "La connexion a échoué ou le serveur a répondu par une erreur ({why}).",
    "p.network.what": "Vérifiez votre connexion et rechargez la page.",
    "p.insecure": "Cette page doit être ouverte en HTTPS",
    "p.insecure.text": "Le déchiffrement demande une connexion sécurisée, et cette adresse n’en utilise pas.",
    "p.insecure.what": "Vérifiez que le lien commence par https://, ou prévenez l’administrateur du relais.",
    "p.browser": "Ce navigateur ne peut pas ouvrir le document",
    "p.browser.text": "Le déchiffrement demande un navigateur récent.",
    "p.browser.what": "Ouvrez le lien dans un Firefox, Chrome, Edge ou Safari à jour.",
    "big.title": "Document volumineux",
    "big.text": "Ce document est volumineux ({size}) : il est déchiffré directement dans un fichier de cet ordinateur, jamais en entier en mémoire. Choisissez où l’enregistrer ; sa signature est vérifiée à la fin.",
    "big.save": "Choisir où l’enregistrer et déchiffrer",
    "big.progress": "Déchiffrement dans le fichier… {pct}",
    "big.done": "Enregistré sous « {name} ». Ouvrez ce fichier pour lire le document.",
    "p.altered": "Document altéré — supprimez ce fichier",
    "p.altered.text": "Le document a été modifié après avoir été scellé, ou abîmé en chemin : sa vérification a échoué à la fin du déchiffrement. Le fichier « {name} » n’est pas le document scellé par l’expéditeur.",
    "p.altered.what": "Supprimez le fichier « {name} » si votre navigateur l’a gardé, et ne l’utilisez pas. Prévenez l’expéditeur, qui peut renvoyer le document.",
    "p.cancelled": "Enregistrement annulé",
    "p.cancelled.text": "Aucun fichier n’a été choisi : le document n’a pas été déchiffré.",
    "p.cancelled.what": "Rechargez la page pour recommencer.",
    "units": ["octets", "Ko", "Mo", "Go"],
  },
};

const supported = Object.keys(texts);
const storageKey = "sealprint.lang";
let current = "en";
const listeners = [];

// pick returns the page language: the visitor's earlier choice, else the
// first supported language of the browser, else English.
function pick() {
  try {
    const saved = localStorage.getItem(storageKey);
    if (supported.includes(saved)) return saved;
  } catch { /* storage disabled */ }
  for (const l of navigator.languages || [navigator.language || "en"]) {
    const base = String(l).toLowerCase().split("-")[0];
    if (supported.includes(base)) return base;
  }
  return "en";
}

/** lang returns the current language code ("fr" or "en"). */
export function lang() { return current; }

/** t returns the text for key in the current language, with {name} replaced from vars. */
export function t(key, vars = {}) {
  const s = texts[current][key] ?? texts.en[key] ?? key;
  if (typeof s !== "string") return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

/** extend adds texts ({fr: {...}, en: {...}}) of a module of the page, before or after init. */
export function extend(more) {
  for (const l of supported) Object.assign(texts[l], more[l] || {});
  // A module loaded after the page was translated brings texts for
  // elements already in it.
  const added = more[current] || {};
  for (const el of document.querySelectorAll("[data-t]")) {
    if (el.dataset.t in added) el.textContent = t(el.dataset.t);
  }
}

/** onChange registers fn, called after every language switch. */
export function onChange(fn) { listeners.push(fn); }

/** setLang switches the page to l and remembers the choice when save is true. */
export function setLang(l, save) {
  if (!supported.includes(l)) return;
  current = l;
  if (save) {
    try { localStorage.setItem(storageKey, l); } catch { /* storage disabled */ }
  }
  document.documentElement.lang = l;
  document.title = t("title") + " · Sealprint";
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const b of document.querySelectorAll("button[data-lang]")) {
    b.setAttribute("aria-pressed", String(b.dataset.lang === l));
  }
  for (const fn of listeners) fn(l);
}

/** init applies the preferred language and wires the switch buttons. */
export function init() {
  for (const b of document.querySelectorAll("button[data-lang]")) {
    b.addEventListener("click", () => setLang(b.dataset.lang, true));
  }
  setLang(pick(), false);
}
