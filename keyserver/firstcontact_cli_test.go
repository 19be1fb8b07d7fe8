package keyserver

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// certFor writes a self-signed certificate for names and returns the pool
// that trusts it.
func certFor(t *testing.T, dir string, names ...string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: names, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "wkd.pem"), filepath.Join(dir, "wkd.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// mappingProxy is the hospital's HTTP proxy as the test's DNS: CONNECT to
// the recipient domain's hosts reaches the WKD relay; everything else goes
// where it asks.
func mappingProxy(t *testing.T, routes map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			r.RequestURI = ""
			resp, err := http.DefaultTransport.RoundTrip(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
			return
		}
		target := r.Host
		if to, ok := routes[r.Host]; ok {
			target = to
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		// Hijack before answering, and read the client's side through the
		// server's buffer: bytes the client sends once it has the answer
		// may already sit there (the server's background read takes one),
		// and dropping them cuts the start of the TLS handshake.
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			up.Close()
			conn.Close()
			return
		}
		go func() { io.Copy(up, brw.Reader); up.Close() }()
		io.Copy(conn, up)
		conn.Close()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func startRelayBin(t *testing.T, bin, data string, args ...string) *bytes.Buffer {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(bin, append([]string{"serve", "--data", data}, args...)...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("relay %s:\n%s", data, logs.String())
		}
	})
	return &logs
}

// A second sealrelay serves the recipient domain's WKD with key A; the
// sender's relay offers key B for the same address: 'sealprint send'
// refuses naming both. An address only the relay's directory knows is not
// used without --accept-new-key.
func TestSendRefusesWhenWKDAndRelayDisagree(t *testing.T) {
	testutil.NeedIntegration(t)
	relayBin := testutil.Binary(t, "sealrelay")
	printBin := testutil.Binary(t, "sealprint")
	tmp := t.TempDir()

	// The recipient's domain: its own WKD server, over HTTPS.
	wkdData := t.TempDir()
	keyA := newEntity(t, "Cdt Martin", "martin@police.example")
	aFile := filepath.Join(tmp, "a.asc")
	os.WriteFile(aFile, []byte(armorPublic(t, keyA)), 0o600)
	run(t, nil, relayBin, "keys", "import", "--verified", aFile, "--data", wkdData)
	certFile, keyFile, pool := certFor(t, tmp, "openpgpkey.police.example", "police.example")
	wkdAddr := testutil.FreeAddr(t)
	wkdLog := startRelayBin(t, relayBin, wkdData, "--listen", wkdAddr, "--tls-cert", certFile, "--tls-key", keyFile,
		"--public-url", "https://openpgpkey.police.example")
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "openpgpkey.police.example"}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := tlsClient.Get("https://" + wkdAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WKD relay did not start: %v\n%s", err, wkdLog)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The sender's relay, whose directory serves key B for the address.
	data := t.TempDir()
	keyB := newEntity(t, "Cdt Martin", "martin@police.example")
	bFile := filepath.Join(tmp, "b.asc")
	os.WriteFile(bFile, []byte(armorPublic(t, keyB)), 0o600)
	run(t, nil, relayBin, "keys", "import", "--verified", bFile, "--data", data)
	onlyRelay := newEntity(t, "Adj Blanc", "blanc@police.example")
	oFile := filepath.Join(tmp, "o.asc")
	os.WriteFile(oFile, []byte(armorPublic(t, onlyRelay)), 0o600)
	run(t, nil, relayBin, "keys", "import", "--verified", oFile, "--data", data)
	addr := testutil.FreeAddr(t)
	base := "http://" + addr
	logs := startRelayBin(t, relayBin, data, "--listen", addr, "--public-url", base)
	waitHealthy(t, base, logs)

	proxy := mappingProxy(t, map[string]string{"openpgpkey.police.example:443": wkdAddr, "police.example:443": wkdAddr})
	token := strings.TrimSpace(run(t, nil, relayBin, "token", "create", "--data", data, "--name", "Dr A"))
	env := append(os.Environ(), "SEALPRINT_HOME="+t.TempDir(), "SEALPRINT_KEYRING=file", "SEALPRINT_RELAY="+base,
		"SEALPRINT_TOKEN="+token, "SEALPRINT_PROXY="+proxy, "SEALPRINT_CA="+certFile)
	run(t, env, printBin, "keys", "generate", "--name", "Dr A", "--email", "a@chu.example")
	doc := filepath.Join(tmp, "report.txt")
	os.WriteFile(doc, []byte("report"), 0o600)

	a, b := hexOf(keyA.PrimaryKey.Fingerprint), hexOf(keyB.PrimaryKey.Fingerprint)
	out, err := runErr(env, printBin, "send", "--to", "martin@police.example", "--accept-new-key", b, doc)
	if err == nil || !strings.Contains(out, "key sources disagree") || !strings.Contains(out, a) || !strings.Contains(out, b) {
		t.Fatalf("send with disagreeing sources: %v\n%s", err, out)
	}
	o := hexOf(onlyRelay.PrimaryKey.Fingerprint)
	out, err = runErr(env, printBin, "send", "--to", "blanc@police.example", doc)
	if err == nil || !strings.Contains(out, "the relay's directory only") || !strings.Contains(out, "--accept-new-key "+o) {
		t.Fatalf("send to a relay-only key without confirmation: %v\n%s", err, out)
	}
	if out, err := runErr(env, printBin, "send", "--to", "blanc@police.example", "--accept-new-key", o, doc); err != nil {
		t.Fatalf("send with the key confirmed: %v\n%s", err, out)
	}
}
