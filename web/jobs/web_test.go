package jobs

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/spooler"
)

func TestWebPageReleaseAndCSRF(t *testing.T) {
	h := newHarness(t)
	id := h.accept("Rapport <b>médical</b>")
	h.waitState(id, spooler.Held)
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok",
		AddressBook: func() []Contact {
			return []Contact{{Name: "Cdt Martin", Email: "martin@police.example", Fingerprint: "ABCD"}}
		}}))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	noRedirect := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// Without the user's secret: no page. With it once: a cookie, and the
	// key leaves the address bar.
	for _, u := range []string{"/jobs", "/jobs?key=wrong"} {
		if resp, err := http.Get(srv.URL + u); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET %s without the secret: %v %v", u, err, resp.Status)
		}
	}
	resp, err := noRedirect.Get(srv.URL + "/jobs?key=tok")
	if err != nil || resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs" {
		t.Fatalf("GET /jobs?key=: %v %v %q", err, resp.Status, resp.Header.Get("Location"))
	}
	if c := resp.Header.Get("Set-Cookie"); !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
		t.Fatalf("cookie %q", c)
	}
	resp, err = noRedirect.Get(srv.URL + "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if !strings.Contains(page, "Rapport &lt;b&gt;médical&lt;/b&gt;") || !strings.Contains(page, "martin@police.example") ||
		!strings.Contains(page, "4 page(s)") || !strings.Contains(page, `<html lang="fr">`) || !strings.Contains(page, "Sceller et envoyer") {
		t.Fatalf("page:\n%s", page)
	}
	// same-origin: with no-referrer Chromium posts the page's own forms
	// with "Origin: null", which the origin checks refuse (seen in
	// TestSenderDeskInChromium).
	if resp.Header.Get("Referrer-Policy") != "same-origin" {
		t.Fatalf("Referrer-Policy %q", resp.Header.Get("Referrer-Policy"))
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatal("missing anti-framing headers")
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]

	post := func(form url.Values, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+"/jobs/"+id+"/release", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	good := url.Values{"csrf": {csrf}, "to": {"martin@police.example"}}
	if r := post(url.Values{"to": {"martin@police.example"}}, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("no CSRF token: %d", r.StatusCode)
	}
	if r := post(good, map[string]string{"Origin": "https://evil.example"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross origin: %d", r.StatusCode)
	}
	if r := post(good, map[string]string{"Origin": "null"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("null origin: %d", r.StatusCode)
	}
	if r := post(good, map[string]string{"Origin": "null", "Sec-Fetch-Site": "cross-site"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("null origin, cross site: %d", r.StatusCode)
	}
	if r := post(good, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross site: %d", r.StatusCode)
	}
	if r := post(good, map[string]string{"Host": "evil.example:8632"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("rebinding host: %d", r.StatusCode)
	}
	if j, _ := h.sp.Get(id); j.State != spooler.Held {
		t.Fatalf("refused requests changed the job: %s", j.State)
	}
	if r := post(good, map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("null origin, same origin: %d", r.StatusCode)
	}
	if r := post(good, map[string]string{"Origin": srv.URL}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("release: %d", r.StatusCode)
	}
	h.waitState(id, spooler.Uploaded)

	// The job's record shows what the PDF is and who signed it.
	resp, err = noRedirect.Get(srv.URL + "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if page := string(body); !strings.Contains(page, "PAdES B-T by Dr Test") || !strings.Contains(page, "PDF/A-2b") {
		t.Fatalf("page after upload:\n%s", page)
	}
}

func TestWebAPIAndClient(t *testing.T) {
	h := newHarness(t)
	id := h.accept("r")
	h.waitState(id, spooler.Held)
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "secret-token"}))
	defer srv.Close()
	ctx := context.Background()

	bad := &Client{Info: ServiceInfo{URL: srv.URL, Token: "wrong"}}
	if _, err := bad.List(ctx); err == nil {
		t.Fatal("wrong token accepted")
	}
	c := &Client{Info: ServiceInfo{URL: srv.URL, Token: "secret-token"}}
	jobs, err := c.List(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].ID != id || jobs[0].State != spooler.Held || jobs[0].Message == "" {
		t.Fatalf("%v %+v", err, jobs)
	}
	if _, err := c.Retry(ctx, id); err == nil || !strings.Contains(err.Error(), "cannot retry") {
		t.Fatalf("retry held: %v", err)
	}
	if _, err := c.Release(ctx, id, []string{"bad"}); err == nil {
		t.Fatal("bad address released")
	}
	v, err := c.Release(ctx, id, []string{"a@b.example"})
	if err != nil || v.State != spooler.Rendered {
		t.Fatalf("%v %+v", err, v)
	}
	h.waitState(id, spooler.Uploaded)
	if _, err := c.Cancel(ctx, "job-aaaaaaaaaaaaaaaaaaaaaaaaaa"); err == nil {
		t.Fatal("unknown job canceled")
	}
	v, err = c.Cancel(ctx, id)
	if err != nil || v.State != spooler.Canceled {
		t.Fatalf("%v %+v", err, v)
	}
}

// On a shared PC, the page and the API show and act only on the jobs
// printed by their user; another user's job is unknown to them.
func TestWebShowsOnlyTheUsersJobs(t *testing.T) {
	h := newHarness(t)
	mine := h.acceptAs("Rapport Alice", "alice")
	theirs := h.acceptAs("Rapport Mallory", "HOSPITAL\\mallory")
	h.waitState(mine, spooler.Held)
	h.waitState(theirs, spooler.Held)
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "alice-secret", User: "HOSPITAL\\Alice"}))
	defer srv.Close()
	ctx := context.Background()
	c := &Client{Info: ServiceInfo{URL: srv.URL, Token: "alice-secret"}}
	list, err := c.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != mine {
		t.Fatalf("list: %v %+v", err, list)
	}
	var v JobView
	if err := c.do(ctx, "GET", "/jobs/api/"+theirs, nil, &v); err == nil {
		t.Fatal("another user's job shown")
	}
	if _, err := c.Cancel(ctx, theirs); err == nil {
		t.Fatal("another user's job canceled")
	}
	if _, err := c.Release(ctx, theirs, []string{"eve@evil.example"}); err == nil {
		t.Fatal("another user's job released")
	}
	if j, _ := h.sp.Get(theirs); j.State != spooler.Held {
		t.Fatalf("another user's job is now %s", j.State)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(srv.URL + "/jobs?key=alice-secret")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Rapport Alice") || strings.Contains(string(body), "Mallory") {
		t.Fatalf("page:\n%s", body)
	}
	// Nor can the page's preview show another user's document.
	if resp, err := browser.Get(srv.URL + "/jobs/preview/" + theirs); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("preview of another user's job: %v %v", resp.Status, err)
	}
	if resp, err := browser.Get(srv.URL + "/jobs/preview/" + mine); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("preview of one's own job: %v %v", resp.Status, err)
	}
}
