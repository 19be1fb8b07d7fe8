package spooler

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Clock gives the time; tests inject a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Event tells the caller about a job's change of state.
type Event struct {
	Job  *Job  // a copy of the job after the change
	From State // the state before
	// Page is the address of the jobs page (see Spooler.SetPageURL), for
	// messages that send the user there.
	Page string
	// NewReplies counts the replies that arrived with this change (the
	// job's state may be the same).
	NewReplies int
}

// Message is the job's status message naming the event's jobs page.
func (ev Event) Message() string { return ev.Job.StatusMessageAt(ev.Page) }

// Options configures a Spooler. Dir, Key, Renderer, Sealer and Deliverer
// are required.
type Options struct {
	// Dir is the spool directory (e.g. $SEALPRINT_HOME/spool).
	Dir string
	// Key is the 32-byte spool key (see LoadSpoolKey).
	Key []byte

	Renderer  Renderer
	Sealer    Sealer
	Deliverer Deliverer

	// Recipients returns the fixed recipients of a queue; none means the
	// job is held until recipients are chosen.
	Recipients func(queue string) []string
	// CheckRecipient, if set, is called on release for each address: an
	// error refuses the release (unknown key, bad address).
	CheckRecipient func(ctx context.Context, email string) error
	// CheckReceipt, if set, checks a recipient's proof of decryption
	// against the sealed message's session key (envelope.CheckReceipt);
	// unset, every receipt counts.
	CheckReceipt func(sessionKey []byte, sealedSHA256, proof string) bool
	// CheckSignedReceipt, if set, checks a recipient's signature of a
	// receipt of drop (whose ciphertext is sealedSHA256) against the key
	// the sender holds for r.Signer; a receipt whose signature checks out,
	// by one of the keys the job was sealed to, says which recipient
	// opened the job (Job.OpenedBy).
	CheckSignedReceipt func(drop, sealedSHA256 string, r SignedReceipt) bool
	// CheckLinkReceipt, if set, checks a link-mode receipt's second proof
	// against a link secret (envelope.CheckLinkReceipt): a verified
	// receipt whose link proof matches one recipient's own secret says
	// that recipient opened the job (Job.OpenedBy).
	CheckLinkReceipt func(secret, sealedSHA256, proof string) bool
	// OnChange, if set, is called after each state change (not under any
	// lock of the spooler, but from the goroutine that made the change).
	OnChange func(Event)

	// Workers bounds the jobs rendered or sealed at once (default 2).
	Workers int
	// Uploads bounds the jobs uploaded or checked on the relay at once
	// (default 4), so a slow network never stops jobs being rendered.
	Uploads int
	// MaxJobs and MaxBytes bound the unfinished jobs in the spool; beyond
	// them Accept returns a BusyError (defaults 1000 and 4 GiB).
	MaxJobs  int
	MaxBytes int64
	// MaxAttempts is the number of failures after which a job stops being
	// retried until the user retries it (default 12).
	MaxAttempts int
	// RetryMin and RetryMax bound the backoff (defaults 2 s and 30 min).
	RetryMin, RetryMax time.Duration
	// PollInterval is how often the relay is asked about uploaded jobs
	// (default 1 min).
	PollInterval time.Duration
	// HoldTimeout expires held jobs nobody released (default 7 days).
	HoldTimeout time.Duration
	// Retention is how long records of finished jobs are kept (default 30
	// days).
	Retention time.Duration
	// KeepSealed keeps the sealed file after upload until the job's record
	// is removed (default: deleted once uploaded).
	KeepSealed bool

	Clock  Clock
	Rand   io.Reader // randomness for keys, nonces, ids and jitter
	Logger *slog.Logger
}

// Spooler is the durable job queue. Create it with Open, feed it with
// Accept, and run its workers with Run.
type Spooler struct {
	opt   Options
	st    *store
	log   *slog.Logger
	clock Clock
	lock  *os.File // exclusive lock on the spool directory

	gc       *groupCommitter // makes accepted jobs durable in batches
	intake   *intakeLog      // where small jobs are made durable first
	settleMu sync.Mutex      // one settleIntake at a time
	inline   int             // largest document sent through the intake log (maxInline; tests change it)

	mu      sync.Mutex
	jobs    map[string]*entry
	accepts int       // Accepts in progress
	idleAt  time.Time // when accepts last fell to zero (real time)
	logged  int       // jobs of s.jobs still in the intake log
	// settling is set while the scheduler's settleIntake runs;
	// settleAfter delays the next one after a failure.
	settling    bool
	settleAfter time.Time
	inBytes     int64 // bytes being received
	// unfinished and unfinishedBytes count the jobs of s.jobs not in a
	// final state and their sizes (see countLocked).
	unfinished      int
	unfinishedBytes int64
	pageURL         string // the jobs page named in messages (see SetPageURL)
	// yieldSince is when a due render or seal step first waited for
	// Accepts in progress (zero when none waits).
	yieldSince time.Time
	closed     bool
	wake       chan struct{}
	cpuSema    chan struct{} // render and seal steps
	netSema    chan struct{} // upload and status steps
	wg         sync.WaitGroup
}

// entry is a job in memory.
type entry struct {
	mu        sync.Mutex // serializes updates of this job
	job       *Job       // replaced (never modified) under Spooler.mu
	running   bool
	logged    bool               // still in the intake log: no step, no update
	cancel    context.CancelFunc // cancels the running step
	notBefore time.Time          // set when recording failed, to avoid spinning
}

