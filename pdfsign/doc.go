// Package pdfsign puts a PAdES signature on a PDF and checks one.
//
// Sign appends an incremental update to the original bytes (which stay
// untouched) holding a signature field and a signature dictionary with
// /SubFilter /ETSI.CAdES.detached: a CMS SignedData whose signed attributes
// are content-type, message-digest and signing-certificate-v2 (PAdES
// baseline B-B; the claimed signing time goes in /M, never in a
// signing-time attribute, as ETSI EN 319 142-1 asks). With a timestamp
// authority configured, an RFC 3161 token over the signature value is added
// as the signature-time-stamp unsigned attribute (B-T).
//
// Verify finds every signature of a file and checks that its /ByteRange
// covers the whole file but the /Contents hole, the CMS signature, the
// message digest, the signer's certificate (signing-certificate-v2 and,
// given roots, its chain) and the timestamp token's imprint; a file with
// bytes after the last signature's range is reported as modified after
// signing.
//
// The key is any crypto.Signer with its certificate chain (Identity): a
// PKCS#12 file (OpenPKCS12) or a PKCS#11 token such as a smart card or an
// HSM (OpenPKCS11, which needs cgo).
//
// Why not github.com/digitorus/pdfsign: its sign package always writes
// /SubFilter /adbe.pkcs7.detached (not PAdES), adds a signing-time and an
// Adobe revocation attribute to the signed attributes, holds the whole
// output in memory, talks to the TSA through a default http.Client (not
// the hospital's proxies) and logs with the log package. The CMS
// structure PAdES needs is small, so this package writes it itself with
// cryptobyte; it uses github.com/digitorus/timestamp for the RFC 3161
// request and token parsing, and pdfcpu to read the structure of the
// document it appends to.
package pdfsign
