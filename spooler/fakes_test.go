package spooler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock moved by hand.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	// onAfter, if set, is called each time the scheduler goes back to
	// sleep (every pass of Run ends with After).
	onAfter func()
	// onAdvance, if set, is called each time the clock moves. A real
	// clock never jumps: the scheduler reads it, then arms a timer a few
	// microseconds later. A jump between the two would leave that timer
	// armed from the old reading, minutes late; waking the scheduler
	// makes it look at the new time instead.
	onAdvance func()
	passes    int
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.passes++
	if c.onAfter != nil {
		c.onAfter()
	}
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

// passCount is how many times the scheduler has gone to sleep.
func (c *fakeClock) passCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.passes
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
	if c.onAdvance != nil {
		c.onAdvance()
	}
}

// wakeOnAdvance makes every Advance call f.
func (c *fakeClock) wakeOnAdvance(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onAdvance = f
}

// fakeRenderer copies the document and counts one page per 100 bytes. It
// fails while failures > 0.
type fakeRenderer struct {
	mu       sync.Mutex
	failures int
	err      error
	calls    int
}

func (r *fakeRenderer) Render(ctx context.Context, job *Job, in io.Reader, out io.Writer) (RenderResult, error) {
	r.mu.Lock()
	r.calls++
	if r.failures > 0 {
		r.failures--
		err := r.err
		r.mu.Unlock()
		return RenderResult{}, err
	}
	r.mu.Unlock()
	n, err := io.Copy(out, in)
	return RenderResult{Pages: int(n/100) + 1, PDFA: "unknown"}, err
}

// xorSealer "seals" by XOR with a key stream, enough to hide a marker.
type xorSealer struct{}

type xorWriter struct {
	w io.Writer
	i int
}

func (x *xorWriter) Write(p []byte) (int, error) {
	b := make([]byte, len(p))
	for k := range p {
		b[k] = p[k] ^ byte(0x5a+x.i)
		x.i++
	}
	return x.w.Write(b)
}

func (x *xorWriter) Close() error { return nil }

func (x *xorWriter) SessionKey() []byte { return []byte("session-key") }

func (xorSealer) Seal(ctx context.Context, job *Job, dst io.Writer) (io.WriteCloser, error) {
	io.WriteString(dst, "SEALED:"+job.Recipients[0]+":")
	return &xorWriter{w: dst}, nil
}

func unseal(b []byte) []byte {
	i := bytes.IndexByte(b[7:], ':') + 8
	out := make([]byte, len(b)-i)
	for k := range out {
		out[k] = b[i+k] ^ byte(0x5a+k)
	}
	return out
}

// fakeRelay is an idempotent Deliverer in memory.
type fakeRelay struct {
	mu        sync.Mutex
	drops     map[string]*fakeDrop // by job id
	creates   int
	failNext  []error // errors returned by the next Deliver calls
	afterSave []error // errors returned after the drop was saved (lost answer)
	revoked   []string
	block     chan struct{} // if set, Deliver waits on it
}

type fakeDrop struct {
	id         string
	body       []byte
	recipients []string
	downloads  int
	receipts   []string
	signed     []SignedReceipt
	linkProofs []string
	state      string
	checkpoint []byte
	replies    []Reply
	sessionKey []byte // what Deliver was given
}

func newFakeRelay() *fakeRelay { return &fakeRelay{drops: map[string]*fakeDrop{}} }

func (f *fakeRelay) Deliver(ctx context.Context, req Delivery, body io.ReaderAt) (Drop, error) {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return Drop{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failNext) > 0 {
		err := f.failNext[0]
		f.failNext = f.failNext[1:]
		return Drop{}, err
	}
	b := make([]byte, req.Size)
	if _, err := body.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return Drop{}, err
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != req.SHA256 {
		return Drop{}, Permanent(errors.New("hash mismatch"))
	}
	d, ok := f.drops[req.JobID]
	if !ok {
		f.creates++
		d = &fakeDrop{id: fmt.Sprintf("drop%d", f.creates), body: b, recipients: req.Recipients, state: "ready", sessionKey: req.SessionKey}
		f.drops[req.JobID] = d
	} else if !bytes.Equal(d.body, b) {
		return Drop{}, Permanent(errors.New("idempotency key reused with another body"))
	}
	if len(f.afterSave) > 0 {
		err := f.afterSave[0]
		f.afterSave = f.afterSave[1:]
		return Drop{}, err
	}
	return Drop{ID: d.id, Link: "https://relay.test/d/" + d.id, ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
}

func (f *fakeRelay) Status(ctx context.Context, dropID string) (DropStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.drops {
		if d.id == dropID {
			return DropStatus{State: d.state, Downloads: d.downloads, Receipts: append([]string(nil), d.receipts...),
				ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Checkpoint: d.checkpoint,
				Signed: append([]SignedReceipt(nil), d.signed...), LinkProofs: append([]string(nil), d.linkProofs...), Replies: append([]Reply(nil), d.replies...)}, nil
		}
	}
	return DropStatus{}, errors.New("unknown drop")
}

func (f *fakeRelay) Revoke(ctx context.Context, dropID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, dropID)
	for _, d := range f.drops {
		if d.id == dropID {
			d.state = "revoked"
		}
	}
	return nil
}

