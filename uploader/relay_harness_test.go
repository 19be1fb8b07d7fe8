package uploader

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealprint/sealprint/relay"
)

// fakeRelay is the real relay (relay.New on its embedded data dir) served
// over TLS in-process, with a test hook in front and a counter of the
// upload bytes it receives. It can be restarted on the same address and
// data, as a relay process restart would.
type fakeRelay struct {
	t       testing.TB
	dir     string
	token   string
	addr    string
	srv     *httptest.Server
	relay   *relay.Server
	closer  io.Closer
	caFile  string
	cert    tls.Certificate
	patched atomic.Int64 // PATCH body bytes received, re-sent ones included
	logs    *lockedBuffer

	// hook, if set, may answer a request instead of the relay.
	hook func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeRelay(t testing.TB) *fakeRelay {
	t.Helper()
	f := &fakeRelay{t: t, dir: t.TempDir()}
	f.caFile = filepath.Join(f.dir, "relay-ca.pem")
	f.cert = newRelayCert(t, f.caFile)
	f.start("127.0.0.1:0")
	st, err := relay.DataDir{Root: filepath.Join(f.dir, "data")}.OpenStore()
	if err != nil {
		t.Fatal(err)
	}
	_, f.token, err = relay.CreateSender(context.Background(), st, "Dr Durand", "durand@hospital.example", time.Now())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.stop)
	return f
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (f *fakeRelay) URL() string { return "https://" + f.addr }

// start serves on addr.
func (f *fakeRelay) start(addr string) {
	f.t.Helper()
	cfg, closer, err := relay.DataDir{Root: filepath.Join(f.dir, "data")}.Open()
	if err != nil {
		f.t.Fatal(err)
	}
	cfg.CodeParams = &relay.CodeParams{Time: 1, Memory: 64, Threads: 1}
	// The relay's log is shown when a test fails (an internal error's cause).
	if f.logs == nil {
		f.logs = &lockedBuffer{}
		f.t.Cleanup(func() {
			if f.t.Failed() {
				f.t.Logf("relay log:\n%s", f.logs.String())
			}
		})
	}
	cfg.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f.relay, err = relay.New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.closer = closer
	mux := http.NewServeMux()
	f.relay.Mount(mux)
	inner := f.relay.Wrap(mux)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.hook != nil && f.hook(w, r) {
			return
		}
		if r.Method == http.MethodPatch {
			r.Body = &countingBody{r.Body, &f.patched}
		}
		inner.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.srv = httptest.NewUnstartedServer(h)
	f.srv.Listener = l
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{f.cert}}
	f.srv.StartTLS()
	f.addr = l.Addr().String()
}

func (f *fakeRelay) stop() {
	f.srv.CloseClientConnections()
	f.srv.Close()
	f.relay.Close()
	f.closer.Close()
}

// restart stops the relay (dropping connections, closing its database)
// and starts it again on the same address and data.
func (f *fakeRelay) restart() {
	f.stop()
	f.start(f.addr)
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// newRelayCert makes a test CA (written to caFile) and a relay
// certificate for 127.0.0.1 and localhost signed by it.
func newRelayCert(t testing.TB, caFile string) tls.Certificate {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test relay CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	parsed, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: parsed}
}
