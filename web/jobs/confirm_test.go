package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sealprint/sealprint/keyserver"
	"github.com/sealprint/sealprint/spooler"
)

const (
	newAddr = "martin@police.example"
	newFpr  = "0123456789ABCDEF0123456789ABCDEF01234567"
)

// pinSealer refuses to seal to newAddr until its key is pinned, with the
// error keyserver.Resolve returns; pins is what ConfirmKey pinned.
type pinSealer struct {
	stageFakes
	mu   sync.Mutex
	pins map[string]string
}

func (p *pinSealer) Seal(ctx context.Context, job *spooler.Job, dst io.Writer) (io.WriteCloser, error) {
	p.mu.Lock()
	pinned := p.pins[newAddr]
	p.mu.Unlock()
	if pinned != newFpr {
		// The error as keyserver.Resolve words it, wrapped as cmd_serve does.
		return nil, spooler.NeedsConfirmation(keyserver.NewKeyError(newAddr, newFpr, "the relay's directory only (its domain publishes no key)"))
	}
	return p.stageFakes.Seal(ctx, job, dst)
}

func (p *pinSealer) confirm(ctx context.Context, address, fingerprint string) error {
	if fingerprint != newFpr { // the directory's key has another fingerprint
		return errors.New("the key found has another fingerprint")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pins[address] = fingerprint
	return nil
}

func (p *pinSealer) pinned() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for k, v := range p.pins {
		out[k] = v
	}
	return out
}

// A printed job held for a first key shows a form to confirm exactly that
// fingerprint; confirming it pins it and sends the job. Another
// fingerprint, another address, or no CSRF token pins nothing and leaves
// the job held.
func TestConfirmKeyFromPage(t *testing.T) {
	ps := &pinSealer{pins: map[string]string{}}
	h := newHarness(t, func(o *spooler.Options) { o.Sealer = ps })
	id := h.accept("rapport martin")
	h.waitState(id, spooler.Held)
	if _, err := h.sp.Release(context.Background(), id, []string{newAddr}); err != nil {
		t.Fatal(err)
	}
	waitHeldForKey(t, h, id) // held again, now for the key
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok", ConfirmKey: ps.confirm}))
	defer srv.Close()

	page := get(t, srv.URL+"/jobs")
	button := fmt.Sprintf("Confirmer la clé %s de %s et envoyer", newFpr, newAddr)
	if !strings.Contains(page, button) || !strings.Contains(page, `action="/jobs/`+id+`/confirm-key"`) {
		t.Fatalf("no confirm form on the page:\n%s", page)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	post := func(form url.Values) (int, string) {
		t.Helper()
		resp, err := signedIn.PostForm(srv.URL+"/jobs/"+id+"/confirm-key", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	otherFpr := "F" + newFpr[1:]
	refused := []struct {
		name string
		form url.Values
	}{
		{"another fingerprint", url.Values{"csrf": {csrf}, "address": {newAddr}, "fingerprint": {otherFpr}}},
		{"another address", url.Values{"csrf": {csrf}, "address": {"eve@evil.example"}, "fingerprint": {newFpr}}},
		{"no fingerprint", url.Values{"csrf": {csrf}, "address": {newAddr}}},
		{"no CSRF token", url.Values{"address": {newAddr}, "fingerprint": {newFpr}}},
	}
	for _, tc := range refused {
		status, body := post(tc.form)
		if status < 400 {
			t.Errorf("%s: status %d", tc.name, status)
		}
		if tc.name == "another fingerprint" && !strings.Contains(body, "rien n&#39;a été enregistré") {
			t.Errorf("%s: answer does not say nothing was pinned:\n%s", tc.name, body)
		}
	}
	if p := ps.pinned(); len(p) != 0 {
		t.Fatalf("pinned by refused confirmations: %v", p)
	}
	if j, _ := h.sp.Get(id); j.State != spooler.Held {
		t.Fatalf("job after refused confirmations: %s", j.State)
	}

	// The fingerprint as shown, in groups: pinned, then sent.
	grouped := strings.Join(regexp.MustCompile(`.{4}`).FindAllString(newFpr, -1), " ")
	status, body := post(url.Values{"csrf": {csrf}, "address": {newAddr}, "fingerprint": {grouped}})
	if status != http.StatusOK { // the redirect to the page, followed
		t.Fatalf("confirm: %d\n%s", status, body)
	}
	if p := ps.pinned(); len(p) != 1 || p[newAddr] != newFpr {
		t.Fatalf("pinned %v", p)
	}
	if e := h.waitState(id, spooler.Uploaded); e.Job.Error != "" {
		t.Fatalf("sent job: %+v", e.Job)
	}
	v, _ := deliveries.Load(id)
	if d := v.(spooler.Delivery); len(d.Recipients) != 1 || d.Recipients[0] != newAddr {
		t.Fatalf("delivered to %+v", d)
	}

	// A job held for nothing to confirm: the form is refused.
	other := h.accept("autre")
	h.waitState(other, spooler.Held)
	resp, err := signedIn.PostForm(srv.URL+"/jobs/"+other+"/confirm-key", url.Values{"csrf": {csrf}, "address": {newAddr}, "fingerprint": {newFpr}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("confirming a job that waits for no key: %d", resp.StatusCode)
	}
}

// A page without ConfirmKey offers no confirmation and refuses one.
func TestConfirmKeyDisabled(t *testing.T) {
	ps := &pinSealer{pins: map[string]string{}}
	h := newHarness(t, func(o *spooler.Options) { o.Sealer = ps })
	id := h.accept("rapport")
	h.waitState(id, spooler.Held)
	h.sp.Release(context.Background(), id, []string{newAddr})
	waitHeldForKey(t, h, id)
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok"}))
	defer srv.Close()
	page := get(t, srv.URL+"/jobs")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	resp, err := signedIn.PostForm(srv.URL+"/jobs/"+id+"/confirm-key", url.Values{"csrf": {csrf}, "address": {newAddr}, "fingerprint": {newFpr}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || len(ps.pinned()) != 0 {
		t.Fatalf("confirmation without ConfirmKey: %d, pinned %v", resp.StatusCode, ps.pinned())
	}
}

// waitHeldForKey waits for job id to be held with a reason (a key to
// confirm).
func waitHeldForKey(t *testing.T, h *harness, id string) {
	t.Helper()
	h.waitEvent("job "+id+" held for a key", func(e spooler.Event) bool {
		return e.Job.ID == id && e.Job.State == spooler.Held && e.Job.Error != ""
	})
}