// Open opens (or creates) the spool in opt.Dir and loads every job. It
// does not start processing: call Run.
func Open(opt Options) (*Spooler, error) {
	if opt.Dir == "" || opt.Renderer == nil || opt.Sealer == nil || opt.Deliverer == nil {
		return nil, errors.New("spooler: Dir, Renderer, Sealer and Deliverer are required")
	}
	if opt.Rand == nil {
		opt.Rand = rand.Reader
	}
	if opt.Clock == nil {
		opt.Clock = realClock{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Recipients == nil {
		opt.Recipients = func(string) []string { return nil }
	}
	setDefault(&opt.Workers, 2)
	setDefault(&opt.Uploads, 4)
	setDefault(&opt.MaxJobs, 1000)
	setDefault(&opt.MaxBytes, 4<<30)
	setDefault(&opt.MaxAttempts, 12)
	setDefault(&opt.RetryMin, 2*time.Second)
	setDefault(&opt.RetryMax, 30*time.Minute)
	setDefault(&opt.PollInterval, time.Minute)
	setDefault(&opt.HoldTimeout, 7*24*time.Hour)
	setDefault(&opt.Retention, 30*24*time.Hour)
	c, err := newCryptor(opt.Key, opt.Rand)
	if err != nil {
		return nil, err
	}
	s := &Spooler{
		opt:     opt,
		st:      &store{root: opt.Dir, c: c},
		gc:      newGroupCommitter(filepath.Join(opt.Dir, jobsDir)),
		intake:  newIntakeLog(filepath.Join(opt.Dir, intakeDir), 1),
		inline:  maxInline,
		log:     opt.Logger,
		clock:   opt.Clock,
		jobs:    map[string]*entry{},
		wake:    make(chan struct{}, 1),
		cpuSema: make(chan struct{}, opt.Workers),
		netSema: make(chan struct{}, opt.Uploads),
	}
	if err := os.MkdirAll(opt.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create spool: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(opt.Dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	if err := lockFile(lf); err != nil {
		lf.Close()
		if errors.Is(err, ErrLocked) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock spool: %w", err)
	}
	s.lock = lf
	if err := s.load(); err != nil {
		lf.Close()
		return nil, err
	}
	go s.gc.run()
	return s, nil
}

// Close releases the spool for another process. Call it after Run has
// returned (or instead of Run, for a spooler used only to read or change
// jobs).
func (s *Spooler) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
	s.gc.close()
	s.intake.close()
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

func setDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// load reads every job record and tidies what a crash may have left.
func (s *Spooler) load() error {
	if err := s.st.init(); err != nil {
		return err
	}
	next, err := s.replayIntake(filepath.Join(s.opt.Dir, intakeDir))
	if err != nil {
		return err
	}
	s.intake.next = next
	ids, err := s.st.list()
	if err != nil {
		return err
	}
	for _, id := range ids {
		j, err := s.st.readRecord(id)
		if err != nil {
			// Keep the files: a restored keyring may make them readable.
			s.log.Error("spool: cannot read job record; skipping it", "job", id, "err", err)
			continue
		}
		s.st.cleanTemps(id)
		s.dropArtifacts(j)
		s.jobs[id] = &entry{job: j}
		s.countLocked(j, 1)
	}
	s.log.Info("spool: opened", "dir", s.opt.Dir, "jobs", len(s.jobs))
	return nil
}

// dropArtifacts deletes the files a job no longer needs in its state.
func (s *Spooler) dropArtifacts(j *Job) {
	stage := j.Stage
	if j.State.Final() {
		stage = j.State
	}
	var drop []string
	switch stage {
	case Rendered, Held:
		drop = []string{docFile}
	case Sealed:
		drop = []string{docFile, pdfFile}
	case Uploaded, Delivered, Expired:
		drop = []string{docFile, pdfFile}
		if !s.opt.KeepSealed {
			drop = append(drop, sealedFile)
		}
	case Canceled:
		drop = []string{docFile, pdfFile, sealedFile}
	}
	for _, f := range drop {
		if err := s.st.removeFile(j.ID, f); err != nil {
			s.log.Warn("spool: cannot delete artifact", "job", j.ID, "file", f, "err", err)
		}
	}
}

// List returns copies of all jobs, oldest first.
func (s *Spooler) List() []*Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Job, 0, len(s.jobs))
	for _, e := range s.jobs {
		out = append(out, e.job.clone())
	}
	sort.Slice(out, func(i, k int) bool {
		if !out[i].Created.Equal(out[k].Created) {
			return out[i].Created.Before(out[k].Created)
		}
		return out[i].ID < out[k].ID
	})
	return out
}

// Get returns a copy of the job id.
func (s *Spooler) Get(id string) (*Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[id]
	if !ok {
		return nil, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	return e.job.clone(), nil
}

// kick wakes the scheduler.
func (s *Spooler) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// emit reports a change to OnChange.
func (s *Spooler) emit(j *Job, from State) {
	if s.opt.OnChange != nil && j.State != from {
		s.opt.OnChange(Event{Job: j.clone(), From: from, Page: s.PageURL()})
	}
}

// SetPageURL sets the address of the jobs page that messages and
// notifications name, once the service knows where it listens (default
// DefaultPageURL).
func (s *Spooler) SetPageURL(url string) {
	s.mu.Lock()
	s.pageURL = url
	s.mu.Unlock()
}

// PageURL returns the address of the jobs page named in messages.
func (s *Spooler) PageURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pageURL == "" {
		return DefaultPageURL
	}
	return s.pageURL
}
