package pdfsign

import (
	"io"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Raw is one signature as the file stores it, for checking with other
// software (openssl cms -verify on CMS over the ByteRange bytes, openssl
// ts -verify on TimestampToken with the SHA-256 of SignatureValue).
type Raw struct {
	// ByteRange is the signed part of the file: [0,a) and [b,b+c).
	ByteRange [4]int64
	// CMS is the DER CMS SignedData, without the hole's zero padding.
	CMS []byte
	// SignatureValue is the signer's signature inside CMS (nil if CMS
	// cannot be read).
	SignatureValue []byte
	// TimestampToken is the signature-time-stamp token (DER), if any.
	TimestampToken []byte
}

// RawSignatures returns the signatures of the PDF in r (size bytes) as
// stored, without checking them.
func RawSignatures(r io.ReaderAt, size int64) ([]Raw, error) {
	dicts, err := findSignatures(r, size)
	if err != nil {
		return nil, err
	}
	out := make([]Raw, 0, len(dicts))
	for _, d := range dicts {
		raw := Raw{ByteRange: d.byteRange, CMS: d.contents}
		s := cryptobyte.String(d.contents)
		var elem cryptobyte.String
		if s.ReadASN1Element(&elem, cbasn1.SEQUENCE) {
			raw.CMS = elem
		}
		if p, err := parseCMS(d.contents); err == nil {
			raw.SignatureValue = p.signature
			if tok := p.unsigned[oidSignatureTimeStamp.String()]; len(tok) == 1 {
				raw.TimestampToken = tok[0]
			}
		}
		out = append(out, raw)
	}
	return out, nil
}
