package spooler

import (
	"context"
	"slices"
	"time"
)

// maxIdle is the longest the scheduler sleeps without looking at the jobs.
const maxIdle = time.Minute

// maxYield is the longest rendering and sealing wait for documents being
// received (see dispatch): a burst of prints is acknowledged first, but a
// steady stream of them does not stop jobs from moving on.
const maxYield = 2 * time.Second

// Run processes jobs until ctx is canceled: it resumes every unfinished job
// from its last recorded state, then runs each job's next step when it is
// due: at most Options.Workers render or seal steps and Options.Uploads
// relay steps at a time. It returns after the running
// steps have stopped.
func (s *Spooler) Run(ctx context.Context) error {
	defer func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.wg.Wait()
	}()
	for {
		next := s.dispatch(ctx)
		wait := maxIdle
		if !next.IsZero() {
			wait = min(max(next.Sub(s.clock.Now()), 0), maxIdle)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-s.clock.After(wait):
		}
	}
}

// dispatch starts the due steps that fit in the worker pool and returns
// when the next not-yet-due step will be (zero if none).
func (s *Spooler) dispatch(ctx context.Context) time.Time {
	now := s.clock.Now()
	var next time.Time
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx.Err() != nil || s.closed {
		return next
	}
	if s.logged > 0 && !s.settling {
		if now.Before(s.settleAfter) {
			next = earliest(next, s.settleAfter)
		} else if wait, until := s.yieldLocked(now); wait {
			next = earliest(next, until)
		} else {
			s.yieldSince = time.Time{}
			s.settling = true
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				err := s.settleIntake()
				s.mu.Lock()
				s.settling = false
				if err != nil {
					s.settleAfter = s.clock.Now().Add(s.opt.RetryMin)
				}
				s.mu.Unlock()
				s.kick()
			}()
		}
	}
	for _, id := range s.orderLocked() {
		e := s.jobs[id]
		if e.running || e.logged {
			continue
		}
		due, ok := s.due(e.job)
		if !ok {
			continue
		}
		if due.Before(e.notBefore) {
			due = e.notBefore
		}
		if due.After(now) {
			next = earliest(next, due)
			continue
		}
		sema := s.cpuSema
		if st := e.job.State; st == Sealed || st == Uploaded || st == Delivered || (st == Failed && e.job.Stage == Sealed) {
			sema = s.netSema
		}
		if sema == s.cpuSema {
			if wait, until := s.yieldLocked(now); wait {
				next = earliest(next, until)
				continue
			}
		}
		select {
		case sema <- struct{}{}:
		default:
			continue // pool full; a finishing step kicks the scheduler
		}
		if sema == s.cpuSema {
			s.yieldSince = time.Time{}
		}
		stepCtx, cancel := context.WithCancel(ctx)
		e.running, e.cancel = true, cancel
		s.wg.Add(1)
		go func(id string, j *Job) {
			defer s.wg.Done()
			s.step(stepCtx, id, j)
			cancel()
			s.mu.Lock()
			if e, ok := s.jobs[id]; ok {
				e.running, e.cancel = false, nil
			}
			s.mu.Unlock()
			<-sema
			s.kick()
		}(id, e.job.clone())
	}
	return next
}

// earliest returns the earlier of next and t, where a zero next means
// none yet.
func earliest(next, t time.Time) time.Time {
	if next.IsZero() || t.Before(next) {
		return t
	}
	return next
}

// quietAfterAccepts is how long after the last Accept ended background
// work still waits. Clients answered by one group commit all send their
// next document a moment later: without the pause, every commit would
// look like the end of the burst.
const quietAfterAccepts = 25 * time.Millisecond

// yieldLocked says whether background work on the disk and CPU (moving
// jobs out of the intake log, rendering, sealing) waits for documents being
// received, and until when: a burst of prints is acknowledged first, for
// at most maxYield. (The quiet period after the last Accept is measured in
// real time, since it is about this machine's load, and ends with a kick
// from release.)
func (s *Spooler) yieldLocked(now time.Time) (bool, time.Time) {
	busy := s.accepts > 0 || (!s.idleAt.IsZero() && time.Since(s.idleAt) < quietAfterAccepts)
	if !busy {
		return false, time.Time{}
	}
	if s.yieldSince.IsZero() {
		s.yieldSince = now
	}
	until := s.yieldSince.Add(maxYield)
	return now.Before(until), until
}

// orderLocked returns job ids oldest first, so old jobs are not starved.
func (s *Spooler) orderLocked() []string {
	ids := make([]string, 0, len(s.jobs))
	for id := range s.jobs {
		ids = append(ids, id)
	}
	// Ids start with their creation time, so they sort by age.
	slices.Sort(ids)
	return ids
}

// due says when the next step of j is due, and whether it has one.
func (s *Spooler) due(j *Job) (time.Time, bool) {
	switch j.State {
	case Received, Sealed:
		return j.Updated, true
	case Rendered:
		if len(j.Recipients) == 0 {
			return time.Time{}, false
		}
		return j.Updated, true
	case Held:
		return j.Updated.Add(s.opt.HoldTimeout), true
	case Uploaded:
		return j.NextCheck, true
	case Failed:
		if j.Permanent {
			return j.Updated.Add(s.opt.Retention), true
		}
		return j.NextRetry, true
	case Delivered:
		if s.awaitsReceipt(j) {
			return j.NextCheck, true
		}
		return j.Updated.Add(s.opt.Retention), true
	case Canceled, Expired:
		return j.Updated.Add(s.opt.Retention), true
	}
	return time.Time{}, false
}

// awaitsReceipt reports whether a delivered job's drop is still checked
// for receipts and replies: until a receipt arrives, or — for a job sealed
// to recipient keys whose receipts are signed — until each recipient's
// signed receipt has; a drop that takes replies until it expires.
func (s *Spooler) awaitsReceipt(j *Job) bool {
	if j.State != Delivered || j.DropID == "" || j.DropExpires.IsZero() || !s.clock.Now().Before(j.DropExpires) {
		return false
	}
	// A drop that takes replies (its session key gave the relay a reply
	// verifier) is followed until it expires, for the replies.
	if j.Receipts == 0 || len(j.SessionKey) > 0 {
		return true
	}
	return len(j.OpenedBy) > 0 && len(j.OpenedBy) < addressedKeys(j)
}

// addressedKeys counts the keys and link secrets a job was sealed to for
// its recipients (not the archive key).
func addressedKeys(j *Job) int {
	n := len(j.LinkSecrets)
	for _, k := range j.SealedKeys {
		if k.Address != "" {
			n++
		}
	}
	return n
}
