package recipient_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/pdfsign"
)

// pdfSigCase is one PDF of the differential test of the page's PDF
// signature check.
type pdfSigCase struct {
	name string
	pdf  []byte
	// want is the verdict every verifier must reach: none, valid,
	// modified, invalid.
	want string
	// poppler is what poppler's pdfsig says when it differs from want:
	// "unreadable" when it cannot open the file, "valid" for a broken
	// timestamp (pdfsig does not check timestamps) or a certificate not
	// meant for signatures (poppler does not check its key usage).
	poppler string
}

// pdfSigSet makes the differential set with a test CA, an RSA and an
// ECDSA signer and a real RFC 3161 TSA (openssl ts behind an HTTP handler).
func pdfSigSet(t *testing.T) ([]pdfSigCase, *testutil.CA) {
	t.Helper()
	ca := testutil.NewCA(t, "Test CA")
	tsa := testutil.StartTSA(t, ca)
	rsaKey := testutil.NewRSAKey(t)
	doctor := &pdfsign.Identity{Key: rsaKey, Chain: []*x509.Certificate{ca.Issue(t, "Dr Jeanne Dupont", rsaKey.Public())}}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	seal := &pdfsign.Identity{Key: ecKey, Chain: []*x509.Certificate{ca.Issue(t, "UMJ Lyon, cachet", ecKey.Public())}}
	// A certificate name with a right-to-left override, which would show
	// "Dr Jeanne tnopuD" as "Dr Jeanne Dupont"-like text: the page shows
	// U+FFFD in its place.
	spoofKey := testutil.NewRSAKey(t)
	spoof := &pdfsign.Identity{Key: spoofKey, Chain: []*x509.Certificate{ca.Issue(t, "Dr Jeanne \u202etnopuD", spoofKey.Public())}}
	// A certificate for key encipherment only, not for signatures.
	kuKey := testutil.NewRSAKey(t)
	ku, err := asn1.Marshal(asn1.BitString{Bytes: []byte{0x20}, BitLength: 3})
	if err != nil {
		t.Fatal(err)
	}
	notForSigning := &pdfsign.Identity{Key: kuKey, Chain: []*x509.Certificate{ca.Issue(t, "Dr Jeanne Dupont (chiffrement)", kuKey.Public(),
		pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: ku})}}
	orig := samplePDF(3)
	sign := func(in []byte, id *pdfsign.Identity, opts pdfsign.Options) []byte {
		var out bytes.Buffer
		if _, err := pdfsign.Sign(t.Context(), &out, bytes.NewReader(in), id, opts); err != nil {
			t.Fatalf("sign: %v", err)
		}
		return out.Bytes()
	}
	bb := sign(orig, doctor, pdfsign.Options{Reason: "Rapport médico-légal", Location: "Lyon"})
	bt := sign(orig, doctor, pdfsign.Options{Reason: "Rapport médico-légal", Location: "Lyon", TSA: &pdfsign.TSA{URL: tsa.URL}})
	ec := sign(orig, seal, pdfsign.Options{TSA: &pdfsign.TSA{URL: tsa.URL}})

	changed := bytes.Clone(bt)
	i := bytes.Index(changed, []byte("(Rapport m"))
	if i < 0 || i > len(orig) {
		t.Fatal("page text not found in the signed range")
	}
	changed[i+1] = 'X' // "Rapport" → "XRapport"… one byte, in the signed range

	garbageCMS := bytes.Clone(bb)
	h := bytes.Index(garbageCMS, []byte("/Contents<")) + len("/Contents<")
	junk := make([]byte, 600)
	rand.Read(junk)
	copy(garbageCMS[h:], hex.EncodeToString(junk))

	// The signature value (RSA-2048: OCTET STRING 04 82 01 00, the last
	// element of a B-B signature) with one hex digit changed.
	badSig := bytes.Clone(bb)
	if j := bytes.LastIndex(badSig, []byte("04820100")); j < 0 || j < len(orig) {
		t.Fatal("signature value not found")
	} else {
		flipHex(badSig, j+8+40)
	}
	// The timestamp token's genTime (the first GeneralizedTime, 18 0f, in
	// the /Contents of a B-T signature: TSTInfo comes before the token's
	// certificates) with its seconds changed: the token's own digest fails.
	badTS := bytes.Clone(bt)
	if j := bytes.Index(badTS[len(orig):], []byte("180f3230")); j < 0 {
		t.Fatal("timestamp genTime not found")
	} else {
		flipHex(badTS, len(orig)+j+4+2*13+1) // the last digit of the seconds
	}

	// The timestamp token's signer identifier (outside what its signature
	// covers) with its serial number's INTEGER tag changed to another
	// primitive tag: the value bytes still match the TSA's certificate.
	badSID := bytes.Clone(bt)
	sidAt := -1
	if j := bytes.LastIndex(badSID, []byte("300d06096086480165030402010500a0")); j > len(orig) {
		for l := 1; l <= 20 && sidAt < 0; l++ {
			k := j - 2*(l+2)
			if string(badSID[k:k+2]) == "02" && string(badSID[k+2:k+4]) == fmt.Sprintf("%02x", l) {
				sidAt = k
			}
		}
	}
	if sidAt < 0 {
		t.Fatal("timestamp signer's serial number not found")
	}
	badSID[sidAt+1] = 'e' // 02 → 0e

	garbage := []byte("%PDF-1.7\n")
	junk = make([]byte, 4096)
	rand.Read(junk)
	garbage = append(garbage, junk...)

	return []pdfSigCase{
		{"valid-bb", bb, "valid", ""},
		{"valid-bt", bt, "valid", ""},
		{"valid-ecdsa-bt", ec, "valid", ""},
		{"byte-changed", changed, "modified", ""},
		{"incremental-update", appendUpdate(t, bt), "modified", ""},
		{"two-signatures", sign(bb, seal, pdfsign.Options{}), "modified", ""},
		{"unsigned", orig, "none", ""},
		{"garbage-cms", garbageCMS, "invalid", ""},
		{"garbage", garbage, "none", "unreadable"},
		{"signature-value-changed", badSig, "invalid", ""},
		{"bidi-override-name", sign(orig, spoof, pdfsign.Options{}), "valid", ""},
		{"key-usage-not-signing", sign(orig, notForSigning, pdfsign.Options{}), "invalid", "valid"},
		{"timestamp-altered", badTS, "invalid", "valid"},
		{"timestamp-signer-id-not-integer", badSID, "invalid", "valid"},
	}, ca
}

