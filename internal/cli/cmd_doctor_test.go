//go:build unix

package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relay"
)

// doctorRelay serves the real relay over TLS in-process and returns its
// URL, a CA file trusting it and a valid token.
func doctorRelay(t *testing.T) (string, string, string) {
	t.Helper()
	dir := t.TempDir()
	data := relay.DataDir{Root: filepath.Join(dir, "data")}
	cfg, closer, err := data.Open()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := relay.CreateSender(context.Background(), cfg.Store, "Dr Durand", "durand@hospital.example", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Mount(mux)
	ts := httptest.NewUnstartedServer(srv.Wrap(mux))
	caFile := filepath.Join(dir, "ca.pem")
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{doctorCert(t, caFile)}}
	ts.StartTLS()
	t.Cleanup(func() { ts.Close(); srv.Close(); closer.Close() })
	return ts.URL, caFile, token
}

// doctorCert makes a CA (written to caFile) and a certificate for 127.0.0.1.
func doctorCert(t *testing.T, caFile string) tls.Certificate {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "doctor test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "relay.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(40 * 24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// doctorSquid starts a real squid with the given access rules and returns
// its address.
func doctorSquid(t *testing.T, rules string) string {
	t.Helper()
	bin := testutil.NeedTool(t, "squid")
	dir, err := os.MkdirTemp("", "sealprint-doctor-squid-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr := testutil.FreeAddr(t)
	conf := fmt.Sprintf("http_port %s\n%s\ncache deny all\nshutdown_lifetime 0\npinger_enable off\n"+
		"pid_filename %[3]s/squid.pid\ncache_log %[3]s/cache.log\naccess_log %[3]s/access.log\ncoredump_dir %[3]s\nnetdb_filename none\n",
		addr, rules, dir)
	os.WriteFile(filepath.Join(dir, "squid.conf"), []byte(conf), 0o644)
	cmd := exec.Command(bin, "-N", "-f", filepath.Join(dir, "squid.conf"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if i > 200 {
			log, _ := os.ReadFile(filepath.Join(dir, "cache.log"))
			t.Fatalf("squid did not start:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func runDoctorWith(t *testing.T, env map[string]string) (string, int) {
	t.Helper()
	env["SEALPRINT_HOME"] = t.TempDir()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"doctor", "--timeout", "20s"}, strings.NewReader(""), &out, &errOut,
		func(k string) string { return env[k] })
	return out.String() + errOut.String(), code
}

func wantLines(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("doctor output lacks %q:\n%s", w, out)
		}
	}
}

func TestDoctorBrokenProxies(t *testing.T) {
	testutil.NeedIntegration(t)
	relayURL, ca, token := doctorRelay(t)
	base := func(proxy string) map[string]string {
		return map[string]string{"SEALPRINT_RELAY": relayURL, "SEALPRINT_TOKEN": token, "SEALPRINT_CA": ca, "SEALPRINT_PROXY": proxy}
	}
	t.Run("proxy down", func(t *testing.T) {
		dead := testutil.FreeAddr(t)
		out, code := runDoctorWith(t, base("http://"+dead))
		if code != 1 {
			t.Fatalf("exit %d", code)
		}
		wantLines(t, out, "FAIL  relay via http://"+dead, "connection refused", "fix: proxy "+dead+" refuses connections",
			"ok    relay direct", "check(s) failed")
	})
	t.Run("proxy denies CONNECT", func(t *testing.T) {
		addr := doctorSquid(t, "http_access deny CONNECT\nhttp_access allow all")
		out, code := runDoctorWith(t, base("http://"+addr))
		if code != 1 {
			t.Fatalf("exit %d", code)
		}
		wantLines(t, out, "FAIL  relay via http://"+addr, "refused to connect", "403 Forbidden", "ERR_ACCESS_DENIED",
			"fix: ask IT to allow HTTPS (CONNECT)")
	})
	t.Run("proxy wants credentials", func(t *testing.T) {
		rules := "auth_param basic program " + testutil.NeedTool(t, "basic_fake_auth") +
			"\nacl authed proxy_auth REQUIRED\nhttp_access deny !authed\nhttp_access allow all"
		addr := doctorSquid(t, rules)
		out, code := runDoctorWith(t, base("http://"+addr))
		if code != 1 {
			t.Fatalf("exit %d", code)
		}
		wantLines(t, out, "requires authentication", "Basic", "fix: give the proxy credentials")
	})
	t.Run("TLS inspection without the CA", func(t *testing.T) {
		env := base("direct")
		delete(env, "SEALPRINT_CA")
		out, _ := runDoctorWith(t, env)
		wantLines(t, out, "FAIL  relay direct", "certificate", "sealprint enroll --ca FILE")
	})
	t.Run("healthy proxy, bad token", func(t *testing.T) {
		addr := doctorSquid(t, "http_access allow all")
		env := base("http://" + addr)
		out, _ := runDoctorWith(t, env)
		wantLines(t, out, "ok    relay via http://"+addr, "opened the tunnel", "ok    tls", "ok    clock", "ok    enrolment token")
		env["SEALPRINT_TOKEN"] = "not-a-token"
		out, code := runDoctorWith(t, env)
		if code != 1 {
			t.Fatalf("exit %d", code)
		}
		wantLines(t, out, "FAIL  enrolment token", "refused by the relay (401): missing or unknown enrolment token", "sealrelay token create")
	})
}
