package jobs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/spooler"
)

// A chaser started again over the same state file does not repeat the
// reminder given and gives the next one; without the file it would
// repeat it.
func TestChaseMarksSurviveRestart(t *testing.T) {
	h := newHarness(t)
	id := h.accept("r")
	h.waitState(id, spooler.Held)
	up := uploadedAt(t, h, id, spooler.Release{To: []string{"a@b.example"}})
	state := filepath.Join(t.TempDir(), ChaseStateFile)
	now := up.Add(2*time.Hour + time.Minute)
	start := func(file string) (*Chaser, *recorder) {
		rec := &recorder{}
		return NewChaser(h.sp, ChaseOptions{Notifier: rec, Now: func() time.Time { return now }, StateFile: file,
			Mail: func(context.Context, string) (bool, error) { return true, nil }}), rec
	}
	c, rec := start(state)
	c.Check(context.Background())
	if got := rec.take(); len(got) != 1 {
		t.Fatalf("first delay: %v", got)
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	// Restart: the first reminder is not given again.
	c, rec = start(state)
	if m := c.Marks(id); len(m) != 1 || m[0].Level != ChaseFirst || !m[0].Mailed {
		t.Fatalf("marks after restart: %+v", m)
	}
	c.Check(context.Background())
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("restart repeated the reminder: %v", got)
	}
	// The next one still comes.
	now = up.Add(4*time.Hour + time.Minute)
	c, rec = start(state)
	c.Check(context.Background())
	if got := rec.take(); len(got) != 1 {
		t.Fatalf("second delay after restart: %v", got)
	}
	if m := c.Marks(id); len(m) != 2 || m[1].Level != ChaseSecond {
		t.Fatalf("marks %+v", m)
	}
	// Without the file, a restart repeats: the file is what prevents it.
	c, rec = start("")
	c.Check(context.Background())
	if got := rec.take(); len(got) != 1 {
		t.Fatalf("without state: %v", got)
	}
}

// A damaged or hostile state file is refused whole (the chaser starts
// empty and says so) rather than half read.
func TestParseChaseStateRefuses(t *testing.T) {
	id := validJobID(t)
	good := `{"version":1,"marks":{"` + id + `":[{"level":"first","at":"2026-01-01T10:00:00Z","mailed":true}]}}`
	if got, err := parseChaseState(strings.NewReader(good)); err != nil || len(got[id]) != 1 || !got[id][0].Mailed {
		t.Fatal(got, err)
	}
	for name, bad := range map[string]string{
		"version":   `{"version":2,"marks":{}}`,
		"level":     `{"version":1,"marks":{"ID":[{"level":"tenth","at":"2026-01-01T10:00:00Z"}]}}`,
		"twice":     `{"version":1,"marks":{"ID":[{"level":"first","at":"2026-01-01T10:00:00Z"},{"level":"first","at":"2026-01-01T11:00:00Z"}]}}`,
		"no time":   `{"version":1,"marks":{"ID":[{"level":"first"}]}}`,
		"bad id":    `{"version":1,"marks":{"../x":[{"level":"first","at":"2026-01-01T10:00:00Z"}]}}`,
		"not json":  `{"version":1,`,
		"too large": `{"version":1,"marks":{},"x":"` + strings.Repeat("x", maxChaseState) + `"}`,
	} {
		bad = strings.ReplaceAll(bad, `"ID"`, `"`+id+`"`)
		if _, err := parseChaseState(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func validJobID(t *testing.T) string {
	h := newHarness(t)
	return h.accept("x")
}

func FuzzParseChaseState(f *testing.F) {
	f.Add([]byte(`{"version":1,"marks":{}}`))
	f.Add([]byte(`{"version":1,"marks":{"x":[{"level":"first","at":"2026-01-01T10:00:00Z","mailed":true}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseChaseState(bytes.NewReader(b))
		if err != nil {
			return
		}
		for id, marks := range got {
			if !spooler.ValidID(id) || len(marks) == 0 || len(marks) > len(chaseLevels) {
				t.Fatalf("accepted %q: %+v", id, marks)
			}
		}
	})
}
