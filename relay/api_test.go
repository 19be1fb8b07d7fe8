package relay

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/relayapi"
)

func TestSendAndDownload(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 100_000)
	c := h.create(data, relayapi.CreateDropRequest{Recipients: []string{"martin@police.example"}})
	if c.State != StatePending || c.UploadURL != "/api/v1/uploads/"+c.ID || c.Link != "https://relay.example/d/"+c.ID {
		t.Fatalf("create response %+v", c)
	}
	if !relayapi.ValidDropID(c.ID) {
		t.Fatalf("id %q is not 22 base64url characters", c.ID)
	}
	if want := h.clock.Now().Add(DefaultExpiry); !c.ExpiresAt.Equal(want) {
		t.Errorf("expires_at %v, want %v", c.ExpiresAt, want)
	}

	// Info before upload: pending; download refused.
	resp, body := h.do("GET", "/api/v1/drops/"+c.ID, nil)
	if info := decode[relayapi.DropInfo](t, expect(t, resp, body, 200)); info.State != StatePending {
		t.Fatalf("state %q before upload", info.State)
	}
	resp, body = h.do("GET", "/api/v1/drops/"+c.ID+"/blob", nil)
	expect(t, resp, body, http.StatusConflict)

	// Resumable upload in two pieces, resumed after a HEAD.
	resp, body = h.tusCreate(c.ID, int64(len(data)), h.auth()...)
	expect(t, resp, body, http.StatusCreated)
	if loc := resp.Header.Get("Location"); loc != "https://relay.example/api/v1/uploads/"+c.ID {
		t.Fatalf("Location %q", loc)
	}
	resp, body = h.patch(c.ID, 0, data[:40_000], h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = h.complete(c.ID)
	expect(t, resp, body, http.StatusConflict)
	resp, body = h.do("HEAD", "/api/v1/uploads/"+c.ID, nil, append(h.auth(), "Tus-Resumable", "1.0.0")...)
	expect(t, resp, body, http.StatusOK)
	if off := resp.Header.Get("Upload-Offset"); off != "40000" {
		t.Fatalf("Upload-Offset %q", off)
	}
	resp, body = h.patch(c.ID, 40_000, data[40_000:], h.auth()...)
	expect(t, resp, body, http.StatusNoContent)

	resp, body = h.complete(c.ID)
	if got := decode[relayapi.CompleteResponse](t, expect(t, resp, body, 200)); got.State != StateReady || got.ID != c.ID || got.Checkpoint == nil {
		t.Fatalf("complete answered %s", body)
	}
	// Completing again is harmless.
	resp, body = h.complete(c.ID)
	expect(t, resp, body, 200)
	// The upload is gone; the blob is in place.
	if !h.blobExists(c.ID) {
		t.Fatal("blob not stored")
	}
	resp, body = h.do("HEAD", "/api/v1/uploads/"+c.ID, nil, append(h.auth(), "Tus-Resumable", "1.0.0")...)
	expect(t, resp, body, http.StatusGone)

	resp, body = h.do("GET", "/api/v1/drops/"+c.ID, nil)
	info := decode[relayapi.DropInfo](t, expect(t, resp, body, 200))
	if info.State != StateReady || info.Size != int64(len(data)) || info.NeedsCode || info.Mode != "key" ||
		info.Sender != "Dr Durand" || info.DownloadsLeft == nil || *info.DownloadsLeft != DefaultDownloads {
		t.Fatalf("info %+v", info)
	}

	// HEAD tells the size and hash without counting a download.
	resp, body = h.do("HEAD", "/api/v1/drops/"+c.ID+"/blob", nil)
	if expect(t, resp, body, 200); resp.Header.Get("X-Sealprint-SHA256") != hexSHA(data) || h.status(c.ID).Downloads != 0 {
		t.Fatal("HEAD of the blob counted or lacked headers")
	}
	resp, body = h.do("GET", "/api/v1/drops/"+c.ID+"/blob", nil)
	expect(t, resp, body, 200)
	if !bytes.Equal(body, data) {
		t.Fatal("downloaded bytes differ")
	}
	if got := resp.Header.Get("X-Sealprint-SHA256"); got != hexSHA(data) {
		t.Errorf("X-Sealprint-SHA256 %q", got)
	}
	if resp.Header.Get("Content-Length") != "100000" || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("headers %v", resp.Header)
	}
	for k, v := range map[string]string{"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if resp.Header.Get(k) != v {
			t.Errorf("%s = %q", k, resp.Header.Get(k))
		}
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	st := h.status(c.ID)
	if st.Downloads != 1 || st.MaxDownloads != DefaultDownloads || st.State != StateReady || len(st.Receipts) != 0 {
		t.Fatalf("status %+v", st)
	}
	for _, ev := range []string{EventCreate, EventUpload, EventComplete, EventDownload} {
		if !h.hasEvent(ev, c.ID) {
			t.Errorf("audit log has no %s event", ev)
		}
	}
}

