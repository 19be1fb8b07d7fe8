package pdfsign

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

func newRSAIdentity(t testing.TB, ca *testutil.CA, cn string) *Identity {
	t.Helper()
	key := testutil.NewRSAKey(t)
	return &Identity{Key: key, Chain: []*x509.Certificate{ca.Issue(t, cn, key.Public())}}
}

// minimalPDF returns a valid one-page PDF with a classic xref table.
func minimalPDF(text string) []byte {
	var b bytes.Buffer
	offs := []int{}
	obj := func(body string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	obj("<</Type/Catalog/Pages 2 0 R>>")
	obj("<</Type/Pages/Kids[3 0 R]/Count 1>>")
	obj("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>")
	content := fmt.Sprintf("BT /F1 12 Tf 72 760 Td (%s) Tj ET", text)
	obj(fmt.Sprintf("<</Length %d>>\nstream\n%s\nendstream", len(content), content))
	obj("<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<</Size %d/Root 1 0 R/ID[<0123456789abcdef0123456789abcdef><0123456789abcdef0123456789abcdef>]>>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// signBytes signs pdf with id and returns the signed file.
func signBytes(t testing.TB, pdf []byte, id *Identity, opts Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := Sign(t.Context(), &out, bytes.NewReader(pdf), id, opts); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if !bytes.HasPrefix(out.Bytes(), pdf) {
		t.Fatal("the signed file does not start with the original bytes")
	}
	return out.Bytes()
}

func verifyBytes(t testing.TB, pdf []byte, roots *x509.CertPool) *Report {
	t.Helper()
	rep, err := Verify(bytes.NewReader(pdf), int64(len(pdf)), VerifyOptions{Roots: roots})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}
