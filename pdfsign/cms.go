package pdfsign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"sort"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers of the CMS structures this package writes and reads.
var (
	oidData                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSignatureTimeStamp   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidSHA256               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidRSAEncryption        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECDSAWithSHA256      = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384      = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512      = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidECPublicKey          = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

// attribute is one CMS attribute: a type and its values, each already DER.
type attribute struct {
	oid    asn1.ObjectIdentifier
	values [][]byte
}

// addAttributes writes attrs as a DER SET OF Attribute under tag (SET for
// the bytes that get signed, [0]/[1] IMPLICIT inside a SignerInfo). DER
// sorts the members of a SET OF by their encodings.
func addAttributes(b *cryptobyte.Builder, tag cbasn1.Tag, attrs []attribute) {
	enc := make([][]byte, 0, len(attrs))
	for _, a := range attrs {
		var ab cryptobyte.Builder
		ab.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(a.oid)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				for _, v := range sortedDER(a.values) {
					b.AddBytes(v)
				}
			})
		})
		enc = append(enc, ab.BytesOrPanic())
	}
	b.AddASN1(tag, func(b *cryptobyte.Builder) {
		for _, e := range sortedDER(enc) {
			b.AddBytes(e)
		}
	})
}

func sortedDER(v [][]byte) [][]byte {
	s := append([][]byte(nil), v...)
	sort.Slice(s, func(i, j int) bool { return bytes.Compare(s[i], s[j]) < 0 })
	return s
}

func der(f func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	f(&b)
	return b.BytesOrPanic()
}

// signingCertificateV2 encodes the ESS signing-certificate-v2 attribute
// value (RFC 5035) for cert with SHA-256, the default hash, which DER
// leaves out.
func signingCertificateV2(cert *x509.Certificate) []byte {
	h := sha256.Sum256(cert.Raw)
	return der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2
					b.AddASN1OctetString(h[:])
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
							b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								b.AddBytes(cert.RawIssuer)
							})
						})
						b.AddASN1BigInt(cert.SerialNumber)
					})
				})
			})
		})
	})
}

// signatureAlgorithm returns the CMS signature algorithm identifier for
// the key (with SHA-256).
func signatureAlgorithm(pub crypto.PublicKey) (asn1.ObjectIdentifier, bool, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return oidSHA256WithRSA, true, nil
	case *ecdsa.PublicKey:
		return oidECDSAWithSHA256, false, nil
	}
	return nil, false, fmt.Errorf("unsupported key type %T", pub)
}

// signedAttributes returns the DER SET of the signed attributes for a
// document whose ByteRange digest is digest.
func signedAttributes(digest []byte, cert *x509.Certificate) []byte {
	attrs := []attribute{
		{oidContentType, [][]byte{der(func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })}},
		{oidMessageDigest, [][]byte{der(func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) })}},
		{oidSigningCertificateV2, [][]byte{signingCertificateV2(cert)}},
	}
	return der(func(b *cryptobyte.Builder) { addAttributes(b, cbasn1.SET, attrs) })
}

// signerSignature signs the signed attributes with id's key.
func signerSignature(id *Identity, signedAttrs []byte) ([]byte, error) {
	h := sha256.Sum256(signedAttrs)
	sig, err := id.Key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign with the key: %w", err)
	}
	return sig, nil
}

// signedData assembles the detached CMS ContentInfo: the chain's
// certificates, one SignerInfo with signedAttrs (the DER SET) and sig, and
// the timestamp token (a DER ContentInfo) as an unsigned attribute when
// there is one.
func signedData(id *Identity, signedAttrs, sig, token []byte) ([]byte, error) {
	cert := id.Certificate()
	sigAlg, nullParams, err := signatureAlgorithm(id.Key.Public())
	if err != nil {
		return nil, err
	}
	// The [0] IMPLICIT signed attributes are the SET with another tag.
	s := cryptobyte.String(signedAttrs)
	var attrsBody cryptobyte.String
	if !s.ReadASN1(&attrsBody, cbasn1.SET) {
		return nil, fmt.Errorf("signed attributes are not a SET")
	}
	algID := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, null bool) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			if null {
				b.AddASN1NULL()
			}
		})
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { algID(b, oidSHA256, false) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range id.Chain {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerAndSerialNumber
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						algID(b, oidSHA256, false)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddBytes(attrsBody)
						})
						algID(b, sigAlg, nullParams)
						b.AddASN1OctetString(sig)
						if token != nil {
							addAttributes(b, cbasn1.Tag(1).Constructed().ContextSpecific(),
								[]attribute{{oidSignatureTimeStamp, [][]byte{token}}})
						}
					})
				})
			})
		})
	})
	return b.Bytes()
}
