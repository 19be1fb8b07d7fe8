package uploader

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/filestore"
	tushandler "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	expslog "golang.org/x/exp/slog"
)

// fakeRelay is a small in-process relay for the client's tests: the drops
// API subset the uploader uses and a real tusd upload handler on a
// filestore, over TLS. It can be restarted on the same address and data.
type fakeRelay struct {
	t       testing.TB
	dir     string
	token   string
	addr    string
	srv     *httptest.Server
	caFile  string
	cert    tls.Certificate
	patched atomic.Int64 // PATCH body bytes received, re-sent ones included

	mu    sync.Mutex
	drops map[string]*fakeDrop
	// hook, if set, may answer a request instead of the relay.
	hook func(w http.ResponseWriter, r *http.Request) bool
}

type fakeDrop struct {
	size  int64
	sum   string
	state string
}

const testToken = "test-token-0123456789"

func newFakeRelay(t testing.TB) *fakeRelay {
	t.Helper()
	f := &fakeRelay{t: t, dir: t.TempDir(), token: testToken, drops: map[string]*fakeDrop{}}
	f.start("127.0.0.1:0")
	t.Cleanup(func() { f.srv.Close() })
	return f
}

func (f *fakeRelay) URL() string { return "https://" + f.addr }

// start serves on addr (same data, same certificate after a restart).
func (f *fakeRelay) start(addr string) {
	f.t.Helper()
	store := filestore.New(f.dir)
	comp := tushandler.NewStoreComposer()
	store.UseIn(comp)
	memorylocker.New().UseIn(comp)
	th, err := tushandler.NewHandler(tushandler.Config{
		BasePath:      "/api/v1/uploads/",
		StoreComposer: comp,
		Logger:        expslog.New(expslog.NewTextHandler(io.Discard, nil)),
		PreUploadCreateCallback: func(ev tushandler.HookEvent) (tushandler.HTTPResponse, tushandler.FileInfoChanges, error) {
			id := ev.Upload.MetaData["drop"]
			f.mu.Lock()
			d := f.drops[id]
			f.mu.Unlock()
			if d == nil || d.size != ev.Upload.Size {
				return tushandler.HTTPResponse{}, tushandler.FileInfoChanges{}, tushandler.NewError("ERR_DROP", "no such drop or wrong size", http.StatusBadRequest)
			}
			return tushandler.HTTPResponse{}, tushandler.FileInfoChanges{ID: id}, nil
		},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/drops", f.create)
	mux.HandleFunc("POST /api/v1/drops/{id}/complete", f.complete)
	mux.HandleFunc("GET /api/v1/drops/{id}/blob", f.blob)
	mux.HandleFunc("GET /api/v1/drops/{id}/status", f.status)
	mux.Handle("/api/v1/uploads/", http.StripPrefix("/api/v1/uploads/", th))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.hook != nil && f.hook(w, r) {
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/v1/") && r.Header.Get("Authorization") != "Bearer "+f.token &&
			!strings.HasSuffix(r.URL.Path, "/blob") {
			http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/uploads/" {
			id, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Header.Get("Upload-Metadata"), "drop "))
			if _, err := os.Stat(filepath.Join(f.dir, string(id)+".info")); err == nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusConflict)
				io.WriteString(w, `{"error":"upload exists"}`)
				return
			}
		}
		if r.Method == http.MethodPatch {
			r.Body = &countingBody{r.Body, &f.patched}
		}
		mux.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		f.t.Fatal(err)
	}
	if f.caFile == "" {
		f.caFile = filepath.Join(f.dir, "relay-ca.pem")
		f.cert = newRelayCert(f.t, f.caFile)
	}
	f.srv = httptest.NewUnstartedServer(h)
	f.srv.Listener = l
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{f.cert}}
	f.srv.StartTLS()
	f.addr = l.Addr().String()
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

// restart stops the server (dropping connections) and starts it again.
func (f *fakeRelay) restart() {
	f.srv.CloseClientConnections()
	f.srv.Close()
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

func (f *fakeRelay) create(w http.ResponseWriter, r *http.Request) {
	var req CreateDropRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil || req.Size < 0 {
		writeJSON(w, 400, map[string]string{"error": "bad request"})
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	f.mu.Lock()
	f.drops[id] = &fakeDrop{size: req.Size, sum: req.SHA256, state: "pending"}
	f.mu.Unlock()
	writeJSON(w, 201, map[string]any{"id": id, "state": "pending", "upload_url": "/api/v1/uploads/" + id,
		"link": f.URL() + "/d/" + id})
}

func (f *fakeRelay) data(id string) ([]byte, error) {
	info, err := os.ReadFile(filepath.Join(f.dir, id+".info"))
	if err != nil {
		return nil, err
	}
	var fi struct{ Size int64 }
	json.Unmarshal(info, &fi)
	b, err := os.ReadFile(filepath.Join(f.dir, id))
	if err == nil && int64(len(b)) != fi.Size {
		return nil, errors.New("unfinished")
	}
	return b, err
}

func (f *fakeRelay) complete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	d := f.drops[id]
	f.mu.Unlock()
	if d == nil {
		writeJSON(w, 404, map[string]string{"error": "no such drop"})
		return
	}
	b, err := f.data(id)
	if err != nil {
		writeJSON(w, 409, map[string]string{"error": "upload unfinished"})
		return
	}
	sum := sha256.Sum256(b)
	if int64(len(b)) != d.size || hex.EncodeToString(sum[:]) != d.sum {
		writeJSON(w, 422, map[string]string{"error": "size or hash mismatch"})
		return
	}
	f.mu.Lock()
	d.state = "ready"
	f.mu.Unlock()
	writeJSON(w, 200, map[string]string{"id": id, "state": "ready"})
}

func (f *fakeRelay) status(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	d := f.drops[id]
	f.mu.Unlock()
	if d == nil {
		writeJSON(w, 404, map[string]string{"error": "no such drop"})
		return
	}
	writeJSON(w, 200, map[string]any{"id": id, "state": d.state, "size": d.size})
}

func (f *fakeRelay) blob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	b, err := f.data(id)
	if err != nil {
		writeJSON(w, 404, map[string]string{"error": "no such drop"})
		return
	}
	sum := sha256.Sum256(b)
	w.Header().Set("X-Sealprint-SHA256", hex.EncodeToString(sum[:]))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(b)
}
