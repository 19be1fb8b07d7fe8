package pdfsign

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
	"software.sslmate.com/src/go-pkcs12"
)

// A PKCS#12 file made by OpenSSL (as an organisation or a CA would hand
// it out) opens with its passphrase and signs.
func TestOpenPKCS12FromOpenSSL(t *testing.T) {
	openssl := testutil.NeedTool(t, "openssl")
	ca := testutil.NewCA(t, "Test CA")
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	cert := ca.Issue(t, "Cachet CHU Test", key.Public())
	dir := t.TempDir()
	testutil.WritePEM(t, filepath.Join(dir, "cert.pem"), "CERTIFICATE", cert.Raw)
	testutil.WritePEM(t, filepath.Join(dir, "key.pem"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	p12 := filepath.Join(dir, "seal.p12")
	out, err := exec.Command(openssl, "pkcs12", "-export", "-in", filepath.Join(dir, "cert.pem"), "-inkey", filepath.Join(dir, "key.pem"),
		"-certfile", ca.File("ca.pem"), "-passout", "pass:s3cret é", "-out", p12).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkcs12: %v\n%s", err, out)
	}
	f, _ := os.Open(p12)
	defer f.Close()
	id, err := OpenPKCS12(f, "s3cret é")
	if err != nil {
		t.Fatal(err)
	}
	if id.Name() != "Cachet CHU Test" || len(id.Chain) != 2 || !id.Chain[1].Equal(ca.Cert) {
		t.Fatalf("identity %q with %d certificates", id.Name(), len(id.Chain))
	}
	rep := verifyBytes(t, signBytes(t, minimalPDF("x"), id, Options{}), ca.Pool())
	if !rep.Valid() || !rep.Signatures[0].Trusted {
		t.Fatalf("%+v", rep.Signatures[0])
	}
	f.Seek(0, 0)
	if _, err := OpenPKCS12(f, "wrong"); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

func TestOpenPKCS12Bounds(t *testing.T) {
	if _, err := OpenPKCS12(bytes.NewReader(make([]byte, maxPKCS12+1)), ""); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("no size bound: %v", err)
	}
	ca := testutil.NewCA(t, "Test CA")
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	data, err := pkcs12.Modern.Encode(other, ca.Issue(t, "x", key.Public()), nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPKCS12(bytes.NewReader(data), "pw"); err == nil {
		t.Fatal("accepted a certificate of another key")
	}
}

func TestSignWithSoftHSM(t *testing.T) {
	testutil.NeedIntegration(t)
	ca := testutil.NewCA(t, "Test CA")
	tsa := testutil.StartTSA(t, ca)
	h := testutil.StartSoftHSM(t, ca, "Dr Carte CPS")

	if _, _, err := OpenPKCS11(PKCS11Config{Module: h.Module, TokenLabel: h.Label, PIN: "000000"}); err == nil {
		t.Fatal("wrong PIN accepted")
	}
	if _, _, err := OpenPKCS11(PKCS11Config{Module: h.Module, TokenLabel: h.Label, KeyLabel: "nope", PIN: h.PIN}); err == nil {
		t.Fatal("unknown key label accepted")
	}
	id, closer, err := OpenPKCS11(PKCS11Config{Module: h.Module, TokenLabel: h.Label, KeyLabel: h.KeyLabel, PIN: h.PIN})
	if errors.Is(err, ErrNoPKCS11) {
		t.Skip("built without cgo")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if id.Name() != "Dr Carte CPS" {
		t.Fatalf("signer %q", id.Name())
	}
	signed := signBytes(t, minimalPDF("Rapport"), id, Options{TSA: &TSA{URL: tsa.URL}, Reason: "Rapport", Location: "Lyon"})
	path := filepath.Join(t.TempDir(), "signed.pdf")
	os.WriteFile(path, signed, 0o600)
	c := validate(t, path, ca)
	if !strings.Contains(c.pdfsig, "Signature is Valid") || !strings.Contains(c.pdfsig, "Dr Carte CPS") || !c.cmsOK || !c.tsOK || !c.qpdfOK {
		t.Fatalf("validators:\n%s\ncms %s\nts %s\nqpdf %s", c.pdfsig, c.cms, c.ts, c.qpdf)
	}
	rep := verifyBytes(t, signed, ca.Pool())
	if !rep.Valid() || rep.Signatures[0].Level != "B-T" {
		t.Fatalf("%+v", rep.Signatures[0])
	}
}
