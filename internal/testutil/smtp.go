package testutil

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SMTPOptions configure a test SMTP server.
type SMTPOptions struct {
	// TLS is "" (plain), "starttls" (offered and required before AUTH and
	// MAIL) or "implicit" (smtps).
	TLS string
	// User and Password, when set, make AUTH required.
	User, Password string
}

// SMTPServer is a real SMTP server (Python aiosmtpd) that stores every
// message it receives.
type SMTPServer struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// URL is the smtp:// or smtps:// URL of the server, with credentials.
	URL string
	// TLSConfig trusts the server's self-signed certificate.
	TLSConfig *tls.Config
	dir       string
}

// ReceivedMail is one message as the server received it.
type ReceivedMail struct {
	From string   `json:"from"`
	To   []string `json:"to"`
	Data string   `json:"data"` // the raw message, headers and body
}

// Message parses the raw message.
func (m ReceivedMail) Message(t testing.TB) *mail.Message {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatalf("parse received mail: %v", err)
	}
	return msg
}

const smtpScript = `
import json, os, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

outdir, host, port, mode, certfile, keyfile, user, password = sys.argv[1:9]

class Handler:
    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        name = "%020d" % time.time_ns()
        tmp = os.path.join(outdir, "." + name + ".tmp")
        with open(tmp, "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos, "data": data}, f)
        os.rename(tmp, os.path.join(outdir, name + ".json"))
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok)

kw = {}
if mode in ("starttls", "implicit"):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certfile, keyfile)
    if mode == "starttls":
        kw["tls_context"] = ctx
        kw["require_starttls"] = True
    else:
        kw["ssl_context"] = ctx
if user:
    kw["authenticator"] = authenticator
    kw["auth_required"] = True
    # aiosmtpd does not see implicit TLS as TLS; STARTTLS is checked.
    kw["auth_require_tls"] = mode == "starttls"
c = Controller(Handler(), hostname=host, port=int(port), **kw)
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
`

// python returns the Debian python (aiosmtpd comes from apt), not a
// version manager's shim.
func python(t testing.TB) string {
	for _, p := range []string{"/usr/bin/python3"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return NeedTool(t, "python3")
}

// StartSMTP starts an SMTP server on a free loopback port for the test's
// duration. Under SEALPRINT_INTEGRATION=1 a missing aiosmtpd fails the
// test; otherwise it is skipped.
func StartSMTP(t testing.TB, opts SMTPOptions) *SMTPServer {
	t.Helper()
	py := python(t)
	if err := exec.Command(py, "-c", "import aiosmtpd").Run(); err != nil {
		if Integration() {
			t.Fatalf("python3-aiosmtpd is not installed (scripts/test installs it)")
		}
		t.Skip("python3-aiosmtpd not installed")
	}
	dir := t.TempDir()
	mails := filepath.Join(dir, "mail")
	if err := os.Mkdir(mails, 0o700); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "smtpd.py")
	if err := os.WriteFile(script, []byte(smtpScript), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &SMTPServer{dir: mails}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if opts.TLS != "" {
		s.TLSConfig = SelfSignedCert(t, certFile, keyFile)
	}
	port := FreePort(t)
	s.Addr = "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(py, script, mails, "127.0.0.1", strconv.Itoa(port), opts.TLS, certFile, keyFile, opts.User, opts.Password)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "smtpd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("start aiosmtpd: %q %v", line, err)
	}
	scheme := "smtp"
	if opts.TLS == "implicit" {
		scheme = "smtps"
	}
	cred := ""
	if opts.User != "" {
		cred = opts.User + ":" + opts.Password + "@"
	}
	s.URL = scheme + "://" + cred + s.Addr
	return s
}

// Messages returns the messages received so far, oldest first.
func (s *SMTPServer) Messages(t testing.TB) []ReceivedMail {
	t.Helper()
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []ReceivedMail
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(s.dir, n))
		if err != nil {
			t.Fatal(err)
		}
		var m ReceivedMail
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// WaitMessages waits until at least n messages arrived (up to a minute)
// and returns them all.
func (s *SMTPServer) WaitMessages(t testing.TB, n int) []ReceivedMail {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		msgs := s.Messages(t)
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("SMTP server received %d messages, want %d", len(msgs), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitMessage waits (up to a minute) for a message, among those after the
// first skip received, for which match is true, and returns it. Tests use it
// where other mail (a drop notification sent in the background) may arrive
// in between.
func (s *SMTPServer) WaitMessage(t testing.TB, skip int, match func(ReceivedMail) bool) ReceivedMail {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		msgs := s.Messages(t)
		for i := skip; i < len(msgs); i++ {
			if match(msgs[i]) {
				return msgs[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("SMTP server received %d messages, none after the first %d matches", len(msgs), skip)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SelfSignedCert writes a certificate and key (PEM) for 127.0.0.1 and
// localhost and returns a client TLS config that trusts it.
func SelfSignedCert(t testing.TB, certFile, keyFile string) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{RootCAs: pool}
}
