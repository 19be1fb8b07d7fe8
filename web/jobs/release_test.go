package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
)

// Link mode from the release form: the code is shown once in the answer,
// the job carries its options to delivery, and neither the link secret
// nor the code is anywhere on disk in clear.
func TestReleaseFormLinkMode(t *testing.T) {
	h := newHarness(t)
	id := h.accept("rapport GAV")
	h.waitState(id, spooler.Held)
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok", Defaults: SendDefaults{Expiry: 3 * 24 * time.Hour}}))
	defer srv.Close()
	page := get(t, srv.URL+"/jobs")
	if !strings.Contains(page, `name="expires_days" min="1" max="366" value="3"`) {
		t.Fatalf("defaults not in the form:\n%s", page)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	form := url.Values{"csrf": {csrf}, "other": {"opj@police.example"}, "mode": {"link"}, "code": {"on"},
		"code_via": {"sms"}, "code_dest": {"06 12 34 56 78"}, "expires_days": {"2"}, "max_downloads": {"3"}, "deadline": {"2026-12-02T09:30"}, "reference": {"PV 2026/001234"}}
	resp, err := signedIn.PostForm(srv.URL+"/jobs/"+id+"/release", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`id="access-code">([0-9]{8})<`).FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("%d, no code shown:\n%s", resp.StatusCode, body)
	}
	code := string(m[1])
	h.waitState(id, spooler.Uploaded)

	v, _ := deliveries.Load(id)
	d := v.(spooler.Delivery)
	if !d.Options.Link() || !d.Options.Code || d.AccessCode != code || d.Options.CodeTo != "sms:+33612345678" || d.Options.ExpiresIn != 48*time.Hour ||
		d.Options.MaxDownloads == nil || *d.Options.MaxDownloads != 3 || d.Options.Reference != "PV 2026/001234" ||
		!d.Options.Deadline.Equal(time.Date(2026, 12, 2, 9, 30, 0, 0, time.Local)) {
		t.Fatalf("delivered with %+v", d)
	}
	j, _ := h.sp.Get(id)
	secret := j.LinkSecrets["opj@police.example"]
	if len(secret) < 40 || j.LinkSecret != "" {
		t.Fatal("no link secret of the recipient's own")
	}
	// The page shows the full link (to pass on), never the code again.
	page = get(t, srv.URL+"/jobs")
	if !strings.Contains(page, "#"+secret) || strings.Contains(page, code) || !strings.Contains(page, "PV 2026/001234") {
		t.Fatalf("page after release:\n%s", page)
	}
	// The API's JSON carries the link, not the code.
	req, _ := http.NewRequest("GET", srv.URL+"/jobs/api", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err = signedIn.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	api, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(api, []byte(code)) || !bytes.Contains(api, []byte(`"secret_link"`)) {
		t.Fatalf("API: %s", api)
	}
	// The spool is encrypted at rest: neither secret is on disk in clear.
	for _, secret := range []string{code, secret, "PV 2026/001234"} {
		filepath.WalkDir(h.dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %q in clear", p, secret)
			}
			return nil
		})
	}
}

