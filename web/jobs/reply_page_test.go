package jobs

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealprint/sealprint/spooler"
)

// fakeReplies is a ReplyOpener counting its calls.
type fakeReplies struct {
	calls atomic.Int32
	reply *OpenedReply
	err   error
}

func (f *fakeReplies) OpenReply(ctx context.Context, dropID, replyID, sum string) (*OpenedReply, error) {
	f.calls.Add(1)
	if dropID == "" || replyID != "Rr0ZK6xWq3HnYtTTMhQ2Bg" || sum != "ab" {
		return nil, errors.New("wrong reply asked")
	}
	return f.reply, f.err
}

// TestPageOpensReply: the jobs page opens a reply listed under a job with
// the page's own form — same origin, the user's secret, the CSRF token —
// shows the signature verdict, the message (as text) and the files, and
// hands each file out as a download; anything else is refused before the
// reply is fetched.
func TestPageOpensReply(t *testing.T) {
	h := newHarness(t, func(o *spooler.Options) { o.PollInterval = 20 * time.Millisecond })
	id := h.accept("constat")
	h.waitState(id, spooler.Held)
	if _, err := h.sp.Release(context.Background(), id, []string{"a@b.example"}); err != nil {
		t.Fatal(err)
	}
	h.waitState(id, spooler.Uploaded)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const rid = "Rr0ZK6xWq3HnYtTTMhQ2Bg"
	statuses.Store("drop-"+id, spooler.DropStatus{State: "ready", Downloads: 1,
		Replies: []spooler.Reply{{ID: rid, State: "ready", CreatedAt: at, ReadyAt: at, Size: 4321, SHA256: "ab"}}})
	h.waitEvent("a reply", func(e spooler.Event) bool { return e.NewReplies > 0 })

	fake := &fakeReplies{reply: &OpenedReply{Signed: true, SignatureValid: true, Signer: "Cdt Martin <martin@police.example>",
		SignerFingerprint: "ABCD1234", Message: "Bien reçu <script>x</script>",
		Files: []ReplyFile{{Name: "pv.pdf", Data: []byte("%PDF-1.4 pv")}, {Name: "notes.txt", Data: []byte("notes")}}}}
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok", Replies: fake}))
	defer srv.Close()
	resp, err := signedIn.Get(srv.URL + "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if !strings.Contains(page, `action="/jobs/`+id+`/reply"`) || !strings.Contains(page, `name="rid" value="`+rid+`"`) {
		t.Fatalf("the page offers no form to open the reply:\n%s", page)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]

	post := func(c *http.Client, job string, form url.Values, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/jobs/"+job+"/reply", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	good := url.Values{"csrf": {csrf}, "rid": {rid}}
	for name, c := range map[string]struct {
		client *http.Client
		job    string
		form   url.Values
		hdr    []string
		status int
	}{
		"no secret":     {http.DefaultClient, id, good, nil, http.StatusUnauthorized},
		"no CSRF token": {signedIn, id, url.Values{"rid": {rid}}, nil, http.StatusForbidden},
		"cross origin":  {signedIn, id, good, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		"cross site":    {signedIn, id, good, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		"null origin":   {signedIn, id, good, []string{"Origin", "null"}, http.StatusForbidden},
		"unknown reply": {signedIn, id, url.Values{"csrf": {csrf}, "rid": {"AAAAAAAAAAAAAAAAAAAAAA"}}, nil, http.StatusNotFound},
		"bad reply id":  {signedIn, id, url.Values{"csrf": {csrf}, "rid": {"../x"}}, nil, http.StatusNotFound},
		"unknown job":   {signedIn, "000000000000", good, nil, http.StatusNotFound},
		"bad file":      {signedIn, id, url.Values{"csrf": {csrf}, "rid": {rid}, "file": {"-1"}}, nil, http.StatusBadRequest},
	} {
		if resp, body := post(c.client, c.job, c.form, c.hdr...); resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", name, resp.StatusCode, body, c.status)
		}
	}
	if n := fake.calls.Load(); n != 0 {
		t.Fatalf("refused requests fetched the reply %d times", n)
	}

	resp, body := post(signedIn, id, good, "Origin", srv.URL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("open: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{`data-verdict="valid"`, "Signature valide du destinataire : Cdt Martin &lt;martin@police.example&gt;", "ABCD1234",
		"Bien reçu &lt;script&gt;x&lt;/script&gt;", "pv.pdf", "notes.txt", `name="file" value="1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("reply page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("the reply's message is not escaped")
	}
	// Each file's form posts into a frame of its own, so that two
	// downloads asked for at once do not cancel each other; the page
	// itself may not be framed, a file's answer only by this origin.
	for i := range 2 {
		n := strconv.Itoa(i)
		if !strings.Contains(body, `target="reply-file-`+n+`"`) || !strings.Contains(body, `<iframe name="reply-file-`+n+`"`) {
			t.Errorf("file %d's form has no frame of its own:\n%s", i, body)
		}
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("the reply page may be framed: %q, %q", resp.Header.Get("X-Frame-Options"), resp.Header.Get("Content-Security-Policy"))
	}
	resp, body = post(signedIn, id, url.Values{"csrf": {csrf}, "rid": {rid}, "file": {"1"}}, "Origin", srv.URL)
	if resp.StatusCode != http.StatusOK || body != "notes" || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename=notes.txt` {
		t.Fatalf("file 1: %d %q %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	if resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'self'") {
		t.Errorf("file 1 cannot be framed by the reply page, or can be by others: %q, %q", resp.Header.Get("X-Frame-Options"), resp.Header.Get("Content-Security-Policy"))
	}
	if resp, _ := post(signedIn, id, url.Values{"csrf": {csrf}, "rid": {rid}, "file": {"2"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("file 2 of 2: %d", resp.StatusCode)
	}
	// Unsigned and unknown signers are said so; a failure shows on the page.
	fake.reply = &OpenedReply{Message: "m"}
	if _, body := post(signedIn, id, good); !strings.Contains(body, `data-verdict="unsigned"`) {
		t.Errorf("unsigned reply:\n%s", body)
	}
	fake.reply = &OpenedReply{Signed: true, SignerKeyID: "0123456789ABCDEF"}
	if _, body := post(signedIn, id, good); !strings.Contains(body, `data-verdict="unknown"`) || !strings.Contains(body, "NON vérifiée") {
		t.Errorf("unknown signer:\n%s", body)
	}
	fake.reply, fake.err = nil, errors.New("bad signature")
	if resp, body := post(signedIn, id, good); resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "bad signature") {
		t.Errorf("failed open: %d\n%s", resp.StatusCode, body)
	}
	// A file's failure is a short text for its frame beside the button,
	// which only this origin may frame.
	resp, body = post(signedIn, id, url.Values{"csrf": {csrf}, "rid": {rid}, "file": {"0"}})
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "La réponse n'a pas pu être ouverte") || strings.Contains(body, "<html") ||
		resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("failed file: %d %q %q", resp.StatusCode, resp.Header.Get("X-Frame-Options"), body)
	}

	// Without an opener the page offers no form and refuses the action.
	plain := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok"}))
	defer plain.Close()
	resp, err = signedIn.Get(plain.URL + "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "/reply\"") {
		t.Error("a page without an opener offers to open replies")
	}
}
