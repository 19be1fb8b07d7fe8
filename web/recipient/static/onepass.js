// onepass parses the inner message of a sealed document in one pass, as
// it is decrypted: One-Pass Signature (v3), Literal Data (binary) and one
// v4 Signature, SHA-256 over the literal body once (RFC 9580 §5.4, §5.9,
// §5.2.4). From that one hash come both the document's fingerprint (a copy
// finalized) and the signature's digest (the same state, then the
// signature's hashed part and trailer). OpenPGP.js then checks the
// signature from the digest (stream.js), so that nothing hashes the
// document on the page's thread. Any other shape (compression, text,
// another hash, v6, several signatures) is refused at the head, before a
// byte of the body: the caller then falls back to OpenPGP.js.

import { SHA256 } from "./sha256.js";

/** Unsupported says the inner message is not the one-pass shape. */
export class Unsupported extends Error {}

const tagSignature = 2;
const tagOPS = 4;
const tagLiteral = 11;
const hashSHA256 = 8;
const eddsa = { 22: true, 27: true }; // EdDSALegacy, Ed25519
/** maxSignature bounds the signature packet (header and body). */
export const maxSignature = 64 * 1024;

/**
 * Inner is the parser: push(chunk) returns the literal body's pieces in
 * chunk as [offset, length] pairs (flattened) and hashes them; head() is
 * true once the body starts (the file name is known); end() checks that
 * the message ended after its signature and returns {sha256, length,
 * digest, signature, filename, keyID}: signature is the packet's bytes for
 * OpenPGP.js, digest the SHA-256 it signs. With hash false nothing is
 * hashed (a look at the head). Errors are thrown: Unsupported for a shape
 * it does not handle, Error for a malformed one.
 */
export class Inner {
  constructor(hash = true) {
    this.sha = hash ? new SHA256() : null;
    this.state = "ops"; // ops, literal, body, sig, end
    this.hdr = new Uint8Array(6); // a packet header being read
    this.hdrFill = 0;
    this.want = 0; // bytes left in the current packet or partial chunk
    this.partial = false; // more chunks follow the current one
    this.field = []; // the OPS body, then the literal header
    this.sig = null;
    this.sigFill = 0;
    this.length = 0;
    this.keyID = null;
    this.filename = "";
  }

  head() {
    return this.state !== "ops" && this.state !== "literal";
  }

  push(c) {
    const segs = [];
    let i = 0;
    while (i < c.length) {
      if (this.want === 0) {
        i = this.header(c, i);
        continue;
      }
      let n = Math.min(this.want, c.length - i);
      if (this.state === "body") {
        if (this.sha) this.sha.update(c.subarray(i, i + n));
        segs.push(i, n);
        this.length += n;
      } else if (this.state === "sig") {
        this.sig.set(c.subarray(i, i + n), this.sigFill);
        this.sigFill += n;
      } else {
        // The OPS body, or the literal header up to its last byte only.
        if (this.state === "literal") n = Math.min(n, literalNeed(this.field));
        for (let j = i; j < i + n; j++) this.field.push(c[j]);
      }
      this.want -= n;
      i += n;
      if (this.state === "literal") this.literalHeader();
      if (this.want === 0) this.packetDone();
    }
    return segs;
  }

  // header reads from c at i the bytes of a packet header, or of the
  // length of a partial packet's next chunk, and returns where it stopped
  // (c's end if the header goes on in the next chunk).
  header(c, i) {
    const cont = this.partial;
    while (i < c.length) {
      this.hdr[this.hdrFill++] = c[i++];
      const need = cont ? lengthSize(this.hdr, 0) : headerSize(this.hdr, this.hdrFill);
      if (need === 0 || this.hdrFill < need) continue;
      this.hdrFill = 0;
      if (cont) {
        this.lengthAt(0);
        if (this.want === 0) this.packetDone();
      } else {
        this.begin();
      }
      return i;
    }
    return i;
  }

  // begin starts the packet whose header is in this.hdr.
  begin() {
    const b = this.hdr[0];
    if ((b & 0x80) === 0) throw new Error("not a packet header");
    // The tag first: compressed data (partial length) is another shape.
    const tag = b & 0x40 ? b & 0x3f : (b >> 2) & 0x0f;
    const expect = { ops: tagOPS, literal: tagLiteral, sig: tagSignature }[this.state];
    if (tag !== expect) {
      if (this.state === "sig" || this.state === "end") throw new Error("unexpected packet " + tag + " after the literal data");
      throw new Unsupported("packet " + tag + " where the one-pass shape has " + expect);
    }
    if (b & 0x40) {
      this.lengthAt(1);
    } else {
      if ((b & 3) === 3) throw new Unsupported("indeterminate length");
      const n = 1 << (b & 3);
      let v = 0;
      for (let k = 0; k < n; k++) v = v * 256 + this.hdr[1 + k];
      this.want = v;
      this.partial = false;
    }
    if (this.state === "ops" && (this.partial || this.want !== 13)) throw new Unsupported("one-pass signature packet of another version");
    if (this.state === "sig") {
      if (this.partial || this.want + 6 > maxSignature || this.want < 6) throw new Error("signature packet of a bad length");
      this.sig = new Uint8Array(this.want);
      this.sigFill = 0;
    }
    if (this.want === 0 && !this.partial) this.packetDone();
  }

