// opener decrypts a sealed document with OpenPGP.js, checks the sender's
// signature, and computes the document fingerprint and the receipt proof.
// It fails closed: any doubt about the signature is an error and no
// plaintext is returned.

/** OpenError is a failure to open; kind names the page's explanation. */
export class OpenError extends Error {
  constructor(kind, detail) {
    super(kind + (detail ? ": " + detail : ""));
    this.kind = kind; // badsecret | nomatch | badsig | corrupt
    this.detail = detail || "";
  }
}

const enc = new TextEncoder();

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** sha256hex returns the lowercase hex SHA-256 of bytes. */
export async function sha256hex(bytes) {
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

/**
 * receiptProof returns hex(HMAC-SHA256(key = SHA-256("sealprint-receipt" ‖ sessionKey),
 * message = ciphertext SHA-256 in lowercase hex)), as docs/relay-api.md defines.
 */
export async function receiptProof(sessionKey, cipherHex) {
  const label = enc.encode("sealprint-receipt");
  const material = new Uint8Array(label.length + sessionKey.length);
  material.set(label, 0);
  material.set(sessionKey, label.length);
  const k = await crypto.subtle.digest("SHA-256", material);
  const key = await crypto.subtle.importKey("raw", k, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return hex(await crypto.subtle.sign("HMAC", key, enc.encode(cipherHex.toLowerCase())));
}

/**
 * linkReceiptProof returns hex(HMAC-SHA256(key = SHA-256("sealprint-receipt-link" ‖ secret),
 * message = ciphertext SHA-256 in lowercase hex)): the receipt's second proof in
 * link mode, by which the sender tells whose link opened the document.
 */
export async function linkReceiptProof(secret, cipherHex) {
  const k = await crypto.subtle.digest("SHA-256", enc.encode("sealprint-receipt-link" + secret));
  const key = await crypto.subtle.importKey("raw", k, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return hex(await crypto.subtle.sign("HMAC", key, enc.encode(cipherHex.toLowerCase())));
}

/** isPDF reports whether bytes start like a PDF file. */
export function isPDF(bytes) {
  return bytes.length > 5 && String.fromCharCode(...bytes.subarray(0, 5)) === "%PDF-";
}

/**
 * countPages counts page objects ("/Type /Page", not "/Pages") in a PDF,
 * scanning the bytes without copying them. A page written again by an
 * incremental update (a signature adds its field to the page) keeps its
 * object number and counts once. Pages hidden in compressed object
 * streams are not seen: 0 means unknown.
 */
export function countPages(bytes) {
  if (!isPDF(bytes)) return 0;
  const type = [0x2f, 0x54, 0x79, 0x70, 0x65]; // "/Type"
  const page = [0x2f, 0x50, 0x61, 0x67, 0x65]; // "/Page"
  const at = (i, word) => word.every((c, k) => bytes[i + k] === c);
  const isSpace = (c) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0c || c === 0x00;
  const isLetter = (c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  const seen = new Set();
  for (let i = bytes.indexOf(0x2f); i >= 0 && i < bytes.length - 10; i = bytes.indexOf(0x2f, i + 1)) {
    if (!at(i, type)) continue;
    let j = i + type.length;
    while (j < bytes.length && isSpace(bytes[j])) j++;
    if (at(j, page) && !isLetter(bytes[j + page.length])) seen.add(objectNumber(bytes, i) ?? "@" + i);
  }
  return seen.size;
}

// objectNumber returns N of the "N G obj" before offset i (within 4 KB).
function objectNumber(bytes, i) {
  const from = Math.max(0, i - 4096);
  for (let k = i - 3; k >= from; k--) {
    if (bytes[k] === 0x6f && bytes[k + 1] === 0x62 && bytes[k + 2] === 0x6a) {
      return (String.fromCharCode(...bytes.subarray(Math.max(from, k - 24), k)).match(/(\d+)\s+\d+\s+$/) || [])[1];
    }
  }
}

/** safeName turns the sealed file name into a harmless download name. */
export function safeName(name, pdf) {
  let s = String(name || "").split(/[\\/]/).pop().replace(/[\u0000-\u001f\u007f<>:"|?*]/g, "").trim();
  if (s.startsWith(".")) s = s.replace(/^\.+/, "");
  if (s.length > 120) s = s.slice(0, 120);
  if (!s) s = "document";
  if (pdf && !/\.pdf$/i.test(s)) s += ".pdf";
  return s;
}

function keyIDs(key) {
  return key.getKeys().map((k) => k.getKeyID().toHex());
}

// A compressed message (never a sealed one) may expand 16× its ciphertext
// + 1 MiB, no more: a bomb's signature is checked only at the end.
export const maxExpansion = 16;
export const readConfig = (size) => ({ maxDecompressedMessageSize: maxExpansion * size + (1 << 20) });

/**
 * open decrypts ciphertext (Uint8Array) with either the link secret or the
 * recipient's unlocked keys, and verifies it was signed by senderKey.
 * Returns {data, filename, sessionKey, signer: {fingerprint, userID},
 * intended, notForMe, cover}: cover is the sender's deadline and procedure
 * reference from the verified signature (see parseCover), or null; intended lists the fingerprints the signature names
 * as recipients; notForMe is true in key mode when none of them is one of
 * the keys that opened it (someone passed the document on).
 */
export async function open(openpgp, ciphertext, { secret, keys, senderKey }) {
  let message;
  try {
    message = await openpgp.readMessage({ binaryMessage: ciphertext, config: readConfig(ciphertext.length) });
  } catch (e) {
    throw new OpenError("corrupt", e.message);
  }
  if (keys) {
    const wanted = message.getEncryptionKeyIDs().map((k) => k.toHex());
    const have = keys.flatMap(keyIDs);
    if (!wanted.some((k) => have.includes(k))) {
      throw new OpenError("nomatch", wanted.map((k) => k.toUpperCase()).join(", "));
    }
  }
  let sessionKeys;
  try {
    sessionKeys = await openpgp.decryptSessionKeys(keys ? { message, decryptionKeys: keys } : { message, passwords: [secret] });
  } catch (e) {
    throw new OpenError(keys ? "nomatch" : "badsecret", e.message);
  }
  let result = null;
  let used = null;
  let lastErr = null;
  for (const sk of sessionKeys) {
    try {
      result = await openpgp.decrypt({ message, sessionKeys: sk, verificationKeys: senderKey, format: "binary", config: readConfig(ciphertext.length) });
      used = sk;
      break;
    } catch (e) {
      lastErr = e;
    }
  }
  if (!result) throw new OpenError(keys ? "nomatch" : "badsecret", lastErr ? lastErr.message : "");
  if (!result.signatures || result.signatures.length === 0) throw new OpenError("badsig", "not signed");
  const senderIDs = keyIDs(senderKey);
  let good = false;
  let intended = [];
  let cover = null;
  for (const s of result.signatures) {
    try {
      if ((await s.verified) === true && senderIDs.includes(s.keyID.toHex())) {
        good = true;
        const sig = await s.signature;
        intended = intendedRecipients(sig.packets[0]);
        cover = coverOf(sig.packets[0]);
      }
    } catch (e) {
      throw new OpenError("badsig", e.message);
    }
  }
  const mine = keys ? keys.map((k) => k.getFingerprint().toUpperCase()) : [];
  const addressed = message.getEncryptionKeyIDs().map((k) => k.toHex());
  const openedWith = keys ? keys.find((k) => keyIDs(k).some((id) => addressed.includes(id))) || null : null;
  const notForMe = !!keys && intended.length > 0 && !intended.some((f) => mine.includes(f));
  if (!good) throw new OpenError("badsig", "no signature by the sender's key");
  return {
    data: result.data,
    filename: result.filename || "",
    sessionKey: used.data,
    signer: { fingerprint: senderKey.getFingerprint().toUpperCase(), userID: senderKey.getUserIDs()[0] || "" },
    intended,
    notForMe,
    cover,
    openedWith,
  };
}

/**
 * signReceipt signs the receipt statement (relayapi.ReceiptStatement:
 * drop, ciphertext SHA-256, time to the second) with the key that opened a
 * key-mode document, so the sender knows which recipient opened it.
 * Returns the fields a signed receipt adds: {signer, signature, signed_at}.
 */
export async function signReceipt(openpgp, key, id, cipherHex) {
  const at = new Date(Math.floor(Date.now() / 1000) * 1000);
  const stamp = at.toISOString().replace(/\.\d{3}Z$/, "Z");
  const statement = "sealprint receipt v1\ndrop: " + id + "\nsha256: " + cipherHex.toLowerCase() + "\nopened-at: " + stamp + "\n";
  const message = await openpgp.createMessage({ binary: new TextEncoder().encode(statement) });
  const sig = await openpgp.sign({ message, signingKeys: key, detached: true, format: "binary", date: at });
  let s = "";
  for (let i = 0; i < sig.length; i += 0x8000) s += String.fromCharCode(...sig.subarray(i, i + 0x8000));
  return { signer: key.getFingerprint().toUpperCase(), signature: btoa(s), signed_at: stamp };
}

/**
 * intendedRecipients reads the Intended Recipient Fingerprint subpackets
 * (RFC 9580 §5.2.3.36, type 35) of a signature packet's hashed area, which
 * OpenPGP.js keeps as signatureData. Returns upper-case hex fingerprints.
 */
export function intendedRecipients(packet) {
  const d = packet && packet.signatureData;
  if (!d || d.length < 6) return [];
  let i;
  let end;
  if (d[0] === 4 || d[0] === 5) {
    i = 6;
    end = 6 + ((d[4] << 8) | d[5]);
  } else if (d[0] === 6 && d.length >= 8) {
    i = 8;
    end = 8 + (((d[4] << 24) | (d[5] << 16) | (d[6] << 8) | d[7]) >>> 0);
  } else {
    return [];
  }
  end = Math.min(end, d.length);
  const out = [];
  while (i < end) {
    let len = d[i];
    if (len < 192) {
      i += 1;
    } else if (len < 255) {
      if (i + 1 >= end) break;
      len = ((len - 192) << 8) + d[i + 1] + 192;
      i += 2;
    } else {
      if (i + 4 >= end) break;
      len = ((d[i + 1] << 24) | (d[i + 2] << 16) | (d[i + 3] << 8) | d[i + 4]) >>> 0;
      i += 5;
    }
    if (len < 1 || i + len > end) break;
    if ((d[i] & 0x7f) === 35 && len > 2) {
      out.push(Array.from(d.subarray(i + 2, i + len), (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase());
    }
    i += len;
  }
  return out;
}

/** COVER_NOTATION names the signature notation holding the cover (docs/cover.md). */
export const COVER_NOTATION = "cover@sealprint.org";
const MAX_COVER = 1024;
const MAX_REFERENCE = 200; // bytes of UTF-8, as the Go side counts
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * coverOf returns the cover carried by a verified signature packet (its
 * cover@sealprint.org notation), or null when there is none or it is
 * malformed. The caller must only pass a packet whose signature verified.
 */
export function coverOf(packet) {
  const notes = packet && Array.isArray(packet.rawNotations) ? packet.rawNotations : [];
  const n = notes.find((x) => x && x.name === COVER_NOTATION);
  return n && n.value instanceof Uint8Array ? parseCover(n.value) : null;
}

/**
 * parseCover decodes a cover notation's value: UTF-8 JSON
 * {"v":1,"deadline":RFC 3339,"reference":text}, at most 1024 bytes, the
 * reference at most 200 bytes without control characters. The sender
 * wrote it: anything else (another version, a wrong type, a bad date)
 * gives null, and the page shows nothing of it. Unknown members are
 * ignored. Returns {deadline: Date|null, reference: string} or null.
 */
export function parseCover(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length > MAX_COVER) return null;
  let v;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v) || v.v !== 1) return null;
  let deadline = null;
  if (v.deadline !== undefined && v.deadline !== "") {
    if (typeof v.deadline !== "string" || !RFC3339.test(v.deadline)) return null;
    deadline = new Date(v.deadline);
    if (isNaN(deadline)) return null;
  }
  let reference = "";
  if (v.reference !== undefined) {
    if (typeof v.reference !== "string" || enc.encode(v.reference).length > MAX_REFERENCE) return null;
    if (/[\u0000-\u001f\u007f]/.test(v.reference)) return null;
    reference = v.reference;
  }
  if (!deadline && !reference) return null;
  return { deadline, reference };
}
