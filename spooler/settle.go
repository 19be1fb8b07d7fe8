package spooler

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// settleBatch is how many jobs settleIntake moves into jobs/ per group
// commit (each holds two open files until then).
const settleBatch = 32

// settleIntake moves the jobs of every intake segment into jobs/<id>/,
// deletes the segments, and lets those jobs take their next steps. One
// runs at a time; a caller arriving while one runs waits for it and then
// runs its own, so a job logged before the call is settled when it returns
// nil.
func (s *Spooler) settleIntake() error {
	s.settleMu.Lock()
	defer s.settleMu.Unlock()
	segs := s.intake.takeSealed()
	for i, seg := range segs {
		if err := s.settleSegment(seg); err != nil {
			s.intake.requeue(segs[i:])
			s.log.Error("spool: cannot move received jobs out of the intake log; will retry", "segment", filepath.Base(seg.path), "err", err)
			return err
		}
		s.mu.Lock()
		for _, id := range seg.acked {
			if e, ok := s.jobs[id]; ok && e.logged {
				e.logged = false
				s.logged--
			}
		}
		s.mu.Unlock()
	}
	if len(segs) > 0 {
		s.kick()
	}
	return nil
}

// settleSegment moves the acknowledged jobs of seg into jobs/ and deletes
// the segment.
func (s *Spooler) settleSegment(seg *segment) error {
	s.intake.closeSegment(seg)
	want := make(map[string]bool, len(seg.acked))
	for _, id := range seg.acked {
		want[id] = true
	}
	if err := s.moveEntries(seg.path, want); err != nil {
		return err
	}
	return s.dropSegment(seg.path)
}

// dropSegment deletes a settled segment, durably: only then may its jobs
// move on (see intake.go).
func (s *Spooler) dropSegment(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}

// moveEntries moves the valid entries of the segment at path (only the
// jobs in want, unless want is nil) into jobs/, skipping jobs already
// there, and returns once they are durable.
func (s *Spooler) moveEntries(path string, want map[string]bool) error {
	var batch []*pendingJob
	flush := func() error {
		errs := s.gc.commitNow(batch)
		var first error
		for i, p := range batch {
			for _, f := range p.files {
				f.Close()
			}
			if errs[i] != nil {
				// Not durable: redo it next time.
				os.RemoveAll(p.dir)
				os.RemoveAll(p.final)
				if first == nil {
					first = fmt.Errorf("job %s: %w", p.id, errs[i])
				}
			}
		}
		batch = batch[:0]
		return first
	}
	err := scanSegment(path, func(e intakeEntry) error {
		if want != nil && !want[e.id] {
			return nil
		}
		if _, err := os.Lstat(s.st.jobDir(e.id)); err == nil {
			return nil // moved before a crash
		}
		p, err := s.st.stage(e.id, e.doc, e.record)
		if err != nil {
			return err
		}
		batch = append(batch, p)
		if len(batch) == settleBatch {
			return flush()
		}
		return nil
	})
	if ferr := flush(); err == nil {
		err = ferr
	}
	return err
}

// replayIntake settles the segments a previous run left in intake/ and
// returns the number for the next segment.
func (s *Spooler) replayIntake(dir string) (uint64, error) {
	nums, err := listSegments(dir)
	if err != nil {
		return 0, fmt.Errorf("read spool: %w", err)
	}
	var next uint64 = 1
	for _, n := range nums {
		path := filepath.Join(dir, segmentName(n))
		if err := s.moveEntries(path, nil); err != nil {
			return 0, fmt.Errorf("replay intake log %s: %w", filepath.Base(path), err)
		}
		if err := s.dropSegment(path); err != nil {
			return 0, fmt.Errorf("replay intake log: %w", err)
		}
		s.log.Info("spool: replayed intake log", "segment", filepath.Base(path))
		next = n + 1
	}
	return next, nil
}
