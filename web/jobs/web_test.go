package jobs

import (
	"context"
	"io"
	"net/http"
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
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := http.Get(srv.URL + "/jobs")
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
	if r := post(good, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross site: %d", r.StatusCode)
	}
	if r := post(good, map[string]string{"Host": "evil.example:8632"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("rebinding host: %d", r.StatusCode)
	}
	if j, _ := h.sp.Get(id); j.State != spooler.Held {
		t.Fatalf("refused requests changed the job: %s", j.State)
	}
	if r := post(good, map[string]string{"Origin": srv.URL}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("release: %d", r.StatusCode)
	}
	h.waitState(id, spooler.Uploaded)
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
