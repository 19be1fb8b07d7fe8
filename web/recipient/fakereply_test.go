package recipient_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The fake relay's side of secure replies (docs/relay-api.md, Replies):
// reply grant, reply creation, a minimal tus endpoint and completion. A
// drop takes replies when replyMax > 0; replyGone makes the relay answer
// the grant request 410, as for a drop withdrawn meanwhile.

// fakeReply is one reply the page posted.
type fakeReply struct {
	size     int64
	sha256   string
	received []byte
	complete bool
}

// serveReply answers the reply endpoints of drop d; false when action is
// none of them. f.mu is held.
func (f *fakeRelay) serveReply(w http.ResponseWriter, r *http.Request, d *fakeDrop, action string) bool {
	switch {
	case action == "reply-grant" && r.Method == http.MethodPost:
		var req struct {
			Token    string `json:"token"`
			ReplyKey string `json:"reply_key"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil || req.Token == "" || len(req.ReplyKey) != 64 {
			writeJSON(w, 400, map[string]string{"error": "bad grant request"})
			return true
		}
		if d.replyGone {
			writeJSON(w, 410, map[string]string{"error": "drop revoked by its sender", "state": "revoked"})
			return true
		}
		writeJSON(w, 200, map[string]any{"grant": "grant-" + d.id, "expires_at": d.expires, "max_size": d.replyMax})
	case action == "replies" && r.Method == http.MethodPost:
		if r.Header.Get("X-Sealprint-Reply-Grant") != "grant-"+d.id {
			writeJSON(w, 403, map[string]string{"error": "no grant"})
			return true
		}
		var req struct {
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil || req.Size <= 0 || req.Size > d.replyMax {
			writeJSON(w, 413, map[string]string{"error": "too large"})
			return true
		}
		rid := randomID(16)
		if f.replies == nil {
			f.replies = map[string]*fakeReply{}
		}
		f.replies[rid] = &fakeReply{size: req.Size, sha256: req.SHA256}
		writeJSON(w, 201, map[string]any{"id": rid, "upload_url": "/api/v1/uploads/" + rid,
			"complete_url": "/api/v1/drops/" + d.id + "/replies/" + rid + "/complete", "expires_at": d.expires})
	case strings.HasPrefix(action, "replies/") && strings.HasSuffix(action, "/complete") && r.Method == http.MethodPost:
		rep := f.replies[strings.TrimSuffix(strings.TrimPrefix(action, "replies/"), "/complete")]
		if rep == nil || int64(len(rep.received)) != rep.size {
			writeJSON(w, 409, map[string]string{"error": "upload unfinished"})
			return true
		}
		rep.complete = true
		writeJSON(w, 200, map[string]any{"state": "ready"})
	default:
		return false
	}
	return true
}

// fakeTus is the tus endpoint of the fake relay: creation then PATCHes.
type fakeTus struct{ relay *fakeRelay }

func (t fakeTus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := t.relay
	f.mu.Lock()
	defer f.mu.Unlock()
	id := strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v1/uploads"), "/")
	switch {
	case id == "" && r.Method == http.MethodPost:
		var rid string
		for _, kv := range strings.Split(r.Header.Get("Upload-Metadata"), ",") {
			if k, v, _ := strings.Cut(kv, " "); k == "drop" {
				rid = mustB64Std(v)
			}
		}
		rep := f.replies[rid]
		if rep == nil || r.Header.Get("Upload-Length") != strconv.FormatInt(rep.size, 10) {
			http.Error(w, "no such reply", 404)
			return
		}
		w.Header().Set("Location", "/api/v1/uploads/"+rid)
		w.WriteHeader(201)
	case r.Method == http.MethodPatch:
		rep := f.replies[id]
		if rep == nil || r.Header.Get("Upload-Offset") != strconv.Itoa(len(rep.received)) {
			http.Error(w, "conflict", http.StatusConflict)
			return
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, rep.size-int64(len(rep.received))))
		rep.received = append(rep.received, b...)
		w.Header().Set("Upload-Offset", fmt.Sprint(len(rep.received)))
		w.WriteHeader(204)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// mustB64Std decodes standard base64, "" when it is not.
func mustB64Std(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return ""
	}
	return string(b)
}
