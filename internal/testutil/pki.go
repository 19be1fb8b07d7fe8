package testutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a certificate authority made for one test; its certificate is in
// File("ca.pem").
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	Dir  string
}

var caSerial atomic.Int64

// NewCA makes a CA named name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name, Organization: []string{"Sealprint Test"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	raw, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(raw)
	ca := &CA{Cert: cert, Key: key, Dir: t.TempDir()}
	WritePEM(t, ca.File("ca.pem"), "CERTIFICATE", raw)
	return ca
}

// File is a path in the CA's directory.
func (ca *CA) File(name string) string { return filepath.Join(ca.Dir, name) }

// Pool is a pool holding the CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue makes a signing certificate for pub, or with extra extensions.
func (ca *CA) Issue(t testing.TB, cn string, pub crypto.PublicKey, extra ...pkix.Extension) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(100 + caSerial.Add(1)), Subject: pkix.Name{CommonName: cn, Organization: []string{"CHU Test"}},
		NotBefore: ca.Cert.NotBefore, NotAfter: ca.Cert.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtraExtensions: extra,
	}
	raw, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(raw)
	return c
}

// IssueTSA makes a time-stamping certificate: OpenSSL wants its extended
// key usage critical, which Go does not write by itself.
func (ca *CA) IssueTSA(t testing.TB, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	return ca.Issue(t, "Test TSA", pub, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku})
}

// NewRSAKey returns a 2048-bit RSA key.
func NewRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// WritePEM writes one PEM block.
func WritePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TSA is a real RFC 3161 timestamp authority: `openssl ts -reply` behind
// an HTTP handler, with a certificate from a test CA.
type TSA struct {
	URL string
	// Calls counts the queries answered or refused.
	Calls atomic.Int32
	// Down makes the TSA answer 503 while set.
	Down    atomic.Bool
	dir     string
	openssl string
}

// StartTSA starts a TSA whose certificate ca issues.
func StartTSA(t testing.TB, ca *CA) *TSA {
	t.Helper()
	openssl := NeedTool(t, "openssl")
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	WritePEM(t, filepath.Join(dir, "tsa.pem"), "CERTIFICATE", ca.IssueTSA(t, key.Public()).Raw)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	WritePEM(t, filepath.Join(dir, "tsa.key"), "PRIVATE KEY", pk)
	conf := fmt.Sprintf(`[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = %[1]s
serial = %[1]s/serial
crypto_device = builtin
signer_cert = %[1]s/tsa.pem
certs = %[2]s
signer_key = %[1]s/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`, dir, ca.File("ca.pem"))
	if err := os.WriteFile(filepath.Join(dir, "tsa.cnf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "serial"), []byte("01\n"), 0o600)
	tsa := &TSA{dir: dir, openssl: openssl}
	srv := httptest.NewServer(tsa)
	t.Cleanup(srv.Close)
	tsa.URL = srv.URL
	return tsa
}

// ServeHTTP answers one time-stamp query with openssl.
func (s *TSA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.Calls.Add(1)
	if s.Down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	q, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	qf := filepath.Join(s.dir, fmt.Sprintf("q%d.tsq", n))
	rf := filepath.Join(s.dir, fmt.Sprintf("r%d.tsr", n))
	os.WriteFile(qf, q, 0o600)
	out, err := exec.Command(s.openssl, "ts", "-reply", "-config", filepath.Join(s.dir, "tsa.cnf"), "-queryfile", qf, "-out", rf).CombinedOutput()
	if err != nil {
		http.Error(w, string(out), http.StatusInternalServerError)
		return
	}
	resp, _ := os.ReadFile(rf)
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// SoftHSM is a SoftHSM2 token initialised for one test, holding an RSA key
// (label KeyLabel) and its certificate issued by a test CA, as a smart card
// would. Conf is the SOFTHSM2_CONF a process needs to see it.
type SoftHSM struct {
	Module, Label, PIN, KeyLabel, Conf string
	Cert                               *x509.Certificate
}

// SoftHSMModule is where Debian's softhsm2 puts its PKCS#11 module.
const SoftHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// StartSoftHSM initialises a token with a key for cn and sets
// SOFTHSM2_CONF for the test process.
func StartSoftHSM(t *testing.T, ca *CA, cn string) *SoftHSM {
	t.Helper()
	util := NeedTool(t, "softhsm2-util")
	tool := NeedTool(t, "pkcs11-tool")
	if _, err := os.Stat(SoftHSMModule); err != nil {
		if Integration() {
			t.Fatalf("%s missing (apt softhsm2)", SoftHSMModule)
		}
		t.Skip("softhsm2 not installed")
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "tokens"), 0o700)
	h := &SoftHSM{Module: SoftHSMModule, Label: "CPS-test", PIN: "123456", KeyLabel: "signature", Conf: filepath.Join(dir, "softhsm2.conf")}
	os.WriteFile(h.Conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600)
	t.Setenv("SOFTHSM2_CONF", h.Conf)
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run(util, "--init-token", "--free", "--label", h.Label, "--pin", h.PIN, "--so-pin", "87654321")
	key := NewRSAKey(t)
	h.Cert = ca.Issue(t, cn, key.Public())
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	WritePEM(t, filepath.Join(dir, "key.pem"), "PRIVATE KEY", pk)
	run(util, "--import", filepath.Join(dir, "key.pem"), "--token", h.Label, "--label", h.KeyLabel, "--id", "01", "--pin", h.PIN)
	os.WriteFile(filepath.Join(dir, "cert.der"), h.Cert.Raw, 0o600)
	run(tool, "--module", h.Module, "--token-label", h.Label, "--login", "--pin", h.PIN,
		"--write-object", filepath.Join(dir, "cert.der"), "--type", "cert", "--id", "01", "--label", h.KeyLabel)
	return h
}
