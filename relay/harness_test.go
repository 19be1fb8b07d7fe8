package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/mail"
	"github.com/sealprint/sealprint/relayapi"
)

// testClock is an injected clock the tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeMail records messages instead of sending them.
type fakeMail struct {
	ch chan *mail.Message
}

func (f *fakeMail) Send(ctx context.Context, m *mail.Message) error {
	f.ch <- m
	return nil
}

// next returns the next mail, failing the test if none comes.
func (f *fakeMail) next(t *testing.T) *mail.Message {
	t.Helper()
	select {
	case m := <-f.ch:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no mail sent")
		return nil
	}
}

// none checks that no mail is waiting (after the server's mails are
// flushed by Close or waitMail).
func (f *fakeMail) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-f.ch:
		t.Fatalf("unexpected mail %q to %v", m.Subject, m.To)
	default:
	}
}

// harness is one relay served by httptest, with one enrolled sender.
type harness struct {
	t      *testing.T
	dir    string
	data   DataDir
	srv    *Server
	ts     *httptest.Server
	clock  *testClock
	mail   *fakeMail
	token  string
	sender *Sender
	closer io.Closer
}

// cheapCode keeps access-code hashing fast in tests; TestCodeHashDefault
// covers the real parameters.
var cheapCode = &CodeParams{Time: 1, Memory: 64, Threads: 1}

func newHarness(t *testing.T, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir()}
	h.data = DataDir{Root: h.dir}
	cfg, closer, err := h.data.Open()
	if err != nil {
		t.Fatal(err)
	}
	h.closer = closer
	h.clock = &testClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	h.mail = &fakeMail{ch: make(chan *mail.Message, 100)}
	cfg.Now = h.clock.Now
	cfg.Mail = h.mail
	cfg.MailFrom = "relay@relay.example"
	cfg.MaxSize = 1 << 20
	cfg.CodeParams = cheapCode
	cfg.PublicURL = "https://relay.example"
	for _, o := range opts {
		o(&cfg)
	}
	h.srv, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.srv.Mount(mux)
	h.ts = httptest.NewServer(h.srv.Wrap(mux))
	t.Cleanup(h.stop)
	h.sender, h.token = h.enrol("Dr Durand", "durand@hospital.example")
	return h
}

// stop stops the relay and releases its data dir (and is a no-op the
// second time), as stopping the process would.
func (h *harness) stop() {
	if h.closer == nil {
		return
	}
	h.ts.Close()
	h.srv.Close()
	h.closer.Close()
	h.closer = nil
}

// enrol creates a sender and returns it with its token.
func (h *harness) enrol(name, email string) (*Sender, string) {
	h.t.Helper()
	snd, tok, err := CreateSender(context.Background(), h.srv.store, name, email, h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return snd, tok
}

// waitMail waits for the notification mails in flight.
func (h *harness) waitMail() { h.srv.mailWG.Wait() }

// do sends a request; body may be nil, []byte, string or a value to encode
// as JSON. It returns the status and the body.
func (h *harness) do(method, path string, body any, hdr ...string) (*http.Response, []byte) {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.ts.URL+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, out
}

// auth returns the header pair of the harness sender's token.
func (h *harness) auth() []string { return []string{"Authorization", "Bearer " + h.token} }

// expect checks a response status and returns the body.
func expect(t *testing.T, resp *http.Response, body []byte, status int) []byte {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	return body
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// create makes a drop for data with req's options (Size and SHA256 are
// filled in when empty).
func (h *harness) create(data []byte, req relayapi.CreateDropRequest) relayapi.CreateDropResponse {
	h.t.Helper()
	if req.Size == 0 {
		req.Size = int64(len(data))
	}
	if req.SHA256 == "" {
		req.SHA256 = hexSHA(data)
	}
	if req.Mode == "" {
		req.Mode = "key"
	}
	resp, body := h.do("POST", "/api/v1/drops", req, h.auth()...)
	return decode[relayapi.CreateDropResponse](h.t, expect(h.t, resp, body, http.StatusCreated))
}

// tusCreate creates the upload of drop id with the given length.
func (h *harness) tusCreate(id string, length int64, hdr ...string) (*http.Response, []byte) {
	h.t.Helper()
	hdr = append(hdr, "Tus-Resumable", "1.0.0", "Upload-Length", strconv.FormatInt(length, 10),
		"Upload-Metadata", "drop "+base64.StdEncoding.EncodeToString([]byte(id)))
	return h.do("POST", "/api/v1/uploads/", nil, hdr...)
}

// patch sends bytes at offset to the upload of drop id.
func (h *harness) patch(id string, offset int64, data []byte, hdr ...string) (*http.Response, []byte) {
	h.t.Helper()
	hdr = append(hdr, "Tus-Resumable", "1.0.0", "Upload-Offset", strconv.FormatInt(offset, 10),
		"Content-Type", "application/offset+octet-stream")
	return h.do("PATCH", "/api/v1/uploads/"+id, data, hdr...)
}

// upload sends all of data to the upload of drop id.
func (h *harness) upload(id string, data []byte) {
	h.t.Helper()
	resp, body := h.tusCreate(id, int64(len(data)), h.auth()...)
	expect(h.t, resp, body, http.StatusCreated)
	resp, body = h.patch(id, 0, data, h.auth()...)
	expect(h.t, resp, body, http.StatusNoContent)
}

// complete posts complete and returns the response.
func (h *harness) complete(id string) (*http.Response, []byte) {
	h.t.Helper()
	return h.do("POST", "/api/v1/drops/"+id+"/complete", nil, h.auth()...)
}

// ready creates, uploads and completes a drop of data.
func (h *harness) ready(data []byte, req relayapi.CreateDropRequest) string {
	h.t.Helper()
	c := h.create(data, req)
	h.upload(c.ID, data)
	resp, body := h.complete(c.ID)
	expect(h.t, resp, body, http.StatusOK)
	return c.ID
}

// status reads the sender's status of a drop.
func (h *harness) status(id string) relayapi.DropStatus {
	h.t.Helper()
	resp, body := h.do("GET", "/api/v1/drops/"+id+"/status", nil, h.auth()...)
	return decode[relayapi.DropStatus](h.t, expect(h.t, resp, body, http.StatusOK))
}

// blobExists reports whether the drop's ciphertext file is on disk.
func (h *harness) blobExists(id string) bool {
	_, err := os.Stat(fmt.Sprintf("%s/%s/%s", h.data.Blobs(), id[:2], id))
	return err == nil
}

// auditEvents reads the audit log's events.
func (h *harness) auditEvents() []AuditEvent {
	h.t.Helper()
	b, err := os.ReadFile(h.data.AuditLog())
	if err != nil {
		h.t.Fatal(err)
	}
	var out []AuditEvent
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) > 0 {
			out = append(out, decode[AuditEvent](h.t, line))
		}
	}
	return out
}

// hasEvent reports whether the audit log has event for drop.
func (h *harness) hasEvent(event, drop string) bool {
	for _, e := range h.auditEvents() {
		if e.Event == event && e.Drop == drop {
			return true
		}
	}
	return false
}

func intp(n int) *int { return &n }

func base64StdEncode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// auditLogText returns the whole audit log.
func (h *harness) auditLogText() string {
	b, err := os.ReadFile(h.data.AuditLog())
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}
