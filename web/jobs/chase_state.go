package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/spooler"
)

// ChaseStateFile is the chaser's file in the spool directory: the
// reminders given per job, so that a restarted service neither repeats
// one nor forgets the next. It holds job ids, levels and times only.
const ChaseStateFile = "chase.json"

// maxChaseState bounds the file read back (a mark is ~60 bytes).
const maxChaseState = 4 << 20

// chaseState is the file's content.
type chaseState struct {
	Version int                    `json:"version"`
	Marks   map[string][]ChaseMark `json:"marks"`
}

var chaseLevels = map[string]bool{ChaseFirst: true, ChaseSecond: true, ChaseHalf: true, Chase90: true}

// parseChaseState reads a chase state, refusing anything but known job
// ids and levels, each level at most once per job.
func parseChaseState(r io.Reader) (map[string][]ChaseMark, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxChaseState+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxChaseState {
		return nil, errors.New("chase state too large")
	}
	var st chaseState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("chase state: %w", err)
	}
	if st.Version != 1 {
		return nil, fmt.Errorf("chase state version %d unknown", st.Version)
	}
	out := make(map[string][]ChaseMark, len(st.Marks))
	for id, marks := range st.Marks {
		if !spooler.ValidID(id) {
			return nil, fmt.Errorf("chase state: bad job id %q", spooler.Clip(id, 40))
		}
		seen := map[string]bool{}
		for _, m := range marks {
			if !chaseLevels[m.Level] || seen[m.Level] || m.At.IsZero() {
				return nil, fmt.Errorf("chase state: bad mark %q for job %s", spooler.Clip(m.Level, 20), id)
			}
			seen[m.Level] = true
		}
		if len(marks) > 0 {
			out[id] = marks
		}
	}
	return out, nil
}

// loadMarks reads the chase state file; none yet is an empty state.
func (c *Chaser) loadMarks() {
	if c.opt.StateFile == "" {
		return
	}
	f, err := os.Open(c.opt.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		c.opt.Logger.Warn("cannot read the reminders given; the last may be repeated", "err", err)
		return
	}
	defer f.Close()
	got, err := parseChaseState(f)
	if err != nil {
		c.opt.Logger.Warn("reminders file unreadable; the last may be repeated", "file", c.opt.StateFile, "err", err)
		return
	}
	c.got = got
}

// saveMarks writes the chase state (atomic, fsynced); c.mu is held.
func (c *Chaser) saveMarks() {
	if c.opt.StateFile == "" {
		return
	}
	b, err := json.Marshal(chaseState{Version: 1, Marks: c.got})
	if err == nil {
		err = atomicfile.WriteFile(c.opt.StateFile, b, 0o600)
	}
	if err != nil {
		c.opt.Logger.Warn("cannot record the reminder given; a restart may repeat it", "err", err)
	}
}

// chaseMarkTime keeps marks' times in a form JSON round-trips exactly.
func chaseMarkTime(t time.Time) time.Time { return t.Round(0).UTC() }
