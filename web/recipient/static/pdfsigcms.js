// pdfsigcms verifies one detached CMS SignedData of a PDF signature (and
// its RFC 3161 signature timestamp) with the vendored asn1js for DER and
// WebCrypto for digests and signatures. It mirrors pdfsign's verifier
// (verify.go, cmsparse.go): the same checks, the same refusals. Loaded
// only by pdfsig.js, only for a PDF that has a signature dictionary.

import { load, Bad, OID, parse, is, kids, raw, prim, seq, oid, octets, equal, digest } from "./pdfsigder.js";
import { curves, parseCert, checkKeys, chain, importKey } from "./pdfsigcert.js";

// maxCerts bounds the certificates read from one CMS structure.
const maxCerts = 32;
const digests = {
  "1.3.14.3.2.26": "SHA-1", // timestamp imprints only
  "2.16.840.1.101.3.4.2.1": "SHA-256",
  "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
};
// Signature algorithms: the key type and the digest they imply (or any).
const sigAlgs = {
  "1.2.840.113549.1.1.1": ["rsa", ""],
  "1.2.840.113549.1.1.11": ["rsa", "SHA-256"],
  "1.2.840.113549.1.1.12": ["rsa", "SHA-384"],
  "1.2.840.113549.1.1.13": ["rsa", "SHA-512"],
  "1.2.840.10045.2.1": ["ec", ""],
  "1.2.840.10045.4.3.2": ["ec", "SHA-256"],
  "1.2.840.10045.4.3.3": ["ec", "SHA-384"],
  "1.2.840.10045.4.3.4": ["ec", "SHA-512"],
};

// ---- SignedData ----

// parseSignedData reads a ContentInfo holding a SignedData with exactly
// one signer. wantType is the encapsulated content type; detached says the
// content must be absent (PDF signatures) or present (timestamp tokens).
function parseSignedData(der, wantType, detached, strictCerts) {
  const { node, end } = parse(der);
  for (let i = end; i < der.length; i++) if (der[i] !== 0) throw new Bad("cms");
  const [ct, wrapped] = seq(node);
  if (oid(ct) !== OID.signedData || !is(wrapped, 3, 0, true)) throw new Bad("cms");
  const sd = seq(kids(wrapped)[0]);
  let i = 0;
  if (!is(sd[i++], 1, 2) || !is(sd[i++], 1, 17, true)) throw new Bad("cms");
  const encap = seq(sd[i++]);
  if (oid(encap[0]) !== wantType) throw new Bad("cms");
  let content = null;
  if (detached && encap.length !== 1) throw new Bad("cms");
  if (!detached) {
    if (encap.length !== 2 || !is(encap[1], 3, 0, true)) throw new Bad("cms");
    content = octets(kids(encap[1])[0]);
  }
  const certs = [];
  if (is(sd[i], 3, 0, true)) {
    for (const c of kids(sd[i])) {
      // Other certificate formats are skipped, as pdfsign does; a
      // timestamp token (read by pkcs7 on the Go side) has none.
      if (!is(c, 1, 16, true) && strictCerts) throw new Bad("cms");
      if (!is(c, 1, 16, true)) continue;
      if (certs.length === maxCerts) throw new Bad("cms");
      certs.push(parseCert(c));
    }
    i++;
  }
  if (is(sd[i], 3, 1)) i++; // CRLs
  const infos = sd[i++];
  if (!is(infos, 1, 17, true) || i !== sd.length || kids(infos).length !== 1) throw new Bad("cms");
  return { content, certs, signer: parseSignerInfo(seq(kids(infos)[0])) };
}

