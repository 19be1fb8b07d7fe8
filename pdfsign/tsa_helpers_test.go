package pdfsign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// opensslTSA is a real RFC 3161 timestamp authority: `openssl ts -reply`
// behind an HTTP handler, with a certificate from ca.
type opensslTSA struct {
	URL     string
	calls   atomic.Int32
	dir     string
	openssl string
}

func startOpensslTSA(t *testing.T, ca *testCA) *opensslTSA {
	t.Helper()
	openssl := testutil.NeedTool(t, "openssl")
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := ca.issueTSA(t, key)
	writePEM(t, filepath.Join(dir, "tsa.pem"), "CERTIFICATE", cert.Raw)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	writePEM(t, filepath.Join(dir, "tsa.key"), "PRIVATE KEY", pk)
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
`, dir, ca.file("ca.pem"))
	if err := os.WriteFile(filepath.Join(dir, "tsa.cnf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "serial"), []byte("01\n"), 0o600)
	tsa := &opensslTSA{dir: dir, openssl: openssl}
	srv := httptest.NewServer(http.HandlerFunc(tsa.serve))
	t.Cleanup(srv.Close)
	tsa.URL = srv.URL
	return tsa
}

func (s *opensslTSA) serve(w http.ResponseWriter, r *http.Request) {
	n := s.calls.Add(1)
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

// issueTSA makes a time-stamping certificate: OpenSSL wants its extended
// key usage critical, which Go does not write by itself.
func (ca *testCA) issueTSA(t testing.TB, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	serial++
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	tmpl := &x509.Certificate{
		SerialNumber: bigInt(serial), Subject: pkix.Name{CommonName: "Test TSA", Organization: []string{"Sealprint Test"}},
		NotBefore: ca.cert.NotBefore, NotAfter: ca.cert.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	raw, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(raw)
	return c
}
