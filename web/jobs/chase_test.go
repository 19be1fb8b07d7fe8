package jobs

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealprint/sealprint/spooler"
)

// recorder captures notifications.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) Notify(title, body string) {
	r.mu.Lock()
	r.got = append(r.got, title+" | "+body)
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.got
	r.got = nil
	return g
}

func uploadedAt(t *testing.T, h *harness, id string, rel spooler.Release) time.Time {
	t.Helper()
	if _, err := h.sp.ReleaseWith(context.Background(), id, rel); err != nil {
		t.Fatal(err)
	}
	h.waitState(id, spooler.Uploaded)
	j, _ := h.sp.Get(id)
	for _, tr := range j.History {
		if tr.State == spooler.Uploaded {
			return tr.At
		}
	}
	t.Fatal("no upload time")
	return time.Time{}
}

func TestChaseDelaysAndDeadline(t *testing.T) {
	h := newHarness(t)
	plain := h.accept("plain")
	withDeadline := h.accept("gav")
	h.waitState(plain, spooler.Held)
	h.waitState(withDeadline, spooler.Held)
	up := uploadedAt(t, h, plain, spooler.Release{To: []string{"a@b.example"}})
	up2 := uploadedAt(t, h, withDeadline, spooler.Release{To: []string{"c@d.example"},
		Options: spooler.SendOptions{Deadline: up.Add(20 * time.Hour)}})
	if up2.Sub(up) > time.Minute {
		t.Fatal("slow machine")
	}
	var now time.Time
	rec := &recorder{}
	var mails []string
	c := NewChaser(h.sp, ChaseOptions{
		After:    func(q string) time.Duration { return map[string]time.Duration{"sealed": 3 * time.Hour}[q] },
		Notifier: rec, Now: func() time.Time { return now },
		Mail: func(_ context.Context, drop string) (bool, error) {
			mails = append(mails, drop)
			return true, nil
		},
	})
	at := func(d time.Duration) []string {
		now = up2.Add(d)
		c.Check(context.Background())
		return rec.take()
	}
	if got := at(2 * time.Hour); len(got) != 0 {
		t.Fatalf("chased before the delay: %v", got)
	}
	got := at(3 * time.Hour)
	if len(got) != 2 || !strings.Contains(got[0], "pas encore ouvert") || len(mails) != 2 {
		t.Fatalf("first delay: %v, mails %v", got, mails)
	}
	if got := at(3*time.Hour + time.Minute); len(got) != 0 {
		t.Fatalf("chased twice: %v", got)
	}
	if got := at(6 * time.Hour); len(got) != 2 {
		t.Fatalf("second delay: %v", got)
	}
	got = at(10 * time.Hour)
	if len(got) != 1 || !strings.Contains(got[0], "gav") || !strings.Contains(got[0], "Échéance") {
		t.Fatalf("half the deadline: %v", got)
	}
	if got := at(17 * time.Hour); len(got) != 0 {
		t.Fatalf("before 90%%: %v", got)
	}
	if got := at(18 * time.Hour); len(got) != 1 {
		t.Fatalf("90%% of the deadline: %v", got)
	}
	if got := at(30 * time.Hour); len(got) != 0 {
		t.Fatalf("after every level: %v", got)
	}
	marks := c.Marks(withDeadline)
	if len(marks) != 4 || marks[3].Level != Chase90 || !marks[0].Mailed {
		t.Fatalf("marks %+v", marks)
	}
	// The page shows the marks.
	w := &web{s: h.sp, opt: Options{Chaser: c}}
	j, _ := h.sp.Get(withDeadline)
	if v := w.view(j, French); len(v.Chased) != 4 {
		t.Fatalf("view %+v", v.Chased)
	}
}

func TestChaseQuietHoursAndOpened(t *testing.T) {
	h := newHarness(t, func(o *spooler.Options) { o.PollInterval = 20 * time.Millisecond })
	id := h.accept("r")
	h.waitState(id, spooler.Held)
	up := uploadedAt(t, h, id, spooler.Release{To: []string{"a@b.example"}})
	night := time.Date(up.Year(), up.Month(), up.Day()+1, 23, 30, 0, 0, time.Local)
	morning := time.Date(up.Year(), up.Month(), up.Day()+2, 7, 5, 0, 0, time.Local)
	now := night
	rec := &recorder{}
	c := NewChaser(h.sp, ChaseOptions{Quiet: QuietHours{From: 22 * 60, To: 7 * 60}, Notifier: rec,
		Now: func() time.Time { return now }, Lang: English})
	c.Check(context.Background())
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("chased in quiet hours: %v", got)
	}
	now = morning
	c.Check(context.Background())
	if got := rec.take(); len(got) != 1 || !strings.Contains(got[0], "not been opened") {
		t.Fatalf("after quiet hours: %v", got)
	}
	// Once opened (verified receipt), no more chases.
	statuses.Store("drop-"+id, spooler.DropStatus{State: "ready", Downloads: 1, Receipts: []string{"p"}, ReceiptTimes: []time.Time{up}})
	waitFor(t, h.sp, id, func(j *spooler.Job) bool { return !j.OpenedAt.IsZero() })
	now = morning.Add(48 * time.Hour)
	c.Check(context.Background())
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("chased after opening: %v", got)
	}
}

func TestParseQuietHours(t *testing.T) {
	q, err := ParseQuietHours("22:00-07:00")
	if err != nil || q != (QuietHours{22 * 60, 7 * 60}) {
		t.Fatal(q, err)
	}
	for _, bad := range []string{"22-07", "25:00-07:00", "22:00", "a:b-c:d"} {
		if _, err := ParseQuietHours(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	day := QuietHours{12 * 60, 14 * 60}
	if !day.Contains(time.Date(2026, 1, 1, 13, 0, 0, 0, time.UTC)) || day.Contains(time.Date(2026, 1, 1, 14, 0, 0, 0, time.UTC)) {
		t.Fatal("daytime window")
	}
}