func (f *fakeRelay) drop(jobID string) *fakeDrop {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drops[jobID]
}

// harness runs a Spooler on a temp dir with fakes.
type harness struct {
	t      *testing.T
	dir    string
	key    []byte
	clock  *fakeClock
	render *fakeRenderer
	relay  *fakeRelay
	sp     *Spooler
	cancel context.CancelFunc
	done   chan struct{}
	events chan Event
	tweak  func(*Options)

	// ticks counts what can change a job: events and scheduler passes.
	tickMu sync.Mutex
	ticks  int
	tickC  *sync.Cond
}

func newHarness(t *testing.T, tweak func(*Options)) *harness {
	h := newHarnessAt(t, t.TempDir(), nil, tweak)
	h.open()
	t.Cleanup(func() {
		h.stop()
		h.sp.Close()
	})
	return h
}

// newHarnessAt returns an unopened harness on dir (a spool another
// harness left, or a mounted file system), with key or the default one.
func newHarnessAt(t *testing.T, dir string, key []byte, tweak func(*Options)) *harness {
	if key == nil {
		key = bytes.Repeat([]byte{7}, 32)
	}
	h := &harness{t: t, dir: dir, key: key, clock: newFakeClock(),
		render: &fakeRenderer{}, relay: newFakeRelay(), events: make(chan Event, 1000), tweak: tweak}
	h.tickC = sync.NewCond(&h.tickMu)
	h.clock.onAfter = h.tick
	return h
}

func (h *harness) open() {
	opt := Options{
		Dir: h.dir, Key: h.key, Renderer: h.render, Sealer: xorSealer{}, Deliverer: h.relay,
		Recipients: func(q string) []string {
			if q == "martin" {
				return []string{"martin@police.example"}
			}
			return nil
		},
		OnChange: func(e Event) {
			defer h.tick()
			select {
			case h.events <- e:
			default:
			}
		},
		CheckReceipt: func(sk []byte, sum, proof string) bool {
			return string(sk) == "session-key" && len(sum) == 64 && proof == "good"
		},
		Clock:  h.clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if h.tweak != nil {
		h.tweak(&opt)
	}
	if h.sp != nil {
		h.sp.Close()
	}
	sp, err := Open(opt)
	if err != nil {
		h.t.Fatal(err)
	}
	h.sp = sp
	h.clock.wakeOnAdvance(sp.kick)
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		h.sp.Run(ctx)
	}()
}

func (h *harness) stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
		h.cancel = nil
	}
}

// restart simulates a new process on the same spool.
func (h *harness) restart() {
	h.stop()
	h.open()
	h.start()
}

func (h *harness) accept(queue, name string, doc []byte) string {
	h.t.Helper()
	id, err := h.sp.Accept(context.Background(), Incoming{Queue: queue, Name: name, Format: "application/pdf"}, bytes.NewReader(doc))
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// tick wakes the waiters of waitFor.
func (h *harness) tick() {
	h.tickMu.Lock()
	h.ticks++
	h.tickC.Broadcast()
	h.tickMu.Unlock()
}

// waitFor waits until cond holds, checking it again after every event and
// every pass of the scheduler (never on a timer). The deadline only guards
// against a hung test.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	expired := false
	timer := time.AfterFunc(20*time.Second, func() {
		h.tickMu.Lock()
		expired = true
		h.tickC.Broadcast()
		h.tickMu.Unlock()
	})
	defer timer.Stop()
	for {
		h.tickMu.Lock()
		seen := h.ticks
		h.tickMu.Unlock()
		if cond() {
			return
		}
		h.tickMu.Lock()
		for h.ticks == seen && !expired {
			h.tickC.Wait()
		}
		late := expired
		h.tickMu.Unlock()
		if late {
			if cond() {
				return
			}
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitState waits until job id is in state want.
func (h *harness) waitState(id string, want State) *Job {
	h.t.Helper()
	return h.waitAny(id, want)
}

// waitAny waits until job id is in one of the states.
func (h *harness) waitAny(id string, states ...State) *Job {
	h.t.Helper()
	var j *Job
	var err error
	h.waitFor(fmt.Sprintf("job %s in %v", id, states), func() bool {
		j, err = h.sp.Get(id)
		return err == nil && slices.Contains(states, j.State)
	})
	return j
}

// advanceIdle moves the clock by d and returns once the scheduler has
// looked at every job at the new time and no step is running: what was
// due has started and finished, so a check after it that nothing changed
// can fail.
func (h *harness) advanceIdle(d time.Duration) {
	h.t.Helper()
	before := h.clock.passCount()
	h.clock.Advance(d)
	h.waitFor("the scheduler to settle after the clock moved", func() bool {
		if h.clock.passCount() <= before {
			return false
		}
		h.sp.mu.Lock()
		defer h.sp.mu.Unlock()
		for _, e := range h.sp.jobs {
			if e.running {
				return false
			}
		}
		return true
	})
}