// flipHex changes the hex digit at b[i] to another hex digit.
func flipHex(b []byte, i int) {
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
}

// appendUpdate appends a real incremental update to pdf: a new Info
// dictionary, its cross-reference section and a trailer pointing back.
func appendUpdate(t *testing.T, pdf []byte) []byte {
	t.Helper()
	sx := regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`).FindSubmatch(pdf)
	sizes := regexp.MustCompile(`/Size\s+(\d+)`).FindAllSubmatch(pdf, -1)
	if sx == nil || len(sizes) == 0 {
		t.Fatal("no startxref or /Size in the signed file")
	}
	size, _ := strconv.Atoi(string(sizes[len(sizes)-1][1]))
	var b bytes.Buffer
	b.Write(pdf)
	off := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Title (Rapport modifie apres signature) >>\nendobj\n", size)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root 1 0 R /Info %d 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n",
		size, off, size+1, size, sx[1], xref)
	return b.Bytes()
}

// goVerdict is pdfsign.Verify's report put into the page's four words. The
// page is stricter in one place, on purpose: several signatures are
// "modified" (each later one an update the first signer did not sign),
// where Report.Valid accepts them when the last covers the file.
func goVerdict(rep *pdfsign.Report) string {
	if len(rep.Signatures) == 0 {
		return "none"
	}
	for _, s := range rep.Signatures {
		if strings.Contains(strings.Join(s.Problems, ";"), "message digest mismatch") {
			return "modified"
		}
	}
	for _, s := range rep.Signatures {
		if !s.Valid {
			return "invalid"
		}
	}
	if rep.ModifiedAfterSigning || len(rep.Signatures) > 1 || !rep.Signatures[len(rep.Signatures)-1].WholeFile {
		return "modified"
	}
	return "valid"
}

// popplerVerdict runs poppler's pdfsig on pdf (with an NSS database that
// trusts ca) and puts its text in the same words; "unreadable" when
// pdfsig could not read the file at all. pdfsig exits 0 on failures: only its text counts.
func popplerVerdict(t *testing.T, pdf []byte, ca *testutil.CA) (string, string) {
	t.Helper()
	pdfsig := testutil.NeedTool(t, "pdfsig")
	certutil := testutil.NeedTool(t, "certutil")
	dir := t.TempDir()
	nss := filepath.Join(dir, "nss")
	os.Mkdir(nss, 0o700)
	if out, err := exec.Command(certutil, "-N", "-d", "sql:"+nss, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v\n%s", err, out)
	}
	if out, err := exec.Command(certutil, "-A", "-d", "sql:"+nss, "-n", "testca", "-t", "CT,C,C", "-i", ca.File("ca.pem")).CombinedOutput(); err != nil {
		t.Fatalf("certutil -A: %v\n%s", err, out)
	}
	f := filepath.Join(dir, "doc.pdf")
	os.WriteFile(f, pdf, 0o600)
	b, _ := exec.Command(pdfsig, "-nssdir", "sql:"+nss, f).CombinedOutput()
	out := string(b)
	n := strings.Count(out, "Signature #")
	switch {
	case strings.Contains(out, "does not contain any signatures"):
		return "none", out
	case n == 0:
		return "unreadable", out
	case strings.Contains(out, "Digest Mismatch"):
		return "modified", out
	case strings.Count(out, "Signature Validation: Signature is Valid.") < n:
		return "invalid", out
	case n > 1 || strings.Contains(out, "Not total document signed"):
		return "modified", out
	}
	return "valid", out
}
