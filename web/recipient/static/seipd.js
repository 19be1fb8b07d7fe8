// seipd decrypts the body of a SEIPD v1 packet (RFC 9580 §5.13.1: AES in
// CFB mode with a zero IV over a random prefix, the inner packets and a
// modification detection code) as a stream, for large documents.
// OpenPGP.js does the same with an AES that allocates per block; here the
// cipher and the MDC's SHA-1 run over whole chunks, which is what makes a
// 600 MiB document practical (docs/recipient.md). OpenPGP.js still reads
// the session key and the inner packets and checks the signature.
//
// The plaintext is released before the MDC is known, as OpenPGP.js does
// with allowUnauthenticatedStream: the caller must not trust it until
// checked resolves. A wrong MDC errors the stream instead of closing it,
// and rejects checked.

import { CFBDecrypter } from "./aes.js";
import { SHA1 } from "./sha1.js";

const keySizes = { aes128: 16, aes192: 24, aes256: 32 };
const block = 16;
const prefixLen = block + 2;
const mdcLen = 22; // tag 19 new format (0xD3), length 20, SHA-1

/** supported reports whether decryptSEIPD handles packet with a session key of algorithm. */
export function supported(packet, algorithm) {
  return !!packet && packet.version === 1 && algorithm in keySizes && !!packet.encrypted;
}

/** SEIPDError is a failure of this layer: kind is "quickcheck" (wrong key), "short" or "modified". */
export class SEIPDError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/**
 * decryptSEIPD decrypts body (a ReadableStream of the SEIPD v1 packet's
 * bytes after its version byte) with key (Uint8Array) of algorithm
 * ("aes128" | "aes192" | "aes256"). Returns {plaintext, checked}:
 * plaintext streams the inner packets; checked resolves once the MDC
 * matched, or rejects with a SEIPDError; failed() returns that error as
 * soon as there is one (checked settles only once the stream is read to
 * its end), else null.
 */
export function decryptSEIPD(body, algorithm, key) {
  if (!(algorithm in keySizes) || key.length !== keySizes[algorithm]) {
    throw new SEIPDError("quickcheck", "unsupported session key " + algorithm);
  }
  const cfb = new CFBDecrypter(key);
  const mdc = new SHA1();
  const reader = body.getReader();
  let pending = new Uint8Array(0); // decrypted, not yet released
  let started = false;
  let settle;
  let failure = null;
  const checked = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  checked.catch(() => {}); // the caller awaits it when it needs it
  const fail = (ctl, err) => {
    failure = err;
    settle.reject(err);
    ctl.error(err);
    reader.cancel(err).catch(() => {});
  };
  const plaintext = new ReadableStream({
    async pull(ctl) {
      for (;;) {
        let r;
        try {
          r = await reader.read();
        } catch (e) {
          fail(ctl, e);
          return;
        }
        if (r.done) {
          if (!started || pending.length !== mdcLen) {
            fail(ctl, new SEIPDError("short", "encrypted data cut short"));
            return;
          }
          if (pending[0] !== 0xd3 || pending[1] !== 0x14) {
            fail(ctl, new SEIPDError("modified", "Modification detected: no MDC packet"));
            return;
          }
          mdc.update(pending.subarray(0, 2));
          const got = mdc.digest();
          let diff = 0;
          for (let i = 0; i < 20; i++) diff |= got[i] ^ pending[2 + i];
          if (diff !== 0) {
            fail(ctl, new SEIPDError("modified", "Modification detected."));
            return;
          }
          settle.resolve();
          ctl.close();
          return;
        }
        const c = r.value;
        if (!c || c.length === 0) continue;
        const buf = new Uint8Array(pending.length + c.length);
        buf.set(pending, 0);
        cfb.decrypt(c, buf, pending.length);
        pending = buf;
        if (!started) {
          if (pending.length < prefixLen) continue;
          // The prefix repeats its last two random bytes: a wrong session
          // key shows here, before any plaintext is released.
          if (pending[block - 2] !== pending[block] || pending[block - 1] !== pending[block + 1]) {
            fail(ctl, new SEIPDError("quickcheck", "session key does not decrypt this message"));
            return;
          }
          mdc.update(pending.subarray(0, prefixLen));
          pending = pending.subarray(prefixLen);
          started = true;
        }
        if (pending.length <= mdcLen) continue;
        const out = pending.subarray(0, pending.length - mdcLen);
        mdc.update(out);
        pending = pending.slice(pending.length - mdcLen);
        ctl.enqueue(out);
        return;
      }
    },
    cancel(reason) {
      settle.reject(new SEIPDError("short", "cancelled"));
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { plaintext, checked, failed: () => failure };
}
