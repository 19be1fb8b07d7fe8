//go:build unix

package uploader

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// squidMode selects the proxy's configuration.
type squidMode int

const (
	squidOpen  squidMode = iota // no authentication
	squidBasic                  // basic_ncsa_auth with an htpasswd file
	squidNTLM                   // ntlm_fake_auth (accepts any NTLM login)
	squidBump                   // ssl_bump: intercepts TLS with a test CA
)

// squidProc is a real squid started by a test on a free loopback port.
type squidProc struct {
	t      testing.TB
	bin    string
	dir    string
	conf   string
	addr   string
	caFile string // bump mode: the interception CA the client must trust
	cmd    *exec.Cmd
	exited chan struct{}
}

const (
	squidUser     = "hospital\\alice"
	squidPassword = "s3cret-pw"
)

// startSquid writes a config for mode in a fresh directory and starts
// squid. relayCA is the relay's CA (bump mode: squid verifies the relay).
func startSquid(t testing.TB, mode squidMode, relayCA string) *squidProc {
	t.Helper()
	bin := testutil.NeedTool(t, "squid")
	dir, err := os.MkdirTemp("", "sealprint-squid-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &squidProc{t: t, bin: bin, dir: dir, addr: testutil.FreeAddr(t)}
	var conf strings.Builder
	port := ""
	switch mode {
	case squidBump:
		checkSquidSSL(t, bin)
		s.caFile = filepath.Join(dir, "bump-ca.pem")
		keyFile := filepath.Join(dir, "bump-ca.key")
		writeTestCA(t, s.caFile, keyFile)
		certgen := testutil.NeedTool(t, "security_file_certgen")
		db := filepath.Join(dir, "ssl_db")
		if out, err := exec.Command(certgen, "-c", "-s", db, "-M", "4MB").CombinedOutput(); err != nil {
			t.Fatalf("security_file_certgen: %v\n%s", err, out)
		}
		// squid runs as user proxy: give it its own copy of the relay's CA.
		caCopy := filepath.Join(dir, "relay-ca.pem")
		if b, err := os.ReadFile(relayCA); err != nil {
			t.Fatal(err)
		} else {
			os.WriteFile(caCopy, b, 0o644)
		}
		relayCA = caCopy
		chownProxy(t, dir)
		port = fmt.Sprintf(" ssl-bump tls-cert=%s tls-key=%s generate-host-certificates=on dynamic_cert_mem_cache_size=4MB", s.caFile, keyFile)
		fmt.Fprintf(&conf, "sslcrtd_program %s -s %s -M 4MB\nsslcrtd_children 2 startup=1 idle=1\n", certgen, db)
		fmt.Fprintf(&conf, "acl step1 at_step SslBump1\nacl step2 at_step SslBump2\nssl_bump peek step1\nssl_bump stare step2\nssl_bump bump all\n")
		fmt.Fprintf(&conf, "tls_outgoing_options cafile=%s\n", relayCA)
	case squidBasic:
		htpasswd := testutil.NeedTool(t, "htpasswd")
		pw := filepath.Join(dir, "htpasswd")
		if out, err := exec.Command(htpasswd, "-cbB", pw, squidUser, squidPassword).CombinedOutput(); err != nil {
			t.Fatalf("htpasswd: %v\n%s", err, out)
		}
		os.Chmod(pw, 0o644)
		fmt.Fprintf(&conf, "auth_param basic program %s %s\nauth_param basic children 2\nauth_param basic realm sealprint-test\n",
			testutil.NeedTool(t, "basic_ncsa_auth"), pw)
		conf.WriteString("acl authed proxy_auth REQUIRED\nhttp_access deny !authed\n")
	case squidNTLM:
		fmt.Fprintf(&conf, "auth_param ntlm program %s\nauth_param ntlm children 2\n", testutil.NeedTool(t, "ntlm_fake_auth"))
		conf.WriteString("acl authed proxy_auth REQUIRED\nhttp_access deny !authed\n")
	}
	fmt.Fprintf(&conf, `http_port %s%s
http_access allow all
cache deny all
shutdown_lifetime 0
pinger_enable off
pid_filename %[3]s/squid.pid
cache_log %[3]s/cache.log
access_log %[3]s/access.log
coredump_dir %[3]s
netdb_filename none
logfile_rotate 0
`, s.addr, port, dir)
	s.conf = filepath.Join(dir, "squid.conf")
	if err := os.WriteFile(s.conf, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "cache.log"))
			t.Logf("squid cache.log:\n%s\naccess.log:\n%s", log, s.accessLog())
		}
	})
	return s
}

// checkSquidSSL fails (or skips) when squid was built without OpenSSL:
// Debian's "squid" package lacks ssl-bump, "squid-openssl" has it.
func checkSquidSSL(t testing.TB, bin string) {
	t.Helper()
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	if !strings.Contains(string(out), "--with-openssl") {
		if testutil.Integration() {
			t.Fatal("squid lacks ssl-bump: install the squid-openssl package")
		}
		t.Skip("squid built without OpenSSL (install squid-openssl)")
	}
}

// chownProxy gives the directory to squid's unprivileged user.
func chownProxy(t testing.TB, dir string) {
	u, err := user.Lookup("proxy")
	if err != nil || os.Getuid() != 0 {
		return
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
}

func (s *squidProc) start() {
	s.t.Helper()
	os.Remove(filepath.Join(s.dir, "squid.pid"))
	cmd := exec.Command(s.bin, "-N", "-f", s.conf)
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "cache.log"))
			s.t.Fatalf("squid exited at start:\n%s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if i > 400 {
			s.t.Fatal("squid did not start listening")
		}
	}
}

// kill stops squid at once (SIGKILL to its process group: no goodbye).
func (s *squidProc) kill() {
	if s.cmd == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
}

func (s *squidProc) stop() {
	if s.cmd == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
}

// accessLog returns squid's access log.
func (s *squidProc) accessLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "access.log"))
	return string(b)
}

func (s *squidProc) URL() string { return "http://" + s.addr }

// writeTestCA writes a fresh RSA CA certificate and key (PEM).
func writeTestCA(t testing.TB, certFile, keyFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "sealprint test interception CA", Organization: []string{"Hospital IT"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
}
