// pdfsigder reads DER for the PDF signature check (pdfsigcms.js,
// pdfsigcert.js) with the vendored asn1js, as strictly as Go's cryptobyte
// reads it, and holds the object identifiers both use.

const asn1Module = import("./vendor/asn1js.min.mjs");

/** load waits for asn1js; call it before parse. */
export async function load() {
  A ||= await asn1Module;
}

export const OID = {
  signedData: "1.2.840.113549.1.7.2",
  data: "1.2.840.113549.1.7.1",
  tstInfo: "1.2.840.113549.1.9.16.1.4",
  contentType: "1.2.840.113549.1.9.3",
  messageDigest: "1.2.840.113549.1.9.4",
  signingCert: "1.2.840.113549.1.9.16.2.12",
  signingCertV2: "1.2.840.113549.1.9.16.2.47",
  timeStamp: "1.2.840.113549.1.9.16.2.14",
  rsa: "1.2.840.113549.1.1.1",
  ec: "1.2.840.10045.2.1",
  ski: "2.5.29.14",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  timeStamping: "1.3.6.1.5.5.7.3.8",
};

/** Bad is a malformed or failed structure; code names the page's explanation. */
export class Bad extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}


let A; // asn1js

export function parse(bytes, code = "cms") {
  let r;
  try {
    r = A.fromBER(bytes);
  } catch {
    throw new Bad(code);
  }
  if (r.offset === -1 || !strict(r.result, 0)) throw new Bad(code);
  return { node: r.result, end: r.offset };
}

// strict reports whether n and everything in it is DER as Go's cryptobyte
// reads it: no block in error, definite and minimal lengths, and each
// constructed block exactly filled by its elements (asn1js, which reads
// BER, leaves an inner inconsistency in the inner block only).
function strict(n, depth) {
  const len = n.lenBlock;
  if (n.error || depth > 64 || len.isIndefiniteForm || (len.longFormUsed && len.length < 128)) return false;
  if (!n.idBlock.isConstructed) return true;
  const k = n.valueBlock.value;
  if (!Array.isArray(k)) return false;
  let sum = 0;
  for (const c of k) {
    if (!strict(c, depth + 1)) return false;
    sum += c.valueBeforeDecodeView.byteLength;
  }
  return sum === len.length;
}

// Node helpers: tag class 1 is universal, 3 context-specific.
export const is = (n, cls, num, cons) => n && n.idBlock.tagClass === cls && n.idBlock.tagNumber === num && (cons === undefined || n.idBlock.isConstructed === cons);
export const kids = (n) => (n && n.idBlock.isConstructed && Array.isArray(n.valueBlock.value) ? n.valueBlock.value : null);
export const raw = (n) => new Uint8Array(n.valueBeforeDecodeView);
export const prim = (n) => new Uint8Array(n.valueBlock.valueHexView);

export function seq(n, code = "cms") {
  const k = is(n, 1, 16, true) && kids(n);
  if (!k) throw new Bad(code);
  return k;
}
export function oid(n, code = "cms") {
  if (!is(n, 1, 6, false)) throw new Bad(code);
  const r = raw(n);
  const b = r.subarray(r.length - n.lenBlock.length);
  // DER: no sub-identifier starts with a 0x80 padding byte.
  if (b.length === 0 || (b[b.length - 1] & 0x80) || b.some((c, k) => c === 0x80 && (k === 0 || !(b[k - 1] & 0x80)))) throw new Bad(code);
  return n.getValue();
}
export function octets(n, code = "cms") {
  if (!is(n, 1, 4, false)) throw new Bad(code);
  return prim(n);
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export async function digest(alg, bytes) {
  return new Uint8Array(await crypto.subtle.digest(alg, bytes));
}
