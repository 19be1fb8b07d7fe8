// pdfsigcert reads the certificates of a PDF signature for pdfsigcms.js:
// the names as Go's crypto/x509 prints them, the key, the extensions the
// check needs, and the chain's subjects for display.

import { Bad, OID, parse, is, kids, raw, prim, seq, oid, octets, equal } from "./pdfsigder.js";

/** curves are the EC curves WebCrypto verifies with, and their size. */
export const curves = { "1.2.840.10045.3.1.7": ["P-256", 32], "1.3.132.0.34": ["P-384", 48], "1.3.132.0.35": ["P-521", 66] };
// Go's crypto/x509 names for the attributes it knows, and its order.
const nameOrder = ["2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.9", "2.5.4.17", "2.5.4.10", "2.5.4.11", "2.5.4.3", "2.5.4.5"];
const nameLabels = { "2.5.4.6": "C", "2.5.4.8": "ST", "2.5.4.7": "L", "2.5.4.9": "STREET", "2.5.4.17": "POSTALCODE", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.3": "CN", "2.5.4.5": "SERIALNUMBER", "1.2.840.113549.1.9.1": "E" };

function nameString(n) {
  const fields = {};
  const extra = [];
  for (const rdn of kids(n) || []) {
    for (const atv of kids(rdn) || []) {
      const [t, v] = kids(atv) || [];
      const type = oid(t, "cert");
      const value = v && typeof v.valueBlock.value === "string" ? v.valueBlock.value : null;
      if (value === null) continue;
      if (nameOrder.includes(type)) {
        if (type === "2.5.4.3" || type === "2.5.4.5") fields[type] = [value];
        else (fields[type] ||= []).push(value);
      } else {
        extra.push([type, value]);
      }
    }
  }
  const escape = (s) => s.replace(/[,+"\\<>;]/g, "\\$&").replace(/^([ #])/, "\\$1").replace(/ $/, "\\ ");
  const label = (type) => nameLabels[type] || type;
  const rdns = extra.map(([type, v]) => label(type) + "=" + escape(v));
  for (const type of nameOrder) {
    if (fields[type]) rdns.push(fields[type].map((v) => label(type) + "=" + escape(v)).join("+"));
  }
  return { text: shown(rdns.reverse().join(",")), cn: shown((fields["2.5.4.3"] || [""])[0]) };
}

// shown makes a name from a certificate safe to display: control and
// bidirectional-override characters (which could make one name look like
// another) become U+FFFD, and it is cut at 300 characters.
function shown(s) {
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "\ufffd");
  return s.length > 300 ? s.slice(0, 300) + "…" : s;
}

// Certificates are read as strictly as Go's crypto/x509 reads them (the
// sender's verifier), so that a malformed one is refused by both: the
// string types, the validity times, the critical flag, the algorithm
// identifiers and the key (imported into WebCrypto, which checks it).
const printable = /^[A-Za-z0-9 '()+,\-./:=?*&]*$/;
const stringTags = [12, 18, 19, 20, 22, 30]; // UTF8, Numeric, Printable, T61, IA5, BMP
function checkStrings(name) {
  for (const rdn of kids(name) || []) {
    if (!is(rdn, 1, 17, true)) throw new Bad("cert");
    for (const atv of kids(rdn)) {
      const [type, v, more] = seq(atv, "cert");
      oid(type, "cert");
      if (!v || more || v.idBlock.tagClass !== 1 || v.idBlock.isConstructed) throw new Bad("cert");
      const tag = v.idBlock.tagNumber;
      if (!stringTags.includes(tag) || typeof v.valueBlock.value !== "string") throw new Bad("cert");
      if (tag === 19 && !printable.test(v.valueBlock.value)) throw new Bad("cert");
      if (tag === 22 && /[^\x00-\x7f]/.test(v.valueBlock.value)) throw new Bad("cert");
      if (tag === 18 && !/^[0-9 ]*$/.test(v.valueBlock.value)) throw new Bad("cert");
    }
  }
}
function checkTime(n) {
  const text = n && !n.idBlock.isConstructed ? String.fromCharCode(...prim(n)) : "";
  const m = (is(n, 1, 23) && text.match(/^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/)) || (is(n, 1, 24) && text.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/));
  if (!m) throw new Bad("cert");
  const [y, mo, d, h, mi, sec] = m.slice(1).map(Number);
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, sec));
  if (t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || t.getUTCHours() !== h || t.getUTCMinutes() !== mi || t.getUTCSeconds() !== sec) throw new Bad("cert");
}

