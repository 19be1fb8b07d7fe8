package keyserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// wkdScript runs inside private mount and network namespaces: the
// recipient's domain resolves to the loopback (bind-mounted /etc/hosts),
// the test CA is added to the system bundle (bind-mounted), sealrelay serves
// HTTPS on 127.0.0.1:443 as openpgpkey.police.example, and an unmodified
// gpg --locate-keys finds the key by WKD. Nothing outside is touched.
const wkdScript = `set -e
W="$1"; RELAY="$2"
ip link set lo up
echo "127.0.0.1 localhost openpgpkey.police.example police.example" > "$W/hosts"
mount --bind "$W/hosts" /etc/hosts
cat /etc/ssl/certs/ca-certificates.crt "$W/cert.pem" > "$W/bundle.crt"
mount --bind "$W/bundle.crt" /etc/ssl/certs/ca-certificates.crt
"$RELAY" serve --data "$W/relay" --listen 127.0.0.1:443 --tls-cert "$W/cert.pem" --tls-key "$W/key.pem" > "$W/relay.log" 2>&1 &
rp=$!
trap 'GNUPGHOME="$GH" gpgconf --kill all; kill $rp' EXIT
for i in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/443) 2>/dev/null && break; sleep 0.1; done
export GNUPGHOME="$GH"
echo standard-resolver > "$GNUPGHOME/dirmngr.conf"
gpg --batch --auto-key-locate clear,wkd,nodefault --locate-keys "$3"
`

// TestGnuPGLocateKeysWKD: gpg --locate-keys (WKD only) retrieves a verified
// key from sealrelay, and finds nothing for an unpublished address.
func TestGnuPGLocateKeysWKD(t *testing.T) {
	testutil.NeedIntegration(t)
	for _, tool := range []string{"unshare", "ip", "gpgconf"} {
		testutil.NeedTool(t, tool)
	}
	if os.Geteuid() != 0 {
		if testutil.Integration() {
			t.Fatal("needs root to create mount and network namespaces (scripts/test runs as root)")
		}
		t.Skip("needs root to create mount and network namespaces")
	}
	relayBin := testutil.Binary(t, "sealrelay")
	w := t.TempDir()
	writeServerCert(t, filepath.Join(w, "cert.pem"), filepath.Join(w, "key.pem"), "openpgpkey.police.example")

	alice := newGnuPG(t, "hkp://127.0.0.1:1")
	alice.must(nil, "--passphrase", "", "--quick-gen-key", "Alice <alice@police.example>", "future-default", "default", "never")
	alice.must(nil, "--passphrase", "", "--quick-gen-key", "Eve <eve@police.example>", "future-default", "default", "never")
	fpr := fprLine.FindStringSubmatch(alice.must(nil, "--with-colons", "--list-keys", "alice@police.example"))[1]
	keys, err := exec.Command(alice.gpg, "--homedir", alice.home, "--export").Output()
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenFileStore(filepath.Join(w, "relay", "keys"))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCerts(strings.NewReader(string(keys)))
	if err != nil || len(certs) != 2 {
		t.Fatalf("parse: %v (%d keys)", err, len(certs))
	}
	// Alice is published (admin import); Eve's key is stored unpublished.
	for _, c := range certs {
		verified := c.Emails()[0] == "alice@police.example"
		if _, err := Import(t.Context(), store, []*Cert{c}, verified, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(w, "wkd.sh")
	os.WriteFile(script, []byte(wkdScript), 0o700)

	locate := func(email string) (string, error) {
		gh, err := os.MkdirTemp("", "ksw")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(gh)
		os.Chmod(gh, 0o700)
		cmd := exec.Command("unshare", "--mount", "--net", "bash", script, w, relayBin, email)
		cmd.Env = append(os.Environ(), "GH="+gh, "LC_ALL=C", "LANGUAGE=C")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := locate("alice@police.example")
	if err != nil || !strings.Contains(out, fpr) || !strings.Contains(out, "imported: 1") {
		log, _ := os.ReadFile(filepath.Join(w, "relay.log"))
		t.Fatalf("gpg --locate-keys alice: %v\n%s\nrelay log:\n%s", err, out, log)
	}
	if out, _ := locate("eve@police.example"); strings.Contains(out, "imported:") || !strings.Contains(out, "No data") {
		t.Fatalf("gpg --locate-keys found an unpublished address:\n%s", out)
	}
}

// writeServerCert writes a self-signed certificate for host.
func writeServerCert(t *testing.T, certFile, keyFile, host string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		DNSNames:              []string{host},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}
