package recipient_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// fakeRelay implements the recipient side of docs/relay-api.md (public info,
// access code, download, receipt) over in-memory drops, so the page can be
// tested in a real browser on its own.
type fakeRelay struct {
	mu      sync.Mutex
	drops   map[string]*fakeDrop
	replies map[string]*fakeReply // by reply id (fakereply_test.go)
}

type fakeDrop struct {
	relay        *fakeRelay
	id           string
	mode         string
	ciphertext   []byte
	code         string
	failures     int
	grants       map[string]bool
	state        string // ready, expired, revoked, exhausted, locked
	downloadsMax int
	downloads    int
	expires      time.Time
	sender       string
	senderKey    string
	senderFpr    string
	receipts     []string
	linkProofs   []string // the receipts' link_proof ("" for none)
	replyMax     int64    // > 0: the drop takes replies up to this size
	replyGone    bool     // the reply grant is refused with 410
}

func newFakeRelay() *fakeRelay { return &fakeRelay{drops: map[string]*fakeDrop{}} }

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (f *fakeRelay) add(d *fakeDrop) *fakeDrop {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d.id == "" {
		d.id = randomID(16)
	}
	if d.state == "" {
		d.state = "ready"
	}
	if d.expires.IsZero() {
		d.expires = time.Now().Add(7 * 24 * time.Hour)
	}
	d.grants = map[string]bool{}
	d.relay = f
	f.drops[d.id] = d
	return d
}

func (f *fakeRelay) stateOf(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drops[id].state
}

func (f *fakeRelay) setState(id, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drops[id].state = state
}

func (f *fakeRelay) linkProofsOf(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.drops[id].linkProofs...)
}

func (f *fakeRelay) receiptsOf(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.drops[id].receipts...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeRelay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/api/v1/drops/")
	id, action, _ := strings.Cut(rest, "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.drops[id]
	if d == nil {
		writeJSON(w, 404, map[string]string{"error": "no such drop"})
		return
	}
	if d.state == "locked" {
		writeJSON(w, 423, map[string]string{"error": "locked", "state": "locked"})
		return
	}
	if d.state != "ready" {
		writeJSON(w, 410, map[string]string{"error": "gone", "state": d.state})
		return
	}
	switch {
	case action == "" && r.Method == http.MethodGet:
		left := -1
		if d.downloadsMax > 0 {
			left = d.downloadsMax - d.downloads
		}
		writeJSON(w, 200, map[string]any{
			"id": d.id, "state": d.state, "size": len(d.ciphertext), "expires_at": d.expires.UTC().Format(time.RFC3339),
			"downloads_left": left, "needs_code": d.code != "", "mode": d.mode,
			"sender": d.sender, "sender_key": d.senderKey, "sender_fingerprint": d.senderFpr,
			"reply_max_size": d.replyMax,
		})
	case action == "code" && r.Method == http.MethodPost:
		var req struct{ Code string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			writeJSON(w, 400, map[string]string{"error": "bad json"})
			return
		}
		if d.code == "" || req.Code != d.code {
			d.failures++
			if d.failures >= 5 {
				d.state = "locked"
				writeJSON(w, 423, map[string]string{"error": "locked"})
				return
			}
			writeJSON(w, 403, map[string]any{"error": "wrong code", "attempts_left": 5 - d.failures})
			return
		}
		g := randomID(24)
		d.grants[g] = true
		writeJSON(w, 200, map[string]any{"grant": g, "expires_in": 300})
	case action == "blob" && r.Method == http.MethodGet:
		if d.code != "" && !d.grants[r.Header.Get("X-Sealprint-Grant")] {
			writeJSON(w, 403, map[string]string{"error": "grant required"})
			return
		}
		d.downloads++
		if d.downloadsMax > 0 && d.downloads >= d.downloadsMax {
			d.state = "exhausted"
		}
		sum := sha256.Sum256(d.ciphertext)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", fmt.Sprint(len(d.ciphertext)))
		w.Header().Set("X-Sealprint-SHA256", hex.EncodeToString(sum[:]))
		w.Header().Set("X-Sealprint-Receipt-Token", fmt.Sprint("rt-", d.downloads))
		w.Write(d.ciphertext)
	case action == "receipt" && r.Method == http.MethodPost:
		var req struct {
			Proof     string
			LinkProof string `json:"link_proof"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			writeJSON(w, 400, map[string]string{"error": "bad json"})
			return
		}
		d.receipts = append(d.receipts, req.Proof)
		d.linkProofs = append(d.linkProofs, req.LinkProof)
		w.WriteHeader(204)
	default:
		if !f.serveReply(w, r, d, action) {
			writeJSON(w, 405, map[string]string{"error": "method not allowed"})
		}
	}
}

// recorder keeps every request the server received (line, headers, body) as
// an access log, to prove what the browser did and did not send.
type recorder struct {
	mu   sync.Mutex
	log  bytes.Buffer
	next http.Handler
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec.mu.Lock()
	fmt.Fprintf(&rec.log, "%s %s %s\n", r.Method, r.RequestURI, r.Proto)
	for k, vs := range r.Header {
		fmt.Fprintf(&rec.log, "  %s: %s\n", k, strings.Join(vs, ", "))
	}
	if len(body) > 0 {
		fmt.Fprintf(&rec.log, "  body: %s\n", body)
	}
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) String() string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.log.String()
}
