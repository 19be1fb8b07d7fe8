package pdfsign

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	id := newRSAIdentity(t, ca, "Dr Jeanne Dupont")
	pdf := minimalPDF("Rapport")
	signed := signBytes(t, pdf, id, Options{Reason: "Certificat médical", Location: "Lyon"})
	rep := verifyBytes(t, signed, ca.Pool())
	if !rep.Valid() || len(rep.Signatures) != 1 {
		t.Fatalf("report %+v", rep)
	}
	s := rep.Signatures[0]
	if s.Level != "B-B" || !s.WholeFile || !s.Trusted || s.SignerName != "Dr Jeanne Dupont" ||
		s.Reason != "Certificat médical" || s.Location != "Lyon" || s.SubFilter != "ETSI.CAdES.detached" || s.ClaimedTime == nil {
		t.Fatalf("signature %+v", s)
	}
	if rep.ModifiedAfterSigning {
		t.Fatal("reported as modified")
	}

	// Untrusted roots: still intact, not trusted.
	rep = verifyBytes(t, signed, testutil.NewCA(t, "Other CA").Pool())
	if !rep.Valid() || rep.Signatures[0].Trusted {
		t.Fatalf("with another CA: %+v", rep.Signatures[0])
	}
}

func TestVerifyDetectsChanges(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	id := newRSAIdentity(t, ca, "Dr Jeanne Dupont")
	signed := signBytes(t, minimalPDF("Rapport"), id, Options{})

	// One byte of the page content changed.
	i := bytes.Index(signed, []byte("(Rapport)"))
	changed := bytes.Clone(signed)
	changed[i+1] = 'X'
	rep := verifyBytes(t, changed, ca.Pool())
	if rep.Valid() || len(rep.Signatures) != 1 || rep.Signatures[0].Valid ||
		!strings.Contains(strings.Join(rep.Signatures[0].Problems, ";"), "changed after signing") {
		t.Fatalf("changed byte: %+v", rep.Signatures)
	}

	// One byte of the signature value changed.
	h := bytes.Index(signed, []byte("/Contents<")) + len("/Contents<") + 200
	changed = bytes.Clone(signed)
	if changed[h] == 'A' {
		changed[h] = 'B'
	} else {
		changed[h] = 'A'
	}
	if rep := verifyBytes(t, changed, ca.Pool()); rep.Valid() {
		t.Fatalf("changed signature accepted: %+v", rep.Signatures)
	}

	// An update appended after signing.
	appended := append(bytes.Clone(signed), []byte("1 0 obj\n<</Type/Catalog>>\nendobj\n")...)
	rep = verifyBytes(t, appended, ca.Pool())
	if rep.Valid() || !rep.ModifiedAfterSigning || rep.Signatures[0].WholeFile {
		t.Fatalf("appended: %+v", rep)
	}

	// No signature at all.
	if rep := verifyBytes(t, minimalPDF("x"), ca.Pool()); rep.Valid() || len(rep.Signatures) != 0 {
		t.Fatalf("unsigned: %+v", rep)
	}
}

func TestSignKeepsExistingAnnotationsAndFields(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	signed := signBytes(t, minimalPDF("Rapport"), newRSAIdentity(t, ca, "Premier"), Options{})
	twice := signBytes(t, signed, newRSAIdentity(t, ca, "Second"), Options{Visible: true})
	rep := verifyBytes(t, twice, ca.Pool())
	if len(rep.Signatures) != 2 || !rep.Valid() {
		t.Fatalf("two signatures: %+v", rep)
	}
	if rep.Signatures[0].WholeFile || !rep.Signatures[1].WholeFile {
		t.Fatalf("whole-file flags: %v %v", rep.Signatures[0].WholeFile, rep.Signatures[1].WholeFile)
	}
	if n := bytes.Count(twice[len(signed):], []byte("/Fields[")); n != 1 {
		t.Fatalf("second update has %d /Fields arrays", n)
	}
	tail := twice[len(signed):]
	i := bytes.Index(tail, []byte("/Fields["))
	if j := bytes.IndexByte(tail[i:], ']'); bytes.Count(tail[i:i+j], []byte(" R")) != 2 {
		t.Fatalf("second form does not keep the first field: %s", tail[i:i+j])
	}
}

