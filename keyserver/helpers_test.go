package keyserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/sealprint/sealprint/internal/mail"
)

// newEntity makes a fresh Ed25519 key with one user ID per address.
func newEntity(t testing.TB, name string, emails ...string) *openpgp.Entity {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
	e, err := openpgp.NewEntity(name, "", emails[0], cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, em := range emails[1:] {
		if err := e.AddUserId(name, "", em, cfg); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func armorPublic(t testing.TB, e *openpgp.Entity) string {
	t.Helper()
	var b bytes.Buffer
	c, err := ParseCert(bytes.NewReader(serializePublic(t, e)))
	if err != nil {
		t.Fatal(err)
	}
	c.Armor(&b, nil)
	return b.String()
}

func serializePublic(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := e.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fakeMail records messages instead of sending them.
type fakeMail struct {
	mu   sync.Mutex
	msgs []*mail.Message
}

func (f *fakeMail) Send(ctx context.Context, m *mail.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, m)
	return nil
}

func (f *fakeMail) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs)
}

func (f *fakeMail) last(t testing.TB) *mail.Message {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.msgs) == 0 {
		t.Fatal("no mail sent")
	}
	return f.msgs[len(f.msgs)-1]
}

var linkPattern = regexp.MustCompile(`https?://\S+/(?:verify|manage)/[A-Za-z0-9_-]{43}`)

// linkIn returns the token link of a mail body.
func linkIn(t testing.TB, body string) string {
	t.Helper()
	l := linkPattern.FindString(body)
	if l == "" {
		t.Fatalf("no link in mail:\n%s", body)
	}
	return l
}

type testServer struct {
	*httptest.Server
	store *FileStore
	mail  *fakeMail
	h     *Handler
}

func newTestServer(t testing.TB, mod func(*Options)) *testServer {
	t.Helper()
	store, err := OpenFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fm := &fakeMail{}
	ts := &testServer{store: store, mail: fm}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts := Options{PublicURL: srv.URL, Mail: fm, MailFrom: "keys@relay.test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&opts)
	}
	ts.h = NewHandler(store, opts)
	Mount(mux, ts.h)
	ts.Server = srv
	return ts
}

func (ts *testServer) postJSON(t testing.TB, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(ts.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (ts *testServer) get(t testing.TB, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// follow opens a mailed link and submits its confirmation form.
func follow(t testing.TB, link string) string {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", link, resp.StatusCode)
	}
	resp, err = http.Post(link, "application/x-www-form-urlencoded", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %s", link, resp.StatusCode, b)
	}
	return string(b)
}

// upload posts a key and asks for verification of addrs; it returns the
// upload response.
func (ts *testServer) upload(t testing.TB, armored string) map[string]any {
	t.Helper()
	code, out := ts.postJSON(t, "/vks/v1/upload", map[string]string{"keytext": armored})
	if code != 200 {
		t.Fatalf("upload: %d %v", code, out)
	}
	return out
}

func fixedClock(t0 time.Time) (func() time.Time, func(time.Duration)) {
	var mu sync.Mutex
	now := t0
	return func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
}
