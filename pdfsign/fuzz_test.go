package pdfsign

import (
	"bytes"
	"crypto/x509"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// FuzzVerify feeds arbitrary files to the verifier: the /ByteRange scan,
// the hole and dictionary reading, the CMS and timestamp parsing. It must
// never panic, and must never call a file valid unless a signature's
// digest and signature value check out (which random bytes cannot do).
func FuzzVerify(f *testing.F) {
	ca := testutil.NewCA(f, "Fuzz CA")
	id := newRSAIdentity(f, ca, "Fuzz")
	signed := signBytes(f, minimalPDF("fuzz"), id, Options{Reason: "r", Location: "l"})
	f.Add(signed)
	f.Add(minimalPDF("x"))
	f.Add([]byte("/ByteRange[0 10 20 5]/Contents<3000>"))
	f.Add([]byte("x/Contents<30030201>/ByteRange [0 1 11 0]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Verify(bytes.NewReader(data), int64(len(data)), VerifyOptions{Roots: x509.NewCertPool()})
		if err != nil {
			return
		}
		// Only the seed's key could have made a valid signature.
		if rep.Valid() {
			for _, s := range rep.Signatures {
				if s.SignerName != "Fuzz" || !s.Valid {
					t.Fatalf("valid file with signature %+v", s)
				}
			}
		}
	})
}

// FuzzParseCMS feeds arbitrary DER to the CMS reader.
func FuzzParseCMS(f *testing.F) {
	ca := testutil.NewCA(f, "Fuzz CA")
	id := newRSAIdentity(f, ca, "Fuzz")
	signed := signBytes(f, minimalPDF("fuzz"), id, Options{})
	dicts, _ := findSignatures(bytes.NewReader(signed), int64(len(signed)))
	f.Add(trimDER(dicts[0].contents))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		p, err := parseCMS(der)
		if err != nil {
			return
		}
		if c := p.signer(); c != nil {
			checkSignature(c, p)
			if v, ok := single(p.attrs, oidSigningCertificateV2); ok {
				checkSigningCertificateV2(v, c)
			}
		}
		if tok := p.unsigned[oidSignatureTimeStamp.String()]; len(tok) > 0 {
			checkTimestamp(tok, p.signature, VerifyOptions{Roots: x509.NewCertPool()})
		}
	})
}

// FuzzPDFString checks the string lexer used for /Name, /Reason, /M.
func FuzzPDFString(f *testing.F) {
	f.Add([]byte(`/Reason (a\(b\)c \303\251 \\)`))
	f.Add([]byte(`/Name <FEFF00E9>`))
	f.Add([]byte(`/M (D:20260101120000+01'00')`))
	f.Fuzz(func(t *testing.T, b []byte) {
		stringAfter(b, "/Reason")
		nameAfter(b, "/SubFilter")
		parsePDFDate(stringAfter(b, "/M"))
	})
}

// FuzzSign signs arbitrary files: Sign must not panic, and whatever it
// signs must verify as signed whole, with the original bytes kept.
func FuzzSign(f *testing.F) {
	ca := testutil.NewCA(f, "Fuzz CA")
	id := newRSAIdentity(f, ca, "Fuzz")
	f.Add(minimalPDF("fuzz"))
	f.Add(signBytes(f, minimalPDF("twice"), id, Options{}))
	f.Fuzz(func(t *testing.T, pdf []byte) {
		var out bytes.Buffer
		if _, err := Sign(t.Context(), &out, bytes.NewReader(pdf), id, Options{MaxInput: 1 << 20}); err != nil {
			return
		}
		if !bytes.HasPrefix(out.Bytes(), pdf) {
			t.Fatal("original bytes changed")
		}
		rep, err := Verify(bytes.NewReader(out.Bytes()), int64(out.Len()), VerifyOptions{Roots: ca.Pool()})
		if err != nil || len(rep.Signatures) == 0 || rep.ModifiedAfterSigning {
			t.Fatalf("signed file: %+v, %v", rep, err)
		}
		last := rep.Signatures[len(rep.Signatures)-1]
		if !last.Valid || !last.WholeFile || last.SignerName != "Fuzz" {
			t.Fatalf("newest signature: %+v", last)
		}
	})
}
