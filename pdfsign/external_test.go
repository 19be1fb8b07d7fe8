package pdfsign

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// checked is what the independent validators said about one file.
type checked struct {
	pdfsig, cms, ts, qpdf string
	cmsOK, tsOK, qpdfOK   bool
}

// validate runs poppler's pdfsig, OpenSSL (on the extracted CMS and on the
// timestamp token) and qpdf on the signed file at path.
func validate(t *testing.T, path string, ca *testutil.CA) checked {
	t.Helper()
	pdfsig := testutil.NeedTool(t, "pdfsig")
	openssl := testutil.NeedTool(t, "openssl")
	qpdf := testutil.NeedTool(t, "qpdf")
	certutil := testutil.NeedTool(t, "certutil")
	dir := t.TempDir()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c checked

	// pdfsig with an NSS database that trusts the test CA.
	nss := filepath.Join(dir, "nss")
	os.Mkdir(nss, 0o700)
	if out, err := exec.Command(certutil, "-N", "-d", "sql:"+nss, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v\n%s", err, out)
	}
	if out, err := exec.Command(certutil, "-A", "-d", "sql:"+nss, "-n", "testca", "-t", "CT,C,C", "-i", ca.File("ca.pem")).CombinedOutput(); err != nil {
		t.Fatalf("certutil -A: %v\n%s", err, out)
	}
	out, _ := exec.Command(pdfsig, "-nssdir", "sql:"+nss, path).CombinedOutput()
	c.pdfsig = string(out)

	// OpenSSL on the CMS of the last signature over the byte range.
	dicts, err := findSignatures(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(dicts) == 0 {
		t.Fatalf("no signature found: %v", err)
	}
	d := dicts[len(dicts)-1]
	br := d.byteRange
	ranges := append(bytes.Clone(data[br[0]:br[0]+br[1]]), data[br[2]:br[2]+br[3]]...)
	sigFile, rangesFile := filepath.Join(dir, "sig.der"), filepath.Join(dir, "ranges.bin")
	der := trimDER(d.contents)
	os.WriteFile(sigFile, der, 0o600)
	os.WriteFile(rangesFile, ranges, 0o600)
	out, err = exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigFile,
		"-content", rangesFile, "-CAfile", ca.File("ca.pem"), "-purpose", "any", "-out", os.DevNull).CombinedOutput()
	c.cms, c.cmsOK = string(out), err == nil

	// OpenSSL on the timestamp token: imprint = SHA-256(signature value).
	if p, err := parseCMS(d.contents); err == nil {
		if tok := p.unsigned[oidSignatureTimeStamp.String()]; len(tok) == 1 {
			tokFile := filepath.Join(dir, "token.der")
			os.WriteFile(tokFile, tok[0], 0o600)
			sum := sha256.Sum256(p.signature)
			out, err = exec.Command(openssl, "ts", "-verify", "-token_in", "-in", tokFile,
				"-digest", hex.EncodeToString(sum[:]), "-CAfile", ca.File("ca.pem")).CombinedOutput()
			c.ts, c.tsOK = string(out), err == nil
		}
	}

	out, err = exec.Command(qpdf, "--check", path).CombinedOutput()
	c.qpdf, c.qpdfOK = string(out), err == nil
	return c
}

// trimDER cuts the zero padding after the DER structure.
func trimDER(b []byte) []byte {
	if len(b) < 4 || b[0] != 0x30 {
		return b
	}
	l, n := int(b[1]), 2
	if l&0x80 != 0 {
		k := l & 0x7f
		l, n = 0, 2+k
		for _, c := range b[2 : 2+k] {
			l = l<<8 | int(c)
		}
	}
	if n+l > len(b) {
		return b
	}
	return b[:n+l]
}