function parseSignerInfo(f) {
  let i = 0;
  if (!is(f[i++], 1, 2)) throw new Bad("cms");
  const sid = f[i++];
  const s = {};
  if (is(sid, 1, 16, true)) {
    // IssuerAndSerialNumber: a Name and an INTEGER, nothing else. The sid
    // is outside what the signature covers, so its form is checked here.
    const parts = seq(sid);
    if (parts.length !== 2) throw new Bad("cms");
    const [issuer, serial] = parts;
    if (!is(issuer, 1, 16, true) || !is(serial, 1, 2, false)) throw new Bad("cms");
    s.issuer = raw(issuer);
    s.serial = prim(serial);
  } else if (is(sid, 3, 0, false)) {
    s.keyID = prim(sid);
  } else {
    throw new Bad("cms");
  }
  s.digest = digests[oid(seq(f[i++])[0])];
  if (!s.digest || s.digest === "SHA-1") throw new Bad("alg");
  if (!is(f[i], 3, 0, true)) throw new Bad("cms");
  s.signedAttrs = raw(f[i]).slice();
  s.signedAttrs[0] = 0x31; // signed as a SET OF
  s.attrs = attributes(kids(f[i++]));
  s.sigAlg = oid(seq(f[i++])[0]);
  s.signature = octets(f[i++]);
  s.unsigned = {};
  if (is(f[i], 3, 1, true)) s.unsigned = attributes(kids(f[i++]));
  if (i !== f.length) throw new Bad("cms");
  return s;
}

function attributes(list) {
  const out = {};
  for (const a of list) {
    const [t, values] = seq(a);
    const id = oid(t);
    if (id in out || !is(values, 1, 17, true)) throw new Bad("cms");
    out[id] = kids(values);
  }
  return out;
}

function single(attrs, id) {
  const v = attrs[id];
  return v && v.length === 1 ? v[0] : null;
}

function signerCert(s, certs) {
  return certs.find((c) => (s.keyID && c.ski && equal(c.ski, s.keyID)) || (s.issuer && equal(c.issuerRaw, s.issuer) && equal(c.serial, s.serial))) || null;
}

// ecdsaRaw turns a DER ECDSA signature into r‖s, as WebCrypto wants it.
function ecdsaRaw(der, n) {
  const [r, s] = seq(parse(der, "sig").node, "sig");
  const out = new Uint8Array(2 * n);
  [r, s].forEach((x, k) => {
    if (!is(x, 1, 2, false)) throw new Bad("sig");
    let v = prim(x);
    while (v.length > n && v[0] === 0) v = v.subarray(1);
    if (v.length > n) throw new Bad("sig");
    out.set(v, k * n + n - v.length);
  });
  return out;
}

// checkSignature verifies the signer's value over the signed attributes.
async function checkSignature(cert, s) {
  const [type, hash] = sigAlgs[s.sigAlg] || [];
  if (!type || type !== cert.keyType || (hash && hash !== s.digest)) throw new Bad("alg");
  let ok;
  if (type === "rsa") {
    const alg = { name: "RSASSA-PKCS1-v1_5", hash: s.digest };
    const key = await importKey(cert.spki, alg);
    ok = await crypto.subtle.verify(alg, key, s.signature, s.signedAttrs);
  } else {
    const [curve, n] = curves[cert.curve] || [];
    if (!curve) throw new Bad("alg");
    const key = await importKey(cert.spki, { name: "ECDSA", namedCurve: curve });
    ok = await crypto.subtle.verify({ name: "ECDSA", hash: s.digest }, key, ecdsaRaw(s.signature, n), s.signedAttrs);
  }
  if (!ok) throw new Bad("sig");
}

// checkAttributes checks content-type and message-digest against the
// digest of the signed content.
async function checkAttributes(s, wantType, content) {
  const md = single(s.attrs, OID.messageDigest);
  const ct = single(s.attrs, OID.contentType);
  if (!md || !ct) throw new Bad("cms");
  if (oid(ct) !== wantType) throw new Bad("cms");
  return equal(octets(md), await digest(s.digest, content));
}

// checkESS checks that a signing-certificate attribute names cert: v2
// (a hash algorithm, SHA-256 by default) or, with v1 set, v1 (SHA-1,
// which timestamp tokens still use).
async function checkESS(v, cert, v1) {
  const [certs] = seq(v, "ess");
  const [id] = seq(certs, "ess");
  const f = seq(id, "ess");
  let alg = v1 || "SHA-256";
  let k = 0;
  if (!v1 && is(f[0], 1, 16, true)) alg = digests[oid(seq(f[k++], "ess")[0], "ess")];
  if (!alg || (alg === "SHA-1" && !v1)) throw new Bad("ess");
  if (!equal(octets(f[k], "ess"), await digest(alg, cert.raw))) throw new Bad("ess");
}

