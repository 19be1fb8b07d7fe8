package pdfsign

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// maxCertificates bounds the certificates read from one CMS structure.
const maxCertificates = 32

// parsedCMS is the part of a detached CMS SignedData the verifier checks.
type parsedCMS struct {
	certs       []*x509.Certificate
	issuer      []byte   // the signer's issuer (DER Name), with serial
	serial      *big.Int // or
	keyID       []byte   // the signer's subject key identifier
	digestAlg   crypto.Hash
	sigAlg      asn1.ObjectIdentifier
	signedAttrs []byte // DER, re-tagged as a SET: the bytes that were signed
	attrs       map[string][]cryptobyte.String
	signature   []byte
	unsigned    map[string][]cryptobyte.String
}

var errCMS = errors.New("malformed CMS signature")

// parseCMS reads a DER ContentInfo holding a detached SignedData with
// exactly one signer. Bytes after the structure (the zero padding of the
// /Contents hole) must be zeros.
func parseCMS(der []byte) (*parsedCMS, error) {
	in := cryptobyte.String(der)
	var ci, sd cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidSignedData) ||
		!ci.ReadASN1(&sd, cbasn1.Tag(0).Constructed().ContextSpecific()) || !sd.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: not a SignedData", errCMS)
	}
	for _, c := range in {
		if c != 0 {
			return nil, fmt.Errorf("%w: data after the signature", errCMS)
		}
	}
	var version int64
	var digestAlgs, encap, signerInfos cryptobyte.String
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: SignedData header", errCMS)
	}
	if !encap.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidData) {
		return nil, fmt.Errorf("%w: content type is not data", errCMS)
	}
	if !encap.Empty() {
		return nil, fmt.Errorf("%w: the signature is not detached", errCMS)
	}
	p := &parsedCMS{}
	var certs cryptobyte.String
	var hasCerts bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, fmt.Errorf("%w: certificates", errCMS)
	}
	for !certs.Empty() {
		var raw cryptobyte.String
		var tag cbasn1.Tag
		if !certs.ReadAnyASN1Element(&raw, &tag) {
			return nil, fmt.Errorf("%w: certificates", errCMS)
		}
		if tag != cbasn1.SEQUENCE {
			continue // other certificate formats
		}
		if len(p.certs) == maxCertificates {
			return nil, fmt.Errorf("%w: more than %d certificates", errCMS, maxCertificates)
		}
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return nil, fmt.Errorf("certificate in the signature: %w", err)
		}
		p.certs = append(p.certs, c)
	}
	if !sd.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) || !sd.ReadASN1(&signerInfos, cbasn1.SET) || !sd.Empty() {
		return nil, fmt.Errorf("%w: signer infos", errCMS)
	}
	var si cryptobyte.String
	if !signerInfos.ReadASN1(&si, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: no signer", errCMS)
	}
	if !signerInfos.Empty() {
		return nil, fmt.Errorf("%w: more than one signer", errCMS)
	}
	if err := p.readSignerInfo(si); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *parsedCMS) readSignerInfo(si cryptobyte.String) error {
	var version int64
	if !si.ReadASN1Integer(&version) {
		return fmt.Errorf("%w: signer version", errCMS)
	}
	switch {
	case si.PeekASN1Tag(cbasn1.SEQUENCE):
		var ias cryptobyte.String
		var issuer cryptobyte.String
		p.serial = new(big.Int)
		if !si.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !ias.ReadASN1Integer(p.serial) {
			return fmt.Errorf("%w: signer identifier", errCMS)
		}
		p.issuer = issuer
	case si.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific()):
		var kid cryptobyte.String
		if !si.ReadASN1(&kid, cbasn1.Tag(0).ContextSpecific()) {
			return fmt.Errorf("%w: signer identifier", errCMS)
		}
		p.keyID = kid
	default:
		return fmt.Errorf("%w: signer identifier", errCMS)
	}
	var alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !si.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return fmt.Errorf("%w: digest algorithm", errCMS)
	}
	switch {
	case oid.Equal(oidSHA256):
		p.digestAlg = crypto.SHA256
	case oid.Equal(oidSHA384):
		p.digestAlg = crypto.SHA384
	case oid.Equal(oidSHA512):
		p.digestAlg = crypto.SHA512
	default:
		return fmt.Errorf("unsupported digest algorithm %v", oid)
	}
	var signed cryptobyte.String
	if !si.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!si.ReadASN1Element(&signed, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return fmt.Errorf("%w: no signed attributes", errCMS)
	}
	p.signedAttrs = append([]byte{0x31}, signed[1:]...)
	var err error
	if p.attrs, err = readAttributes(p.signedAttrs, cbasn1.SET); err != nil {
		return err
	}
	if !si.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&p.sigAlg) {
		return fmt.Errorf("%w: signature algorithm", errCMS)
	}
	var sig cryptobyte.String
	if !si.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return fmt.Errorf("%w: signature value", errCMS)
	}
	p.signature = sig
	if si.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		var unsigned cryptobyte.String
		if !si.ReadASN1Element(&unsigned, cbasn1.Tag(1).Constructed().ContextSpecific()) {
			return fmt.Errorf("%w: unsigned attributes", errCMS)
		}
		if p.unsigned, err = readAttributes(unsigned, cbasn1.Tag(1).Constructed().ContextSpecific()); err != nil {
			return err
		}
	}
	if !si.Empty() {
		return fmt.Errorf("%w: trailing signer data", errCMS)
	}
	return nil
}