func TestExternalValidators(t *testing.T) {
	testutil.NeedIntegration(t)
	ca := testutil.NewCA(t, "Test CA")
	tsa := testutil.StartTSA(t, ca)
	id := newRSAIdentity(t, ca, "Dr Jeanne Dupont")
	qpdf := testutil.NeedTool(t, "qpdf")
	dir := t.TempDir()

	plain := filepath.Join(dir, "plain.pdf")
	os.WriteFile(plain, minimalPDF("Rapport"), 0o600)
	// The same document with a cross-reference stream and object streams.
	streams := filepath.Join(dir, "streams.pdf")
	if out, err := exec.Command(qpdf, "--object-streams=generate", plain, streams).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		in      string
		visible bool
	}{{plain, false}, {streams, false}, {plain, true}} {
		in := tc.in
		name := filepath.Base(in)
		if tc.visible {
			name = "visible-" + name
		}
		t.Run(name, func(t *testing.T) {
			orig, _ := os.ReadFile(in)
			signed := signBytes(t, orig, id, Options{TSA: &TSA{URL: tsa.URL}, Reason: "Rapport médico-légal", Location: "Lyon", Visible: tc.visible})
			path := filepath.Join(dir, "signed-"+name)
			os.WriteFile(path, signed, 0o600)
			c := validate(t, path, ca)
			for _, want := range []string{"Signature is Valid", "Total document signed", "Dr Jeanne Dupont", "Certificate is Trusted", "ETSI.CAdES.detached"} {
				if !strings.Contains(c.pdfsig, want) {
					t.Errorf("pdfsig does not say %q:\n%s", want, c.pdfsig)
				}
			}
			if !c.cmsOK || !strings.Contains(c.cms, "Verification successful") {
				t.Errorf("openssl cms -verify failed:\n%s", c.cms)
			}
			if !c.tsOK || !strings.Contains(c.ts, "Verification: OK") {
				t.Errorf("openssl ts -verify failed:\n%s", c.ts)
			}
			if !c.qpdfOK || !strings.Contains(c.qpdf, "No syntax or stream encoding errors") {
				t.Errorf("qpdf --check:\n%s", c.qpdf)
			}
			t.Logf("pdfsig:\n%s\nopenssl cms: %sopenssl ts: %s", c.pdfsig, c.cms, c.ts)

			// One byte changed after signing, in the signed range.
			changed := bytes.Clone(signed)
			changed[len(orig)/2] ^= 0x01
			bad := filepath.Join(dir, "changed-"+name)
			os.WriteFile(bad, changed, 0o600)
			c = validate(t, bad, ca)
			if strings.Contains(c.pdfsig, "Signature is Valid") {
				t.Errorf("pdfsig accepts a changed file:\n%s", c.pdfsig)
			}
			if c.cmsOK {
				t.Errorf("openssl cms accepts a changed file:\n%s", c.cms)
			}
			if rep := verifyBytes(t, changed, ca.Pool()); rep.Valid() {
				t.Errorf("Verify accepts a changed file")
			}

			// One byte of the signature value changed: the token no longer
			// stamps it.
			changed = bytes.Clone(signed)
			p, _ := parseCMS(trimDER(mustLastContents(t, signed)))
			i := bytes.Index(changed, []byte(strings.ToLower(hex.EncodeToString(p.signature[:16]))))
			if i < 0 {
				t.Fatal("signature value not found in the file")
			}
			if changed[i] == '0' {
				changed[i] = '1'
			} else {
				changed[i] = '0'
			}
			os.WriteFile(bad, changed, 0o600)
			c = validate(t, bad, ca)
			if c.tsOK || c.cmsOK || strings.Contains(c.pdfsig, "Signature is Valid") {
				t.Errorf("a changed signature value passes: ts %v cms %v\n%s", c.tsOK, c.cmsOK, c.pdfsig)
			}
		})
	}
}

func mustLastContents(t *testing.T, data []byte) []byte {
	dicts, err := findSignatures(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(dicts) == 0 {
		t.Fatalf("no signature: %v", err)
	}
	return dicts[len(dicts)-1].contents
}
