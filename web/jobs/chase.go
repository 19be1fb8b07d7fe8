package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sealprint/sealprint/spooler"
)

// Notifier shows a desktop notification. DesktopNotifier returns one for
// notify-send; tests capture notifications with their own.
type Notifier interface {
	Notify(title, body string)
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(title, body string)

// Notify calls f.
func (f NotifierFunc) Notify(title, body string) { f(title, body) }

// Chase levels: why a sender is told a report is still unopened.
const (
	ChaseFirst  = "first"  // the first delay passed
	ChaseSecond = "second" // the second delay passed
	ChaseHalf   = "half"   // half the time to the deadline passed
	Chase90     = "90"     // 90 % of the time to the deadline passed
)

// DefaultChaseAfter is the first chase delay when none is configured.
const DefaultChaseAfter = 2 * time.Hour

// ChaseOptions configure the chaser.
type ChaseOptions struct {
	// After returns the first delay for a queue (0: DefaultChaseAfter);
	// nil means DefaultChaseAfter for every queue.
	After func(queue string) time.Duration
	// Again is the second delay, from the upload too (0: twice the first).
	Again time.Duration
	// Quiet are hours without notifications; a chase due then waits for
	// their end.
	Quiet QuietHours
	// Notifier shows the notifications (required).
	Notifier Notifier
	// Mail, if set, asks the relay to mail the sender about an unopened
	// drop (it does so only when it has SMTP); it reports whether a mail
	// left.
	Mail func(ctx context.Context, dropID string) (bool, error)
	// Lang is the notifications' language (French when empty).
	Lang Lang
	// StateFile, if set, is where the reminders given are kept (see
	// ChaseStateFile), so that a restart neither repeats nor skips one.
	StateFile string
	// Now is the clock (tests); time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// QuietHours is a daily window in local time, [From, To) in minutes after
// midnight; it may span midnight. Equal bounds mean none.
type QuietHours struct{ From, To int }

// ParseQuietHours reads "22:00-07:00" ("" means none).
func ParseQuietHours(s string) (QuietHours, error) {
	if s == "" {
		return QuietHours{}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	from, err1 := parseClock(a)
	to, err2 := parseClock(b)
	if !ok || err1 != nil || err2 != nil {
		return QuietHours{}, fmt.Errorf("quiet hours %q: want HH:MM-HH:MM", spooler.Clip(s, 20))
	}
	return QuietHours{From: from, To: to}, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("bad time of day %q", s)
	}
	return hh*60 + mm, nil
}

// Contains reports whether t (in its location) falls in the window.
func (q QuietHours) Contains(t time.Time) bool {
	if q.From == q.To {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	if q.From < q.To {
		return m >= q.From && m < q.To
	}
	return m >= q.From || m < q.To
}

// ChaseMark is a chase the sender was given, shown on the page.
type ChaseMark struct {
	Level  string    `json:"level"`
	At     time.Time `json:"at"`
	Mailed bool      `json:"mailed,omitempty"`
}

// Chaser tells the sender about reports not opened in time: a desktop
// notification and a mark on the page, at the first and second delays
// and, for a drop with a deadline, at half and 90 % of the time to it;
// and a mail through the relay when it can. Marks are kept in
// ChaseOptions.StateFile, written before each notification: a restart does
// not repeat a reminder given (at worst, a crash between the write and the
// notification loses that one).
type Chaser struct {
	sp  *spooler.Spooler
	opt ChaseOptions
	mu  sync.Mutex
	got map[string][]ChaseMark // job id → chases given
}

// NewChaser returns a chaser over sp's jobs.
func NewChaser(sp *spooler.Spooler, opt ChaseOptions) *Chaser {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Lang == "" {
		opt.Lang = French
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Chaser{sp: sp, opt: opt, got: map[string][]ChaseMark{}}
	c.loadMarks()
	return c
}

// Marks returns the chases given for a job.
func (c *Chaser) Marks(id string) []ChaseMark {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ChaseMark(nil), c.got[id]...)
}

// Run checks every interval until ctx ends.
func (c *Chaser) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check gives the chases that are due now (outside quiet hours): at most
// one per job per call, the highest level due.
func (c *Chaser) Check(ctx context.Context) {
	now := c.opt.Now()
	if c.opt.Quiet.Contains(now.Local()) {
		return
	}
	for _, j := range c.sp.List() {
		level := c.due(j, now)
		if level == "" {
			continue
		}
		mark := ChaseMark{Level: level, At: chaseMarkTime(now)}
		c.mu.Lock()
		c.got[j.ID] = append(c.got[j.ID], mark)
		c.saveMarks()
		c.mu.Unlock()
		title, body := c.message(j, level)
		c.opt.Notifier.Notify(title, body)
		if c.opt.Mail != nil {
			mailed, err := c.opt.Mail(ctx, j.DropID)
			if err != nil {
				c.opt.Logger.Warn("chase mail through the relay failed", "job", j.ID, "err", err)
			}
			c.mu.Lock()
			if m := c.got[j.ID]; len(m) > 0 && mailed {
				m[len(m)-1].Mailed = mailed
				c.saveMarks()
			}
			c.mu.Unlock()
		}
		c.opt.Logger.Info("unopened report chased", "job", j.ID, "level", level)
	}
	c.forget()
}

// due returns the highest chase level j has reached and not been given.
func (c *Chaser) due(j *spooler.Job, now time.Time) string {
	if j.State != spooler.Uploaded || !j.OpenedAt.IsZero() || j.DropID == "" {
		return ""
	}
	var up time.Time
	for _, t := range j.History {
		if t.State == spooler.Uploaded {
			up = t.At
		}
	}
	if up.IsZero() {
		return ""
	}
	first := DefaultChaseAfter
	if c.opt.After != nil {
		if d := c.opt.After(j.Queue); d > 0 {
			first = d
		}
	}
	second := c.opt.Again
	if second <= first {
		second = 2 * first
	}
	elapsed := now.Sub(up)
	var reached []string
	if elapsed >= first {
		reached = append(reached, ChaseFirst)
	}
	if elapsed >= second {
		reached = append(reached, ChaseSecond)
	}
	if dl := j.SendOptionsOf().Deadline; !dl.IsZero() && dl.After(up) {
		span := dl.Sub(up)
		if elapsed >= span/2 {
			reached = append(reached, ChaseHalf)
		}
		if elapsed >= span*9/10 {
			reached = append(reached, Chase90)
		}
	}
	given := map[string]bool{}
	for _, m := range c.Marks(j.ID) {
		given[m.Level] = true
	}
	// The levels reached are given in order, one per check; a level
	// passed while another was pending is not given twice.
	for _, l := range reached {
		if !given[l] {
			return l
		}
	}
	return ""
}

func (c *Chaser) message(j *spooler.Job, level string) (string, string) {
	l := c.opt.Lang
	body := l.T("chase.body", j.Name, l.Recipients(j))
	if dl := j.SendOptionsOf().Deadline; !dl.IsZero() && (level == ChaseHalf || level == Chase90) {
		body += " " + l.T("chase.deadline", l.Date(dl))
	}
	return l.T("chase.title"), body
}

// forget drops the marks of jobs that left the spool.
func (c *Chaser) forget() {
	ids := map[string]bool{}
	for _, j := range c.sp.List() {
		ids[j.ID] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := false
	for id := range c.got {
		if !ids[id] {
			delete(c.got, id)
			changed = true
		}
	}
	if changed {
		c.saveMarks()
	}
}