// checkTimestamp verifies the signature-time-stamp token: its signature by
// the time-stamping certificate it carries, and its imprint over sigValue.
async function checkTimestamp(tokens, sigValue) {
  if (tokens.length !== 1) throw new Bad("ts");
  let tok;
  try {
    tok = parseSignedData(raw(tokens[0]), OID.tstInfo, false, true);
  } catch {
    throw new Bad("ts");
  }
  const cert = signerCert(tok.signer, tok.certs);
  if (!cert || !cert.eku.includes(OID.timeStamping)) throw new Bad("ts");
  try {
    await checkKeys(tok.certs);
  } catch {
    throw new Bad("ts");
  }
  if (!(await checkAttributes(tok.signer, OID.tstInfo, tok.content))) throw new Bad("ts");
  // The TSA's certificate is bound to the token by an ESS signing
  // certificate attribute (RFC 3161, RFC 5816): without it the name shown
  // would be anyone's.
  const v2 = single(tok.signer.attrs, OID.signingCertV2);
  const v1 = single(tok.signer.attrs, OID.signingCert);
  try {
    if (v2) await checkESS(v2, cert);
    else if (v1) await checkESS(v1, cert, "SHA-1");
    else throw new Bad("ts");
  } catch {
    throw new Bad("ts");
  }
  try {
    await checkSignature(cert, tok.signer);
  } catch {
    throw new Bad("ts");
  }
  const info = seq(parse(tok.content, "ts").node, "ts");
  const [algID, hashed] = seq(info[2], "ts");
  const alg = digests[oid(seq(algID, "ts")[0], "ts")];
  if (!alg || !equal(octets(hashed, "ts"), await digest(alg, sigValue))) throw new Bad("ts");
  if (!is(info[4], 1, 24, false)) throw new Bad("ts");
  return { time: info[4].toDate().toISOString(), tsa: cert.subject.text };
}

/**
 * verifyCMS checks the detached CMS signature der over signed (the bytes
 * of the byte range). It returns { valid, problems, signer, signerName,
 * issuer, chain, hasESS, timestamp } and throws only on a failure of the
 * browser itself.
 */
export async function verifyCMS(der, signed) {
  await load();
  const out = { valid: false, problems: [], signer: "", signerName: "", issuer: "", chain: [], hasESS: false, timestamp: null };
  let p;
  try {
    p = parseSignedData(der, OID.data, true);
  } catch (e) {
    if (!(e instanceof Bad)) throw e;
    out.problems.push(e.code === "cert" ? "cms" : e.code);
    return out;
  }
  try {
    await checkKeys(p.certs);
  } catch (e) {
    if (!(e instanceof Bad)) throw e;
    out.problems.push("cms");
    return out;
  }
  const cert = signerCert(p.signer, p.certs);
  if (!cert) {
    out.problems.push("nocert");
    return out;
  }
  Object.assign(out, { signer: cert.subject.text, signerName: cert.subject.cn, issuer: cert.issuer.text, chain: chain(cert, p.certs) });
  const s = p.signer;
  const step = async (code, fn) => {
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof Bad)) throw e;
      out.problems.push(e.code === "cert" ? "cms" : e.code || code);
    }
  };
  await step("cms", async () => {
    if (!(await checkAttributes(s, OID.data, signed))) throw new Bad("digest");
  });
  await step("sig", () => checkSignature(cert, s));
  // A certificate that states its key usages must allow signing.
  if (cert.keyUsage && cert.keyUsage.some((b) => b) && !(cert.keyUsage[0] & 0xc0)) out.problems.push("ku");
  const ess = single(s.attrs, OID.signingCertV2);
  if (ess) {
    out.hasESS = true;
    await step("ess", () => checkESS(ess, cert));
  }
  const tokens = s.unsigned[OID.timeStamp];
  if (tokens && tokens.length > 0) {
    await step("ts", async () => {
      out.timestamp = await checkTimestamp(tokens, s.signature);
    });
  }
  out.valid = out.problems.length === 0;
  return out;
}