func TestCreateValidation(t *testing.T) {
	h := newHarness(t)
	good := `"size":10,"sha256":"` + strings.Repeat("ab", 32) + `","mode":"key"`
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"not json", `{`, 400},
		{"unknown field", `{` + good + `,"color":"red"}`, 400},
		{"trailing data", `{` + good + `}{}`, 400},
		{"no size", `{"sha256":"` + strings.Repeat("ab", 32) + `","mode":"key"}`, 400},
		{"negative size", `{"size":-1,"sha256":"` + strings.Repeat("ab", 32) + `","mode":"key"}`, 400},
		{"short sha", `{"size":10,"sha256":"abcd","mode":"key"}`, 400},
		{"bad mode", `{"size":10,"sha256":"` + strings.Repeat("ab", 32) + `","mode":"pigeon"}`, 400},
		{"bad recipient", `{` + good + `,"recipients":["not an address"]}`, 400},
		{"named recipient", `{` + good + `,"recipients":["Martin <m@p.example>"]}`, 400},
		{"too many recipients", `{` + good + `,"recipients":[` + strings.Repeat(`"a@b.example",`, MaxRecipients) + `"a@b.example"]}`, 400},
		{"expiry too long", `{` + good + `,"expires_in_seconds":99999999}`, 400},
		{"negative expiry", `{` + good + `,"expires_in_seconds":-5}`, 400},
		{"negative downloads", `{` + good + `,"max_downloads":-1}`, 400},
		{"short code", `{` + good + `,"access_code":"12"}`, 400},
		{"bad key", `{` + good + `,"sender_key":"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnope\n-----END PGP PUBLIC KEY BLOCK-----"}`, 400},
		{"long idempotency key", `{` + good + `,"idempotency_key":"` + strings.Repeat("k", 129) + `"}`, 400},
		{"oversize", `{"size":2000000,"sha256":"` + strings.Repeat("ab", 32) + `","mode":"key"}`, 413},
		{"huge body", `{` + good + `,"idempotency_key":"` + strings.Repeat("k", 70_000) + `"}`, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := h.do("POST", "/api/v1/drops", tc.body, h.auth()...)
			expect(t, resp, body, tc.status)
			if e := decode[relayapi.Error](t, body); e.Error == "" {
				t.Errorf("no error message in %s", body)
			}
		})
	}
}

