package pdfsign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// VerifyOptions says what Verify trusts.
type VerifyOptions struct {
	// Roots are the trusted roots for signer and TSA certificates; nil
	// means the system's roots.
	Roots *x509.CertPool
	// Now is the time certificates are checked at when a signature has no
	// timestamp; zero means time.Now.
	Now time.Time
}

// Report is what Verify found in a file.
type Report struct {
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// Signatures are in file order; the last one is the newest.
	Signatures []*Signature `json:"signatures"`
	// ModifiedAfterSigning is true when bytes follow the newest signature's
	// byte range: the file was changed after it was signed.
	ModifiedAfterSigning bool `json:"modified_after_signing"`
}

// Valid reports a file that is signed, every signature of which is
// intact and cryptographically valid, and that has not been changed
// after its last signature. Trust in the certificates is reported
// separately (Signature.Trusted).
func (r *Report) Valid() bool {
	if len(r.Signatures) == 0 || r.ModifiedAfterSigning {
		return false
	}
	for _, s := range r.Signatures {
		if !s.Valid {
			return false
		}
	}
	return true
}

// Signature is the verdict on one signature of a file.
type Signature struct {
	// SubFilter is the signature format (ETSI.CAdES.detached for PAdES).
	SubFilter string `json:"subfilter"`
	// Level is the PAdES baseline level reached: B-B, B-T, or "" when the
	// signature is not PAdES.
	Level string `json:"level,omitempty"`
	// ByteRange is the signed part of the file: [0 a b c] covers bytes
	// [0,a) and [b,b+c).
	ByteRange [4]int64 `json:"byte_range"`
	// WholeFile is true when the byte range reaches the end of the file.
	WholeFile bool `json:"whole_file"`
	// Valid is true when the digest matches, the signature verifies with
	// the signer's certificate, and the timestamp (if any) checks out.
	Valid bool `json:"valid"`
	// Trusted is true when the signer's certificate chains to a root.
	Trusted bool `json:"trusted"`
	// Signer and Issuer are the signer certificate's subject and issuer.
	Signer string `json:"signer,omitempty"`
	Issuer string `json:"issuer,omitempty"`
	// SignerName is the certificate's common name.
	SignerName string `json:"signer_name,omitempty"`
	// Name, Reason and Location are what the signature dictionary claims.
	Name     string `json:"name,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Location string `json:"location,omitempty"`
	// ClaimedTime is the signer's own clock (/M), not proof of time.
	ClaimedTime *time.Time `json:"claimed_time,omitempty"`
	// Timestamp is the RFC 3161 signature timestamp, when there is one.
	Timestamp *Timestamp `json:"timestamp,omitempty"`
	// Problems says what failed, in English, one entry per check.
	Problems []string `json:"problems,omitempty"`
}

// Timestamp is the verdict on a signature-time-stamp token.
type Timestamp struct {
	Time time.Time `json:"time"`
	// TSA is the subject of the timestamp authority's certificate.
	TSA string `json:"tsa"`
	// Valid is true when the token's signature verifies and its imprint
	// is the hash of the signature value.
	Valid bool `json:"valid"`
	// Trusted is true when the TSA certificate chains to a root for
	// time stamping.
	Trusted bool `json:"trusted"`
}

// Verify checks every signature of the PDF in r (size bytes). It returns
// an error only when r cannot be read; a damaged or forged signature is a
// Report with problems.
func Verify(r io.ReaderAt, size int64, opts VerifyOptions) (*Report, error) {
	dicts, err := findSignatures(r, size)
	if err != nil {
		return nil, fmt.Errorf("find signatures: %w", err)
	}
	rep := &Report{Size: size, Signatures: []*Signature{}}
	var last int64
	for _, d := range dicts {
		s, err := verifyOne(r, size, d, opts)
		if err != nil {
			return nil, err
		}
		rep.Signatures = append(rep.Signatures, s)
		last = max(last, d.byteRange[2]+d.byteRange[3])
	}
	if len(dicts) > 0 && last < size {
		rep.ModifiedAfterSigning = !onlyWhitespace(r, last, size)
	}
	return rep, nil
}

// onlyWhitespace reports whether bytes [from,to) are line ends and
// spaces, which some writers leave after %%EOF.
func onlyWhitespace(r io.ReaderAt, from, to int64) bool {
	if to-from > 64 {
		return false
	}
	b := make([]byte, to-from)
	if _, err := r.ReadAt(b, from); err != nil {
		return false
	}
	return len(bytes.Trim(b, " \r\n\t\x00")) == 0
}

func verifyOne(r io.ReaderAt, size int64, d sigDict, opts VerifyOptions) (*Signature, error) {
	br := d.byteRange
	s := &Signature{SubFilter: d.subFilter, ByteRange: br, WholeFile: br[2]+br[3] == size,
		Name: d.name, Reason: d.reason, Location: d.location}
	if t, ok := parsePDFDate(d.claimed); ok {
		s.ClaimedTime = &t
	}
	problem := func(format string, a ...any) { s.Problems = append(s.Problems, fmt.Sprintf(format, a...)) }
	p, err := parseCMS(d.contents)
	if err != nil {
		problem("%v", err)
		return s, nil
	}
	cert := p.signer()
	if cert == nil {
		problem("the signer's certificate is not in the signature")
		return s, nil
	}
	s.Signer, s.Issuer, s.SignerName = cert.Subject.String(), cert.Issuer.String(), cert.Subject.CommonName

	// The message digest over the byte range.
	h := p.digestAlg.New()
	for _, rg := range [][2]int64{{br[0], br[1]}, {br[2], br[3]}} {
		if _, err := io.Copy(h, io.NewSectionReader(r, rg[0], rg[1])); err != nil {
			return nil, fmt.Errorf("read signed bytes: %w", err)
		}
	}
	ok := true
	if v, found := single(p.attrs, oidMessageDigest); !found {
		problem("no message-digest attribute")
		ok = false
	} else {
		var md cryptobyte.String
		if !v.ReadASN1(&md, cbasn1.OCTET_STRING) || !bytes.Equal(md, h.Sum(nil)) {
			problem("the document was changed after signing (message digest mismatch)")
			ok = false
		}
	}
	if v, found := single(p.attrs, oidContentType); !found {
		problem("no content-type attribute")
		ok = false
	} else if !bytes.Equal(v, der(func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })) {
		problem("content-type is not data")
		ok = false
	}
	if err := checkSignature(cert, p); err != nil {
		problem("signature value: %v", err)
		ok = false
	}
	// A certificate that states its key usages must allow signing.
	if ku := cert.KeyUsage; ku != 0 && ku&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		problem("the signer's certificate is not for signatures (key usage)")
		ok = false
	}
	hasSCv2 := false
	if v, found := single(p.attrs, oidSigningCertificateV2); found {
		if err := checkSigningCertificateV2(v, cert); err != nil {
			problem("%v", err)
			ok = false
		}
		hasSCv2 = true
	}

	// The timestamp, bound to the signature value.
	at := opts.Now
	if tokens := p.unsigned[oidSignatureTimeStamp.String()]; len(tokens) > 0 {
		ts, err := checkTimestamp(tokens, p.signature, opts)
		if err != nil {
			problem("timestamp: %v", err)
			ok = false
		}
		s.Timestamp = ts
		if ts != nil && ts.Valid && !ts.Trusted {
			problem("timestamp authority certificate not trusted")
		}
		if ts != nil && ts.Valid {
			at = ts.Time
		}
	}
	if at.IsZero() {
		at = time.Now()
	}
	inter := x509.NewCertPool()
	for _, c := range p.certs {
		inter.AddCert(c)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: opts.Roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		problem("signer certificate not trusted: %v", err)
	} else {
		s.Trusted = true
	}
	s.Valid = ok
	if ok && s.SubFilter == "ETSI.CAdES.detached" && hasSCv2 {
		s.Level = "B-B"
		if s.Timestamp != nil {
			s.Level = "B-T"
		}
	}
	if !s.WholeFile {
		problem("the signature covers a former version of the file")
	}
	return s, nil
}

// checkSignature verifies the signature value over the signed attributes.
func checkSignature(cert *x509.Certificate, p *parsedCMS) error {
	h := p.digestAlg.New()
	h.Write(p.signedAttrs)
	sum := h.Sum(nil)
	a := p.sigAlg
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		want := map[string]crypto.Hash{oidSHA256WithRSA.String(): crypto.SHA256, oidSHA384WithRSA.String(): crypto.SHA384, oidSHA512WithRSA.String(): crypto.SHA512}
		if hh, named := want[a.String()]; !(a.Equal(oidRSAEncryption) || named && hh == p.digestAlg) {
			return fmt.Errorf("algorithm %v with digest %v", a, p.digestAlg)
		}
		return rsa.VerifyPKCS1v15(pub, p.digestAlg, sum, p.signature)
	case *ecdsa.PublicKey:
		want := map[string]crypto.Hash{oidECDSAWithSHA256.String(): crypto.SHA256, oidECDSAWithSHA384.String(): crypto.SHA384, oidECDSAWithSHA512.String(): crypto.SHA512}
		if hh, named := want[a.String()]; !(a.Equal(oidECPublicKey) || named && hh == p.digestAlg) {
			return fmt.Errorf("algorithm %v with digest %v", a, p.digestAlg)
		}
		if !ecdsa.VerifyASN1(pub, sum, p.signature) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("unsupported key type %T", cert.PublicKey)
}

// checkTimestamp checks the signature-time-stamp token: its own signature
// (by the certificate it carries), its imprint against the signature
// value, and the TSA's chain.
func checkTimestamp(tokens []cryptobyte.String, sigValue []byte, opts VerifyOptions) (*Timestamp, error) {
	if len(tokens) != 1 {
		return nil, errors.New("more than one token")
	}
	tok, err := parseToken(tokens[0])
	if err != nil {
		return nil, err
	}
	out := &Timestamp{Time: tok.Time}
	var tsaCert *x509.Certificate
	for _, c := range tok.Certificates {
		for _, u := range c.ExtKeyUsage {
			if u == x509.ExtKeyUsageTimeStamping {
				tsaCert = c
			}
		}
	}
	if tsaCert == nil {
		return out, errors.New("the token carries no time-stamping certificate")
	}
	out.TSA = tsaCert.Subject.String()
	if !tok.HashAlgorithm.Available() {
		return out, errors.New("unsupported imprint hash")
	}
	h := tok.HashAlgorithm.New()
	h.Write(sigValue)
	if !bytes.Equal(h.Sum(nil), tok.HashedMessage) {
		return out, errors.New("the token stamps another signature (imprint mismatch)")
	}
	out.Valid = true
	inter := x509.NewCertPool()
	for _, c := range tok.Certificates {
		inter.AddCert(c)
	}
	if _, err := tsaCert.Verify(x509.VerifyOptions{Roots: opts.Roots, Intermediates: inter, CurrentTime: tok.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err == nil {
		out.Trusted = true
	}
	return out, nil
}

// parseToken parses a timestamp token with digitorus/timestamp, which
// checks the token's signature with the certificate inside it; the
// library's parser is not hardened against every input, so a panic is
// turned into an error.
func parseToken(der []byte) (ts *timestamp.Timestamp, err error) {
	defer func() {
		if r := recover(); r != nil {
			ts, err = nil, fmt.Errorf("unreadable token (%v)", r)
		}
	}()
	ts, err = timestamp.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if len(ts.Certificates) == 0 {
		return nil, errors.New("token without the TSA's certificate: its signature cannot be checked")
	}
	return ts, nil
}
