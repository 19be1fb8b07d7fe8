// Package envelope seals documents with OpenPGP: it signs them with the
// sender's key and encrypts them to recipients' public keys or, in link
// mode, to a random secret carried in the link's fragment — one secret per
// recipient when there are several, each wrapping the same session key. It
// also opens sealed messages and reports who signed them.
//
// Everything streams: Seal returns an io.WriteCloser and Open copies into
// an io.Writer, so memory use does not depend on the document's size.
//
// The default profile (ProfileCompat) writes what GnuPG 2.2 and OpenPGP.js
// read: v4 keys (Ed25519 signing, Cv25519 encryption), SEIPD v1 with
// AES-256, no compression. ProfileRFC9580 generates v6 keys and uses AEAD
// (SEIPD v2) whenever every recipient key advertises it.
//
// This package imports no other package of sealprint.
package envelope