// readAttributes reads a SET OF Attribute (under tag) into a map from the
// attribute type to its values (each a DER element).
func readAttributes(der []byte, tag cbasn1.Tag) (map[string][]cryptobyte.String, error) {
	in := cryptobyte.String(der)
	var set cryptobyte.String
	if !in.ReadASN1(&set, tag) || !in.Empty() {
		return nil, fmt.Errorf("%w: attributes", errCMS)
	}
	out := map[string][]cryptobyte.String{}
	for !set.Empty() {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) {
			return nil, fmt.Errorf("%w: attribute", errCMS)
		}
		if _, dup := out[oid.String()]; dup {
			return nil, fmt.Errorf("%w: attribute %v twice", errCMS, oid)
		}
		var vs []cryptobyte.String
		for !values.Empty() {
			var v cryptobyte.String
			var t cbasn1.Tag
			if !values.ReadAnyASN1Element(&v, &t) {
				return nil, fmt.Errorf("%w: attribute value", errCMS)
			}
			vs = append(vs, v)
		}
		out[oid.String()] = vs
	}
	return out, nil
}

// single returns the only value of attribute oid in attrs.
func single(attrs map[string][]cryptobyte.String, oid asn1.ObjectIdentifier) (cryptobyte.String, bool) {
	v := attrs[oid.String()]
	if len(v) != 1 {
		return nil, false
	}
	return v[0], true
}

// signer returns the certificate the signer identifier names.
func (p *parsedCMS) signer() *x509.Certificate {
	for _, c := range p.certs {
		if p.keyID != nil && bytes.Equal(c.SubjectKeyId, p.keyID) {
			return c
		}
		if p.issuer != nil && bytes.Equal(c.RawIssuer, p.issuer) && c.SerialNumber.Cmp(p.serial) == 0 {
			return c
		}
	}
	return nil
}

// checkSigningCertificateV2 reports whether the signing-certificate-v2
// attribute is present and names cert.
func checkSigningCertificateV2(v cryptobyte.String, cert *x509.Certificate) error {
	var sc, certs, id cryptobyte.String
	if !v.ReadASN1(&sc, cbasn1.SEQUENCE) || !sc.ReadASN1(&certs, cbasn1.SEQUENCE) || !certs.ReadASN1(&id, cbasn1.SEQUENCE) {
		return fmt.Errorf("%w: signing-certificate-v2", errCMS)
	}
	h := crypto.SHA256
	if id.PeekASN1Tag(cbasn1.SEQUENCE) {
		var alg cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !id.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
			return fmt.Errorf("%w: signing-certificate-v2 hash", errCMS)
		}
		switch {
		case oid.Equal(oidSHA256):
		case oid.Equal(oidSHA384):
			h = crypto.SHA384
		case oid.Equal(oidSHA512):
			h = crypto.SHA512
		default:
			return fmt.Errorf("signing-certificate-v2: unsupported hash %v", oid)
		}
	}
	var certHash cryptobyte.String
	if !id.ReadASN1(&certHash, cbasn1.OCTET_STRING) {
		return fmt.Errorf("%w: signing-certificate-v2 hash", errCMS)
	}
	d := h.New()
	d.Write(cert.Raw)
	if !bytes.Equal(d.Sum(nil), certHash) {
		return errors.New("signing-certificate-v2 names another certificate")
	}
	return nil
}
