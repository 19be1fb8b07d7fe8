package jobs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sealprint/sealprint/spooler"
)

// harness runs a real spooler with stand-in stages: rendering copies the
// document (one page per 100 bytes), sealing copies it, delivery keeps
// drops in memory. Jobs printed to queue "sealed" are held.
type harness struct {
	t      *testing.T
	dir    string
	sp     *spooler.Spooler
	mu     sync.Mutex
	events []spooler.Event
	cond   *sync.Cond
}

func newHarness(t *testing.T, tweak ...func(*spooler.Options)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir()}
	h.cond = sync.NewCond(&h.mu)
	opt := spooler.Options{
		Dir: h.dir, Key: bytes.Repeat([]byte{7}, 32),
		Renderer: stageFakes{}, Sealer: stageFakes{}, Deliverer: stageFakes{},
		OnChange: func(e spooler.Event) {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.cond.Broadcast()
			h.mu.Unlock()
		},
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, f := range tweak {
		f(&opt)
	}
	sp, err := spooler.Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sp.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		sp.Close()
	})
	h.sp = sp
	return h
}

// accept prints a 300-byte document named name to the "sealed" queue.
func (h *harness) accept(name string) string {
	h.t.Helper()
	return h.acceptAs(name, "")
}

// acceptAs is accept with a requesting user.
func (h *harness) acceptAs(name, user string) string {
	h.t.Helper()
	doc := bytes.Repeat([]byte("%PDF-1.7 a "), 30)
	id, err := h.sp.Accept(context.Background(), spooler.Incoming{Queue: "sealed", Name: name, User: user, Format: "application/pdf"}, bytes.NewReader(doc))
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// waitState waits for the event that moves job id to state want and
// returns it.
func (h *harness) waitState(id string, want spooler.State) spooler.Event {
	h.t.Helper()
	return h.waitEvent(fmt.Sprintf("job %s in %s", id, want), func(e spooler.Event) bool {
		return e.Job.ID == id && e.Job.State == want
	})
}

// waitEvent waits for the first event that match accepts and returns it,
// looking at every event since the harness started. The deadline only
// guards against a hung test.
func (h *harness) waitEvent(what string, match func(spooler.Event) bool) spooler.Event {
	h.t.Helper()
	timer := time.AfterFunc(20*time.Second, func() {
		h.mu.Lock()
		h.cond.Broadcast()
		h.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(20 * time.Second)
	h.mu.Lock()
	defer h.mu.Unlock()
	for seen := 0; ; {
		for ; seen < len(h.events); seen++ {
			if e := h.events[seen]; match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		h.cond.Wait()
	}
}

// stageFakes stands in for render, envelope and uploader.
type stageFakes struct{}

func (stageFakes) Render(ctx context.Context, job *spooler.Job, in io.Reader, out io.Writer) (spooler.RenderResult, error) {
	n, err := io.Copy(out, in)
	return spooler.RenderResult{Pages: int(n/100) + 1, PDFA: "yes"}, err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// PDFSignature stands in for the PAdES signature deliver puts on the PDF.
func (nopCloser) PDFSignature() string { return "PAdES B-T by Dr Test" }

func (stageFakes) Seal(ctx context.Context, job *spooler.Job, dst io.Writer) (io.WriteCloser, error) {
	return nopCloser{dst}, nil
}

// deliveries records what each job was delivered with, by job id.
var deliveries sync.Map

func (stageFakes) Deliver(ctx context.Context, d spooler.Delivery, body io.ReaderAt) (spooler.Drop, error) {
	deliveries.Store(d.JobID, d)
	return spooler.Drop{ID: "drop-" + d.JobID, Link: "https://relay.example/d/x", ExpiresAt: time.Now().Add(time.Hour)}, nil
}

// statuses holds what Status answers for a drop id (default: ready).
var statuses sync.Map

func (stageFakes) Status(ctx context.Context, dropID string) (spooler.DropStatus, error) {
	if v, ok := statuses.Load(dropID); ok {
		return v.(spooler.DropStatus), nil
	}
	return spooler.DropStatus{State: "ready"}, nil
}

func (stageFakes) Revoke(ctx context.Context, dropID string) error { return nil }

// signedIn is a client of the jobs page signed in with the secret "tok"
// the tests' handlers are given (the cookie a first ?key= visit sets).
var signedIn = &http.Client{Transport: secretCookie{}}

type secretCookie struct{}

func (secretCookie) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.AddCookie(&http.Cookie{Name: cookieName, Value: "tok"})
	return http.DefaultTransport.RoundTrip(r)
}