func TestSignRefuses(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	id := newRSAIdentity(t, ca, "A")
	other := newRSAIdentity(t, ca, "B")
	var out bytes.Buffer
	mismatch := &Identity{Key: id.Key, Chain: other.Chain}
	if _, err := Sign(t.Context(), &out, bytes.NewReader(minimalPDF("x")), mismatch, Options{}); err == nil {
		t.Fatal("signed with a certificate of another key")
	}
	if _, err := Sign(t.Context(), &out, bytes.NewReader([]byte("not a pdf")), id, Options{}); err == nil {
		t.Fatal("signed garbage")
	}
	pdf := minimalPDF("x")
	if _, err := Sign(t.Context(), &out, bytes.NewReader(pdf), id, Options{MaxInput: int64(len(pdf) - 1)}); err == nil {
		t.Fatal("no size bound")
	}
}

// A /ByteRange far from the hole it names is not a signature dictionary
// (and must not make the verifier read the bytes in between).
func TestVerifyIgnoresDistantByteRange(t *testing.T) {
	hole := "/Contents<" + strings.Repeat("00", 16) + ">"
	data := []byte("%PDF-1.7\n" + hole + strings.Repeat(" ", 3*dictWindow))
	start := bytes.Index(data, []byte("<"))
	end := start + 34
	data = append(data, []byte(fmt.Sprintf("/ByteRange[0 %d %d 0]", start, end))...)
	dicts, err := findSignatures(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(dicts) != 0 {
		t.Fatalf("found %d signatures (%v)", len(dicts), err)
	}
}

// A certificate whose key usage excludes signatures does not make a valid
// signature, even when the mathematics checks out.
func TestVerifyChecksKeyUsage(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	key := testutil.NewRSAKey(t)
	ku, _ := asn1.Marshal(asn1.BitString{Bytes: []byte{0x20}, BitLength: 3}) // keyEncipherment only
	cert := ca.Issue(t, "Encryption only", key.Public(), pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: ku})
	signed := signBytes(t, minimalPDF("x"), &Identity{Key: key, Chain: []*x509.Certificate{cert}}, Options{})
	rep := verifyBytes(t, signed, ca.Pool())
	if rep.Valid() || !strings.Contains(strings.Join(rep.Signatures[0].Problems, ";"), "key usage") {
		t.Fatalf("%+v", rep.Signatures[0])
	}
}

// A document certified with DocMDP P=1 forbids any change: Sign refuses
// rather than add a signature that would break the certification.
func TestSignRefusesLockedCertification(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	id := newRSAIdentity(t, ca, "A")
	for p, refuse := range map[int]bool{1: true, 2: false} {
		pdf := minimalPDF("certified")
		pdf = bytes.Replace(pdf, []byte("<</Type/Catalog/Pages 2 0 R>>"),
			[]byte(fmt.Sprintf("<</Type/Catalog/Pages 2 0 R/Perms<</DocMDP<</Type/Sig/Reference[<</Type/SigRef/TransformMethod/DocMDP/TransformParams<</Type/TransformParams/P %d/V/1.2>>>>]>>>>>>", p)), 1)
		pdf = fixXref(t, pdf)
		_, err := Sign(t.Context(), new(bytes.Buffer), bytes.NewReader(pdf), id, Options{})
		if refuse != (err != nil) || refuse && !strings.Contains(err.Error(), "DocMDP P=1") {
			t.Errorf("P=%d: err = %v", p, err)
		}
	}
}

// fixXref rewrites the xref table of a minimalPDF whose objects moved.
func fixXref(t *testing.T, pdf []byte) []byte {
	t.Helper()
	i := bytes.Index(pdf, []byte("xref\n"))
	body := pdf[:i]
	var offs []int
	for n := 1; ; n++ {
		j := bytes.Index(body, []byte(fmt.Sprintf("\n%d 0 obj", n)))
		if j < 0 {
			break
		}
		offs = append(offs, j+1)
	}
	var b bytes.Buffer
	b.Write(body)
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	tr := pdf[bytes.Index(pdf, []byte("trailer")):]
	tr = tr[:bytes.Index(tr, []byte("startxref"))]
	fmt.Fprintf(&b, "%sstartxref\n%d\n%%%%EOF\n", tr, i)
	return b.Bytes()
}
