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
	ca := newTestCA(t, "Test CA")
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	cert := ca.issue(t, "Cachet CHU Test", key, false)
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, "cert.pem"), "CERTIFICATE", cert.Raw)
	writePEM(t, filepath.Join(dir, "key.pem"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	p12 := filepath.Join(dir, "seal.p12")
	out, err := exec.Command(openssl, "pkcs12", "-export", "-in", filepath.Join(dir, "cert.pem"), "-inkey", filepath.Join(dir, "key.pem"),
		"-certfile", ca.file("ca.pem"), "-passout", "pass:s3cret é", "-out", p12).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkcs12: %v\n%s", err, out)
	}
	f, _ := os.Open(p12)
	defer f.Close()
	id, err := OpenPKCS12(f, "s3cret é")
	if err != nil {
		t.Fatal(err)
	}
	if id.Name() != "Cachet CHU Test" || len(id.Chain) != 2 || !id.Chain[1].Equal(ca.cert) {
		t.Fatalf("identity %q with %d certificates", id.Name(), len(id.Chain))
	}
	rep := verifyBytes(t, signBytes(t, minimalPDF("x"), id, Options{}), ca.pool())
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
	ca := newTestCA(t, "Test CA")
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	data, err := pkcs12.Modern.Encode(other, ca.issue(t, "x", key, false), nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPKCS12(bytes.NewReader(data), "pw"); err == nil {
		t.Fatal("accepted a certificate of another key")
	}
}

// softHSM is a SoftHSM2 token initialised for one test, holding a key and
// its certificate issued by ca, as a smart card would.
type softHSM struct {
	module, label, pin string
}

func startSoftHSM(t *testing.T, ca *testCA, cn string) *softHSM {
	t.Helper()
	util := testutil.NeedTool(t, "softhsm2-util")
	tool := testutil.NeedTool(t, "pkcs11-tool")
	module := "/usr/lib/softhsm/libsofthsm2.so"
	if _, err := os.Stat(module); err != nil {
		if testutil.Integration() {
			t.Fatalf("%s missing (apt softhsm2)", module)
		}
		t.Skip("softhsm2 not installed")
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "tokens"), 0o700)
	conf := filepath.Join(dir, "softhsm2.conf")
	os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600)
	t.Setenv("SOFTHSM2_CONF", conf)
	h := &softHSM{module: module, label: "CPS-test", pin: "123456"}
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run(util, "--init-token", "--free", "--label", h.label, "--pin", h.pin, "--so-pin", "87654321")
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	cert := ca.issue(t, cn, key, false)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	writePEM(t, filepath.Join(dir, "key.pem"), "PRIVATE KEY", pk)
	run(util, "--import", filepath.Join(dir, "key.pem"), "--token", h.label, "--label", "signature", "--id", "01", "--pin", h.pin)
	os.WriteFile(filepath.Join(dir, "cert.der"), cert.Raw, 0o600)
	run(tool, "--module", module, "--token-label", h.label, "--login", "--pin", h.pin,
		"--write-object", filepath.Join(dir, "cert.der"), "--type", "cert", "--id", "01", "--label", "signature")
	return h
}

func TestSignWithSoftHSM(t *testing.T) {
	testutil.NeedIntegration(t)
	ca := newTestCA(t, "Test CA")
	tsa := startOpensslTSA(t, ca)
	h := startSoftHSM(t, ca, "Dr Carte CPS")

	if _, _, err := OpenPKCS11(PKCS11Config{Module: h.module, TokenLabel: h.label, PIN: "000000"}); err == nil {
		t.Fatal("wrong PIN accepted")
	}
	if _, _, err := OpenPKCS11(PKCS11Config{Module: h.module, TokenLabel: h.label, KeyLabel: "nope", PIN: h.pin}); err == nil {
		t.Fatal("unknown key label accepted")
	}
	id, closer, err := OpenPKCS11(PKCS11Config{Module: h.module, TokenLabel: h.label, KeyLabel: "signature", PIN: h.pin})
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
	rep := verifyBytes(t, signed, ca.pool())
	if !rep.Valid() || rep.Signatures[0].Level != "B-T" {
		t.Fatalf("%+v", rep.Signatures[0])
	}
}