export function parseCert(n) {
  const [tbs, outerAlg, sigValue, more] = seq(n, "cert");
  if (!is(sigValue, 1, 3, false) || more) throw new Bad("cert");
  const f = seq(tbs, "cert");
  let i = 0;
  if (is(f[0], 3, 0)) {
    const v = kids(f[i++]);
    if (!v || v.length !== 1 || !is(v[0], 1, 2, false)) throw new Bad("cert");
    const b = prim(v[0]);
    if (b.length !== 1 || b[0] > 2) throw new Bad("cert");
  }
  const serial = f[i++];
  if (!is(serial, 1, 2, false) || prim(serial)[0] & 0x80) throw new Bad("cert"); // negative
  const innerAlg = f[i++];
  if (!innerAlg || !outerAlg || !equal(raw(innerAlg), raw(outerAlg))) throw new Bad("cert");
  const issuer = f[i++];
  const validity = seq(f[i++], "cert");
  const subject = f[i++];
  const spki = f[i++];
  seq(issuer, "cert");
  seq(subject, "cert");
  checkStrings(issuer);
  checkStrings(subject);
  if (validity.length !== 2) throw new Bad("cert");
  validity.forEach(checkTime);
  const [keyAlg] = seq(spki, "cert");
  const [algOID, params] = seq(keyAlg, "cert");
  // An EC key names one of the curves Go's crypto/x509 knows and is an
  // uncompressed point.
  if (oid(algOID, "cert") === OID.ec) {
    const key = seq(spki, "cert")[1];
    if (!(is(params, 1, 6, false) && (curves[oid(params, "cert")] || params.getValue() === "1.3.132.0.33"))) throw new Bad("cert");
    if (!is(key, 1, 3, false) || key.valueBlock.unusedBits !== 0 || prim(key)[0] !== 0x04) throw new Bad("cert");
  }
  const c = {
    raw: raw(n), serial: prim(serial), issuerRaw: raw(issuer), subjectRaw: raw(subject), spki: raw(spki),
    keyType: oid(algOID, "cert") === OID.rsa ? "rsa" : oid(algOID, "cert") === OID.ec ? "ec" : "",
    curve: params && is(params, 1, 6, false) ? params.getValue() : "",
    subject: nameString(subject), issuer: nameString(issuer), ski: null, keyUsage: null, eku: [],
  };
  for (; i < f.length; i++) {
    if (!is(f[i], 3, 3)) continue;
    for (const ext of seq(kids(f[i])?.[0], "cert")) {
      const e = seq(ext, "cert");
      const id = oid(e[0], "cert");
      if (e.length === 3) {
        const crit = is(e[1], 1, 1, false) ? prim(e[1]) : null;
        if (!crit || crit.length !== 1 || (crit[0] !== 0 && crit[0] !== 0xff)) throw new Bad("cert");
      } else if (e.length !== 2) {
        throw new Bad("cert");
      }
      const value = octets(e[e.length - 1], "cert");
      const inner = parse(value, "cert").node;
      if (id === OID.ski) c.ski = octets(inner, "cert");
      if (id === OID.keyUsage && is(inner, 1, 3, false)) c.keyUsage = prim(inner); // asn1js leaves out the unused-bits byte
      if (id === OID.extKeyUsage) c.eku = seq(inner, "cert").map((x) => oid(x, "cert"));
    }
  }
  return c;
}

// checkKeys imports every RSA and EC key of certs into WebCrypto, which
// refuses a malformed key or a point off its curve.
export async function checkKeys(certs) {
  for (const c of certs) {
    if (c.keyType === "rsa") await importKey(c.spki, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" });
    if (c.keyType === "ec" && curves[c.curve]) await importKey(c.spki, { name: "ECDSA", namedCurve: curves[c.curve][0] });
  }
}

// chain follows issuers through the certificates in the signature, for
// display only: nothing here is checked against a trusted root.
export function chain(cert, certs) {
  const out = [cert.subject.text];
  let cur = cert;
  while (out.length < 10 && !equal(cur.issuerRaw, cur.subjectRaw)) {
    const up = certs.find((c) => c !== cur && equal(c.subjectRaw, cur.issuerRaw));
    if (!up) {
      out.push(cur.issuer.text);
      break;
    }
    out.push(up.subject.text);
    cur = up;
  }
  return out;
}

// importKey imports a certificate's key; a key WebCrypto refuses is a
// malformed certificate.
export async function importKey(spki, alg) {
  try {
    return await crypto.subtle.importKey("spki", spki, alg, false, ["verify"]);
  } catch {
    throw new Bad("cert");
  }
}