func TestBadToken(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 10)
	id := h.ready(data, relayapi.CreateDropRequest{})
	body := relayapi.CreateDropRequest{Size: 10, SHA256: hexSHA(data), Mode: "key"}
	for _, hdr := range [][]string{
		nil,
		{"Authorization", "Bearer spt_wrong"},
		{"Authorization", "Basic " + h.token},
		{"Authorization", "Bearer " + strings.Repeat("x", 1000)},
	} {
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/api/v1/drops", body},
			{"GET", "/api/v1/drops/" + id + "/status", nil},
			{"POST", "/api/v1/drops/" + id + "/complete", nil},
			{"DELETE", "/api/v1/drops/" + id, nil},
			{"POST", "/api/v1/uploads/", nil},
			{"HEAD", "/api/v1/uploads/" + id, nil},
			{"PATCH", "/api/v1/uploads/" + id, nil},
		} {
			resp, b := h.do(req.method, req.path, req.body, hdr...)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with %v: status %d, want 401 (%s)", req.method, req.path, hdr, resp.StatusCode, b)
			}
		}
	}
	// Another sender's token sees nothing of this drop.
	_, other := h.enrol("Someone else", "")
	resp, b := h.do("GET", "/api/v1/drops/"+id+"/status", nil, "Authorization", "Bearer "+other)
	expect(t, resp, b, http.StatusNotFound)
	resp, b = h.do("DELETE", "/api/v1/drops/"+id, nil, "Authorization", "Bearer "+other)
	expect(t, resp, b, http.StatusNotFound)
}

func TestIdempotency(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 50)
	req := relayapi.CreateDropRequest{IdempotencyKey: "job-01H", Size: 50, SHA256: hexSHA(data), Mode: "key", AccessCode: "123456"}
	first := h.create(data, req)
	resp, body := h.do("POST", "/api/v1/drops", req, h.auth()...)
	again := decode[relayapi.CreateDropResponse](t, expect(t, resp, body, http.StatusOK))
	if again.ID != first.ID {
		t.Fatalf("same key gave drops %s and %s", first.ID, again.ID)
	}
	// A different sender with the same key gets its own drop.
	_, other := h.enrol("Other", "")
	resp, body = h.do("POST", "/api/v1/drops", req, "Authorization", "Bearer "+other)
	if o := decode[relayapi.CreateDropResponse](t, expect(t, resp, body, http.StatusCreated)); o.ID == first.ID {
		t.Fatal("another sender got the same drop")
	}
	// Still answers the same drop once ready.
	h.upload(first.ID, data)
	resp, body = h.complete(first.ID)
	expect(t, resp, body, 200)
	resp, body = h.do("POST", "/api/v1/drops", req, h.auth()...)
	if again := decode[relayapi.CreateDropResponse](t, expect(t, resp, body, http.StatusOK)); again.ID != first.ID || again.State != StateReady {
		t.Fatalf("retry after ready: %+v", again)
	}
}

func TestTamperedUpload(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 4096)
	c := h.create(data, relayapi.CreateDropRequest{})
	bad := bytes.Clone(data)
	bad[1000] ^= 1
	h.upload(c.ID, bad)
	resp, body := h.complete(c.ID)
	expect(t, resp, body, http.StatusUnprocessableEntity)
	if h.blobExists(c.ID) {
		t.Fatal("tampered data stored as blob")
	}
	if !h.hasEvent(EventUploadRejected, c.ID) {
		t.Error("no upload_rejected audit event")
	}
	// The upload was discarded: start again with the right bytes.
	resp, body = h.do("HEAD", "/api/v1/uploads/"+c.ID, nil, append(h.auth(), "Tus-Resumable", "1.0.0")...)
	expect(t, resp, body, http.StatusNotFound)
	h.upload(c.ID, data)
	resp, body = h.complete(c.ID)
	expect(t, resp, body, http.StatusOK)
}