  // lengthAt reads a new-format length from this.hdr at k.
  lengthAt(k) {
    const h = this.hdr;
    const a = h[k];
    this.partial = false;
    if (a < 192) this.want = a;
    else if (a < 224) this.want = ((a - 192) << 8) + h[k + 1] + 192;
    else if (a === 255) this.want = ((h[k + 1] << 24) >>> 0) + (h[k + 2] << 16) + (h[k + 3] << 8) + h[k + 4];
    else {
      if (this.state !== "literal" && this.state !== "body") throw new Error("partial length on a packet that cannot have one");
      this.want = 1 << (a & 0x1f);
      this.partial = true;
    }
  }

  // literalHeader parses the literal packet's format, name and date once
  // they are all read, then the body starts.
  literalHeader() {
    const f = this.field;
    if (f.length >= 1 && f[0] !== 0x62) throw new Unsupported("literal data in text form");
    if (literalNeed(f) > 0) return;
    const name = Uint8Array.from(f.slice(2, 2 + f[1]));
    this.filename = new TextDecoder().decode(name);
    this.field = [];
    this.state = "body";
  }

  // packetDone moves on when a packet (or chunk) has been read.
  packetDone() {
    if (this.partial) return; // its next chunk's length follows
    switch (this.state) {
      case "ops": {
        const o = this.field;
        // A one-pass packet for anything but a binary or text document's
        // signature is malformed, not another shape: refused here, since
        // OpenPGP.js's streaming check never settled on one (type 0x40
        // before a binary signature: the page hung).
        if (o[0] === 3 && o[1] !== 0 && o[1] !== 1) throw new Error("one-pass signature of a type no document has");
        if (o[0] !== 3 || o[1] !== 0 || o[2] !== hashSHA256 || !eddsa[o[3]] || o[12] !== 1) {
          throw new Unsupported("not a one-pass signature of the sealed profile");
        }
        this.keyID = Uint8Array.from(o.slice(4, 12));
        this.pkAlgo = o[3];
        this.field = [];
        this.state = "literal";
        return;
      }
      case "literal":
        throw new Error("literal data packet ends inside its header");
      case "body":
        this.state = "sig";
        return;
      case "sig":
        this.state = "end";
        return;
      default:
        throw new Error("data after the signature");
    }
  }

  end() {
    if (this.state !== "end" || this.hdrFill !== 0) throw new Error("inner message cut short");
    const s = this.sig;
    // v4, binary document, the OPS's key algorithm, SHA-256 (RFC 9580 §5.2.3).
    if (s[0] !== 4 || s[1] !== 0 || s[2] !== this.pkAlgo || s[3] !== hashSHA256) throw new Error("signature does not match its one-pass packet");
    const hashedLen = 6 + ((s[4] << 8) | s[5]);
    if (hashedLen > s.length) throw new Error("signature's hashed part too long");
    const fp = this.sha.clone();
    const length = this.length;
    this.sha.update(s.subarray(0, hashedLen));
    this.sha.update(Uint8Array.of(4, 0xff, hashedLen >>> 24, (hashedLen >> 16) & 0xff, (hashedLen >> 8) & 0xff, hashedLen & 0xff));
    const digest = this.sha.digest();
    // The packet as OpenPGP.js reads it: new format, five-octet length.
    const packet = new Uint8Array(6 + s.length);
    packet[0] = 0xc0 | tagSignature;
    packet[1] = 255;
    new DataView(packet.buffer).setUint32(2, s.length);
    packet.set(s, 6);
    return { sha256: fp.hex(), length, digest, signature: packet, filename: this.filename, keyID: this.keyID };
  }
}

// literalNeed is how many bytes of the literal header (format, name
// length, name, date) are still to read after f.
function literalNeed(f) {
  return f.length < 2 ? 2 - f.length : 2 + f[1] + 4 - f.length;
}

// headerSize is the size of the packet header starting hdr (n bytes
// known), or 0 while it cannot tell yet.
function headerSize(hdr, n) {
  if (n < 1) return 0;
  const b = hdr[0];
  if ((b & 0x80) === 0) throw new Error("not a packet header");
  if (b & 0x40) return n < 2 ? 0 : 1 + lengthSize(hdr, 1);
  return (b & 3) === 3 ? 1 : 1 + (1 << (b & 3));
}

// lengthSize is the size of the new-format length at hdr[k].
function lengthSize(hdr, k) {
  const a = hdr[k];
  if (a < 192 || a >= 224 && a < 255) return 1;
  return a < 224 ? 2 : 5;
}
