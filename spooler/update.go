package spooler

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// errSkip tells update that the job changed meanwhile (e.g. it was
// canceled) and nothing must be written.
var errSkip = errors.New("job changed meanwhile")

// update applies fn to a copy of job id and, unless fn fails, records the
// result durably before making it visible. It returns the new job and the
// state before the change. Updates of one job are serialized.
func (s *Spooler) update(id string, fn func(j *Job) error) (*Job, State, error) {
	s.mu.Lock()
	e, ok := s.jobs[id]
	logged := ok && e.logged
	s.mu.Unlock()
	if !ok {
		return nil, "", fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	if logged {
		// Its record is still in the intake log: move it out first.
		if err := s.settleIntake(); err != nil {
			s.mu.Lock()
			cur := e.job
			s.mu.Unlock()
			return cur.clone(), cur.State, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.mu.Lock()
	cur := e.job
	s.mu.Unlock()
	j := cur.clone()
	if err := fn(j); err != nil {
		return cur.clone(), cur.State, err
	}
	if err := checkTransitions(cur, j); err != nil {
		s.log.Error("refusing a state change", "err", err)
		return cur.clone(), cur.State, err
	}
	if err := s.st.writeRecord(j); err != nil {
		return cur.clone(), cur.State, err
	}
	// Files the new state no longer needs go before the state is visible.
	s.dropArtifacts(j)
	s.mu.Lock()
	s.countLocked(e.job, -1)
	e.job = j
	s.countLocked(j, 1)
	s.mu.Unlock()
	return j.clone(), cur.State, nil
}

// touch changes job id in memory only (for bookkeeping that may be lost,
// like the time of the next status check).
func (s *Spooler) touch(id string, fn func(j *Job)) {
	s.mu.Lock()
	e, ok := s.jobs[id]
	s.mu.Unlock()
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.mu.Lock()
	j := e.job.clone()
	fn(j)
	s.countLocked(e.job, -1)
	e.job = j
	s.countLocked(j, 1)
	s.mu.Unlock()
}

// at returns a check for update that the job is still at stage (in that
// state, or failed while leaving it).
func at(j *Job, stage State) error {
	if j.State == stage || (j.State == Failed && j.Stage == stage && !j.Permanent) {
		return nil
	}
	return errSkip
}

// backoff returns the delay before retry number attempt (1-based):
// exponential from RetryMin, capped at RetryMax, with jitter in [d/2, d].
func (s *Spooler) backoff(attempt int) time.Duration {
	d := s.opt.RetryMin
	for i := 1; i < attempt && d < s.opt.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.opt.RetryMax)
	var b [8]byte
	if _, err := io.ReadFull(s.opt.Rand, b[:]); err != nil {
		return d
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + time.Duration(binary.BigEndian.Uint64(b[:])%uint64(half+1))
}