func TestUploadRules(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 1000)
	c := h.create(data, relayapi.CreateDropRequest{})

	// Complete with no upload at all.
	resp, body := h.complete(c.ID)
	expect(t, resp, body, http.StatusConflict)
	// Length must be the drop's size.
	resp, body = h.tusCreate(c.ID, 999, h.auth()...)
	expect(t, resp, body, http.StatusBadRequest)
	// Deferred length is refused.
	resp, body = h.do("POST", "/api/v1/uploads/", nil, append(h.auth(), "Tus-Resumable", "1.0.0",
		"Upload-Defer-Length", "1", "Upload-Metadata", "drop "+b64(c.ID))...)
	if resp.StatusCode/100 == 2 {
		t.Fatalf("deferred length accepted: %d %s", resp.StatusCode, body)
	}
	// Missing or bad metadata.
	resp, body = h.do("POST", "/api/v1/uploads/", nil, append(h.auth(), "Tus-Resumable", "1.0.0", "Upload-Length", "1000")...)
	expect(t, resp, body, http.StatusBadRequest)
	resp, body = h.do("POST", "/api/v1/uploads/", nil, append(h.auth(), "Tus-Resumable", "1.0.0",
		"Upload-Length", "1000", "Upload-Metadata", "drop "+b64("../../etc/passwd"))...)
	expect(t, resp, body, http.StatusBadRequest)
	// Over the relay's max size: tusd refuses before our hook.
	resp, body = h.tusCreate(c.ID, 2<<20, h.auth()...)
	expect(t, resp, body, http.StatusRequestEntityTooLarge)
	// Another sender cannot upload into this drop.
	_, other := h.enrol("Other", "")
	resp, body = h.tusCreate(c.ID, 1000, "Authorization", "Bearer "+other)
	expect(t, resp, body, http.StatusNotFound)
	resp, body = h.patch(c.ID, 0, data, "Authorization", "Bearer "+other)
	expect(t, resp, body, http.StatusNotFound)
	// Unknown drop.
	resp, body = h.tusCreate("AAAAAAAAAAAAAAAAAAAAAA", 1000, h.auth()...)
	expect(t, resp, body, http.StatusNotFound)

	// Create once; a second create answers 409 and the client resumes.
	resp, body = h.tusCreate(c.ID, 1000, h.auth()...)
	expect(t, resp, body, http.StatusCreated)
	resp, body = h.tusCreate(c.ID, 1000, h.auth()...)
	expect(t, resp, body, http.StatusConflict)
	// A PATCH at the wrong offset is refused by tus.
	resp, body = h.patch(c.ID, 10, data[10:], h.auth()...)
	expect(t, resp, body, http.StatusConflict)
	// Writing past the declared length is refused.
	resp, body = h.patch(c.ID, 0, append(bytes.Clone(data), 1, 2, 3), h.auth()...)
	if resp.StatusCode/100 == 2 {
		t.Fatalf("upload past its length accepted: %d %s", resp.StatusCode, body)
	}
	resp, body = h.patch(c.ID, 0, data, h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = h.complete(c.ID)
	expect(t, resp, body, http.StatusOK)
	// Uploading to a ready drop is refused.
	resp, body = h.tusCreate(c.ID, 1000, h.auth()...)
	expect(t, resp, body, http.StatusConflict)
	resp, body = h.patch(c.ID, 0, data, h.auth()...)
	expect(t, resp, body, http.StatusGone)
}