// The API refuses what the relay could not honour or the spooler must
// not take: code without link mode, a code channel this service cannot
// use, control characters, expiry out of range.
func TestReleaseAPIRefusals(t *testing.T) {
	h := newHarness(t)
	id := h.accept("r")
	h.waitState(id, spooler.Held)
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok", Defaults: SendDefaults{MaxExpiry: 5 * 24 * time.Hour}}))
	defer srv.Close()
	post := func(req ActionRequest) (int, ActionResult) {
		b, _ := json.Marshal(req)
		r, _ := http.NewRequest("POST", srv.URL+"/jobs/api/"+id+"/release", bytes.NewReader(b))
		r.Header.Set("Authorization", "Bearer tok")
		resp, err := signedIn.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out ActionResult
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	to := []string{"opj@police.example"}
	for name, req := range map[string]ActionRequest{
		"code in key mode":  {To: to, Code: true},
		"unknown mode":      {To: to, Mode: "fax"},
		"channel no code":   {To: to, Mode: "link", CodeTo: "sms:+33612345678"},
		"unknown channel":   {To: to, Mode: "link", Code: true, CodeTo: "fax:+33612345678"},
		"bad phone":         {To: to, Mode: "link", Code: true, CodeTo: "sms:0612"},
		"control character": {To: to, Mode: "link", Reference: "PV\n1"},
		"expiry > policy":   {To: to, Mode: "link", ExpiresInSeconds: 6 * 24 * 3600},
		"negative expiry":   {To: to, Mode: "link", ExpiresInSeconds: -1},
		"downloads":         {To: to, Mode: "link", MaxDownloads: new(int(5000))},
	} {
		if st, _ := post(req); st != http.StatusBadRequest {
			t.Errorf("%s: %d", name, st)
		}
	}
	if j, _ := h.sp.Get(id); j.State != spooler.Held {
		t.Fatalf("refused releases changed the job: %s", j.State)
	}
	st, out := post(ActionRequest{To: to, Mode: "link", Code: true})
	if st != http.StatusOK || len(out.AccessCode) != 8 || out.State != spooler.Rendered {
		t.Fatalf("%d %+v", st, out)
	}
}

func TestFrenchNumber(t *testing.T) {
	for in, want := range map[string]string{
		"06 12 34 56 78":    "+33612345678",
		"06.12.34.56.78":    "+33612345678",
		"+33 6 12 34 56 78": "+33612345678",
		"0033612345678":     "+33612345678",
		"+4915112345678":    "+4915112345678",
		"612":               "612",
	} {
		if got := frenchNumber(in); got != want {
			t.Errorf("%q: %q", in, got)
		}
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := signedIn.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// The form shows the relay's policy and refuses what it forbids, naming
// the rule, before anything is sealed.
func TestReleasePolicy(t *testing.T) {
	h := newHarness(t)
	id := h.accept("r")
	h.waitState(id, spooler.Held)
	pol := relayapi.Policy{AllowedDomains: []string{"*.interieur.gouv.fr"}, MaxExpirySeconds: 2 * 86400, MaxDownloads: 3,
		LinkNeedsCode: true, ArchiveFingerprint: "ABCDEF0123456789ABCDEF0123456789ABCDEF01"}
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok",
		Policy: func(context.Context) (relayapi.Policy, error) { return pol, nil }}))
	defer srv.Close()
	page := get(t, srv.URL+"/jobs")
	if !strings.Contains(page, pol.ArchiveFingerprint) || !strings.Contains(page, `max="2" value="2"`) || !strings.Contains(page, "*.interieur.gouv.fr") {
		t.Fatalf("policy not shown:\n%s", page)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	for rule, form := range map[string]url.Values{
		relayapi.RuleAllowedDomains: {"other": {"x@gmail.com"}},
		relayapi.RuleMaxExpiry:      {"other": {"opj@police.interieur.gouv.fr"}, "expires_days": {"3"}},
		relayapi.RuleMaxDownloads:   {"other": {"opj@police.interieur.gouv.fr"}, "max_downloads": {"0"}},
		relayapi.RuleLinkNeedsCode:  {"other": {"opj@police.interieur.gouv.fr"}, "mode": {"link"}},
	} {
		form.Set("csrf", csrf)
		resp, err := signedIn.PostForm(srv.URL+"/jobs/"+id+"/release", form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), rule) {
			t.Errorf("%s: %d", rule, resp.StatusCode)
		}
	}
	if j, _ := h.sp.Get(id); j.State != spooler.Held {
		t.Fatalf("refused releases changed the job: %s", j.State)
	}
}

// Link mode to several recipients from the form: each gets a link of its
// own (its own secret), shown once on its line of the page and in the
// API's deliveries; no link for the job as a whole, which would let one
// be passed to all.
func TestReleaseFormLinkPerRecipient(t *testing.T) {
	h := newHarness(t)
	id := h.accept("rapport GAV")
	h.waitState(id, spooler.Held)
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok"}))
	defer srv.Close()
	page := get(t, srv.URL+"/jobs")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	form := url.Values{"csrf": {csrf}, "other": {"opj@police.example, Greffe@Justice.example"}, "mode": {"link"}}
	resp, err := signedIn.PostForm(srv.URL+"/jobs/"+id+"/release", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h.waitState(id, spooler.Uploaded)
	j, _ := h.sp.Get(id)
	a, b := j.LinkSecrets["opj@police.example"], j.LinkSecrets["greffe@justice.example"]
	if len(a) < 40 || len(b) < 40 || a == b || len(j.LinkSecrets) != 2 {
		t.Fatalf("link secrets %d, distinct %v", len(j.LinkSecrets), a != b)
	}
	page = get(t, srv.URL+"/jobs")
	for _, s := range []string{a, b} {
		if strings.Count(page, "#"+s+`"`) != 1 {
			t.Fatalf("link with secret %s… not shown once:\n%s", s[:6], page)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/jobs/api", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err = signedIn.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list []JobView
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	var v *JobView
	for i := range list {
		if list[i].ID == id {
			v = &list[i]
		}
	}
	if v == nil || v.SecretLink != "" || len(v.Deliveries) != 2 {
		t.Fatalf("API view %+v", v)
	}
	for _, d := range v.Deliveries {
		if want := j.Link + "#" + j.LinkSecrets[d.Recipient]; d.SecretLink != want {
			t.Errorf("%s: link %q, want its own", d.Recipient, d.SecretLink)
		}
	}
	// Neither secret is on disk in clear (the job's record is encrypted).
	for _, secret := range []string{a, b} {
		filepath.WalkDir(h.dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds a link secret in clear", p)
			}
			return nil
		})
	}
}
