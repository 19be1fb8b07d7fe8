package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sealprint/sealprint/spooler"
)

// cardSealer seals only once its card has the PIN, as cmd_serve's PDF
// signer does; EnterPIN counts the logins.
type cardSealer struct {
	stageFakes
	mu     sync.Mutex
	ok     bool
	logins int
}

func (c *cardSealer) Seal(ctx context.Context, job *spooler.Job, dst io.Writer) (io.WriteCloser, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ok {
		return nil, spooler.NeedsConfirmation(ErrPINRequired)
	}
	return c.stageFakes.Seal(ctx, job, dst)
}

func (c *cardSealer) EnterPIN(ctx context.Context, pin string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logins++
	if pin != "1234" {
		return errors.New("the token refused the PIN: CKR_PIN_INCORRECT (one try left before the card locks)")
	}
	c.ok = true
	return nil
}

func (c *cardSealer) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logins
}

// A released job waits for the card's PIN ("PIN de la carte requis") with
// a PIN form on the page: password input, no autocomplete, the page's
// CSRF and origin checks. A wrong PIN shows the token's words and is tried
// once; the right one signs and sends every waiting job, in link mode
// with its secret and options kept.
func TestPINFormResumesWaitingJobs(t *testing.T) {
	card := &cardSealer{}
	h := newHarness(t, func(o *spooler.Options) { o.Sealer = card })
	a, b := h.accept("rapport-a"), h.accept("rapport-b")
	h.waitState(a, spooler.Held)
	h.waitState(b, spooler.Held)
	ctx := context.Background()
	if _, err := h.sp.Release(ctx, a, []string{"opj@police.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sp.ReleaseWith(ctx, b, spooler.Release{To: []string{"opj@police.example"}, LinkSecret: "s3cr3t-link-secret-000000000000000000000000",
		AccessCode: "12345678", Options: spooler.SendOptions{Mode: spooler.ModeLink, Code: true, Reference: "PV 1"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, h.sp, a, NeedsPIN)
	waitFor(t, h.sp, b, NeedsPIN)
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok", PIN: card}))
	defer srv.Close()

	page := get(t, srv.URL+"/jobs")
	for _, want := range []string{"PIN de la carte requis", `type="password" name="pin" autocomplete="off"`, `action="/jobs/pin"`, "rapport-a", "rapport-b"} {
		if !strings.Contains(page, want) {
			t.Fatalf("page lacks %q:\n%s", want, page)
		}
	}
	if !strings.Contains(page, `action="/jobs/`+a+`/cancel"`) {
		t.Fatal("a job waiting for the PIN cannot be canceled")
	}
	if strings.Contains(page, `action="/jobs/`+a+`/release"`) {
		t.Fatal("a job waiting for the PIN is offered for release again")
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	post := func(form url.Values, origin string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/jobs/pin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := signedIn.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// Refused before the card: no CSRF token, another origin, no secret.
	if st, _ := post(url.Values{"pin": {"1234"}}, ""); st != http.StatusForbidden {
		t.Errorf("no CSRF: %d", st)
	}
	if st, _ := post(url.Values{"pin": {"1234"}, "csrf": {csrf}}, "http://evil.example"); st != http.StatusForbidden {
		t.Errorf("cross origin: %d", st)
	}
	resp, _ := http.PostForm(srv.URL+"/jobs/pin", url.Values{"pin": {"1234"}, "csrf": {csrf}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the secret: %d", resp.StatusCode)
	}
	resp.Body.Close()
	if st, _ := post(url.Values{"pin": {"12\n34"}, "csrf": {csrf}}, ""); st != http.StatusForbidden {
		t.Errorf("control character: %d", st)
	}
	if n := card.count(); n != 0 {
		t.Fatalf("%d logins from refused posts", n)
	}
	// A wrong PIN: one login, the token's words, the jobs still wait.
	st, body := post(url.Values{"pin": {"0000"}, "csrf": {csrf}}, "")
	if st != http.StatusForbidden || !strings.Contains(body, "La carte a refusé le code PIN") || !strings.Contains(body, "CKR_PIN_INCORRECT (one try left") ||
		strings.Contains(body, "0000") {
		t.Fatalf("wrong PIN: %d\n%s", st, body)
	}
	if n := card.count(); n != 1 {
		t.Fatalf("%d logins for one wrong PIN", n)
	}
	if j, _ := h.sp.Get(a); !NeedsPIN(j) {
		t.Fatalf("after a wrong PIN the job is %s", j.State)
	}
	// The right PIN through the API: both jobs go on, options kept.
	apiPost := func(body string) (int, []byte) {
		req, _ := http.NewRequest("POST", srv.URL+"/jobs/api/pin", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if st, _ := apiPost(`{"pin":`); st != http.StatusBadRequest {
		t.Errorf("bad JSON: %d", st)
	}
	c := &Client{Info: ServiceInfo{URL: srv.URL, Token: "tok"}}
	res, err := c.EnterPIN(ctx, "1234")
	if err != nil || res.Resumed != 2 {
		t.Fatalf("EnterPIN: %+v %v", res, err)
	}
	h.waitState(a, spooler.Uploaded)
	h.waitState(b, spooler.Uploaded)
	jb, _ := h.sp.Get(b)
	if o := jb.SendOptionsOf(); !o.Link() || !o.Code || o.Reference != "PV 1" || jb.LinkSecret == "" || jb.AccessCode != "12345678" {
		t.Fatalf("resumed link job lost its options: %+v", o)
	}
	if n := card.count(); n != 2 {
		t.Fatalf("%d logins in all", n)
	}
	// Without a card signer the form is not offered and the API says so.
	srv2 := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok"}))
	defer srv2.Close()
	b2, _ := json.Marshal(PINRequest{PIN: "1234"})
	req, _ := http.NewRequest("POST", srv2.URL+"/jobs/api/pin", bytes.NewReader(b2))
	req.Header.Set("Authorization", "Bearer tok")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("no card: %v %v", resp.StatusCode, err)
	}
}