func TestUnknownDrop(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/api/v1/drops/AAAAAAAAAAAAAAAAAAAAAA", "/api/v1/drops/short",
		"/api/v1/drops/AAAAAAAAAAAAAAAAAAAAAA/blob", "/api/v1/nothing"} {
		resp, body := h.do("GET", p, nil)
		expect(t, resp, body, http.StatusNotFound)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	h := newHarness(t)
	resp, body := h.do("GET", "/healthz", nil)
	if expect(t, resp, body, 200); strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("healthz %q", body)
	}
	id := h.ready(randomBytes(t, 10), relayapi.CreateDropRequest{Recipients: []string{"martin@police.example"}})
	// Not public without a token; with one, only to its holder.
	resp, body = h.do("GET", "/metrics", nil)
	expect(t, resp, body, http.StatusNotFound)
	h.srv.cfg.MetricsToken = "metrics-secret"
	resp, body = h.do("GET", "/metrics", nil, "Authorization", "Bearer wrong")
	expect(t, resp, body, http.StatusUnauthorized)
	resp, body = h.do("GET", "/metrics", nil, "Authorization", "Bearer metrics-secret")
	expect(t, resp, body, 200)
	rec := httptest.NewRecorder()
	h.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "sealrelay_drops_created_total 1") {
		t.Fatalf("private metrics handler: %d", rec.Code)
	}
	for _, secret := range []string{id, "martin@police.example", "127.0.0.1", h.sender.ID} {
		if strings.Contains(string(body), secret) {
			t.Errorf("metrics name %q", secret)
		}
	}
	for _, want := range []string{"sealrelay_drops_created_total 1", "sealrelay_drops_ready_total 1", "sealrelay_http_requests_total"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func b64(s string) string {
	return base64StdEncode([]byte(s))
}

func TestRequestLogs(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	resp, _ := h.do("GET", "/api/v1/drops/AAAAAAAAAAAAAAAAAAAAAA?secret=xyz", nil, h.auth()...)
	id := resp.Header.Get("X-Request-Id")
	h.do("POST", "/api/v1/drops", "{", h.auth()...)
	out := logs.String()
	if id == "" || !strings.Contains(out, "request_id="+id) || !strings.Contains(out, "status=404") {
		t.Fatalf("logs:\n%s", out)
	}
	if strings.Contains(out, "xyz") || strings.Contains(out, h.token) {
		t.Fatalf("logs hold a query string or the token:\n%s", out)
	}
}

// A crash after the blob was stored but before the drop was marked ready
// is finished by the next complete.
func TestCompleteRecoversStoredBlob(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 500)
	c := h.create(data, relayapi.CreateDropRequest{})
	if err := h.srv.blobs.Put(context.Background(), c.ID, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	resp, body := h.complete(c.ID)
	expect(t, resp, body, http.StatusOK)
	resp, body = h.do("GET", "/api/v1/drops/"+c.ID+"/blob", nil)
	if expect(t, resp, body, http.StatusOK); !bytes.Equal(body, data) {
		t.Fatal("bytes differ")
	}
	// A wrong blob left behind is discarded, and the upload is needed.
	c = h.create(data, relayapi.CreateDropRequest{})
	if err := h.srv.blobs.Put(context.Background(), c.ID, bytes.NewReader(data[1:])); err != nil {
		t.Fatal(err)
	}
	resp, body = h.complete(c.ID)
	expect(t, resp, body, http.StatusConflict)
	if h.blobExists(c.ID) {
		t.Fatal("wrong blob kept")
	}
}

// tus creation-with-upload: the first bytes ride on the POST.
func TestCreationWithUpload(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 2000)
	c := h.create(data, relayapi.CreateDropRequest{})
	resp, body := h.do("POST", "/api/v1/uploads/", data[:1500], append(h.auth(), "Tus-Resumable", "1.0.0",
		"Upload-Length", "2000", "Upload-Metadata", "drop "+b64(c.ID), "Content-Type", "application/offset+octet-stream")...)
	expect(t, resp, body, http.StatusCreated)
	if resp.Header.Get("Upload-Offset") != "1500" {
		t.Fatalf("Upload-Offset %q", resp.Header.Get("Upload-Offset"))
	}
	resp, body = h.patch(c.ID, 1500, data[1500:], h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = h.complete(c.ID)
	expect(t, resp, body, http.StatusOK)
}

// failingBlobs is blob storage whose bucket does not answer.
type failingBlobs struct{ Blobs }

func (failingBlobs) Ping(context.Context) error { return errors.New("bucket unreachable") }

// /readyz answers 503 when the blob storage (or the database) does not,
// while /healthz still says the process is up.
func TestReadiness(t *testing.T) {
	h := newHarness(t)
	resp, body := h.do("GET", "/readyz", nil)
	expect(t, resp, body, http.StatusOK)
	h2 := newHarness(t, func(c *Config) { c.Blobs = failingBlobs{c.Blobs} })
	resp, body = h2.do("GET", "/readyz", nil)
	expect(t, resp, body, http.StatusServiceUnavailable)
	resp, body = h2.do("GET", "/healthz", nil)
	expect(t, resp, body, http.StatusOK)
	h3 := newHarness(t)
	h3.srv.store.Close()
	resp, body = h3.do("GET", "/readyz", nil)
	expect(t, resp, body, http.StatusServiceUnavailable)
}
