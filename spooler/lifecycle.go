package spooler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// poll asks the relay whether the recipient has opened the drop.
func (s *Spooler) poll(ctx context.Context, j *Job) {
	st, err := s.opt.Deliverer.Status(ctx, j.DropID)
	now := s.clock.Now()
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("cannot read drop status", "job", j.ID, "drop", j.DropID, "err", err)
		}
		s.touch(j.ID, func(j *Job) { j.NextCheck = now.Add(s.opt.PollInterval) })
		return
	}
	gone := st.State == "expired" || st.State == "revoked" || st.State == "exhausted" || st.State == "locked"
	receipts := 0
	var openedAt time.Time
	openedBy := map[string]time.Time{}
	unsigned := 0
	for i, p := range st.Receipts {
		if s.opt.CheckReceipt == nil || (len(j.SessionKey) > 0 && s.opt.CheckReceipt(j.SessionKey, j.SealedSHA256, p)) {
			receipts++
			var at time.Time
			if i < len(st.ReceiptTimes) {
				at = st.ReceiptTimes[i]
			}
			if !at.IsZero() && (openedAt.IsZero() || at.Before(openedAt)) {
				openedAt = at
			}
			who := ""
			if i < len(st.Signed) {
				who = s.receiptSigner(j, st.Signed[i])
			}
			if who == "" && i < len(st.LinkProofs) {
				who = s.linkOpener(j, st.LinkProofs[i])
			}
			if who == "" {
				unsigned++
			} else if first, ok := openedBy[who]; !ok || at.Before(first) {
				openedBy[who] = at
			}
		}
	}
	replies := keptReplies(st.Replies)
	fresh := newReplies(j.Replies, replies)
	unchanged := st.Downloads == j.Downloads && receipts == j.Receipts && st.State == j.DropState && st.NotifiedAt.Equal(j.MailedAt) &&
		len(openedBy) == len(j.OpenedBy) && sameReplies(j.Replies, replies)
	if unchanged && (j.State == Delivered || (!gone && st.Downloads == 0)) {
		s.touch(j.ID, func(j *Job) {
			j.NextCheck = now.Add(s.pollInterval(j))
			j.keepCheckpoint(st.Checkpoint)
		})
		return
	}
	err = s.commit(j.ID, func(j *Job) error {
		if j.State != Uploaded && j.State != Delivered {
			return errSkip
		}
		j.Downloads, j.Receipts = st.Downloads, receipts
		j.UnsignedReceipts = unsigned
		if len(openedBy) > 0 {
			j.OpenedBy = openedBy
		}
		j.Replies = replies
		j.DropState, j.MailedAt = st.State, st.NotifiedAt
		if st.Downloads > 0 && j.DownloadedAt.IsZero() {
			j.DownloadedAt = now
		}
		if receipts > 0 && j.OpenedAt.IsZero() {
			j.OpenedAt = openedAt
			if openedAt.IsZero() {
				j.OpenedAt = now
			}
		}
		j.NextCheck = now.Add(s.pollInterval(j))
		j.keepCheckpoint(st.Checkpoint)
		switch {
		case j.State == Delivered:
			// Only counting receipts.
		case st.Downloads > 0:
			j.moveTo(Delivered, now, fmt.Sprintf("downloaded %d time(s), %d verified receipt(s)", st.Downloads, receipts))
		case gone:
			j.moveTo(Expired, now, "drop "+st.State+" unopened")
		}
		return nil
	})
	if err == nil && fresh > 0 {
		s.emitReplies(j.ID, fresh)
	}
}

// pollInterval is how long until job j's drop is asked about again: a
// drop already opened and receipted is only followed for its replies,
// five times less often.
func (s *Spooler) pollInterval(j *Job) time.Duration {
	if j.State == Delivered && j.Receipts > 0 {
		return 5 * s.opt.PollInterval
	}
	return s.opt.PollInterval
}

// maxReplies bounds the replies a job keeps (the relay keeps at most 20).
const maxReplies = 50

// keptReplies returns the ready replies in rs (a reply still uploading
// is not worth showing), at most maxReplies of them.
func keptReplies(rs []Reply) []Reply {
	var out []Reply
	for _, r := range rs {
		if r.State == "ready" && len(out) < maxReplies {
			out = append(out, r)
		}
	}
	return out
}

// newReplies counts the replies in now that old does not have.
func newReplies(old, now []Reply) int {
	seen := map[string]bool{}
	for _, r := range old {
		seen[r.ID] = true
	}
	n := 0
	for _, r := range now {
		if !seen[r.ID] {
			n++
		}
	}
	return n
}

func sameReplies(a, b []Reply) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.State != y.State || x.Size != y.Size || x.SHA256 != y.SHA256 ||
			!x.CreatedAt.Equal(y.CreatedAt) || !x.ReadyAt.Equal(y.ReadyAt) {
			return false
		}
	}
	return true
}

// emitReplies tells OnChange that n replies arrived for job id.
func (s *Spooler) emitReplies(id string, n int) {
	if s.opt.OnChange == nil {
		return
	}
	if j, err := s.Get(id); err == nil {
		s.opt.OnChange(Event{Job: j, From: j.State, Page: s.PageURL(), NewReplies: n})
	}
}

// receiptSigner returns the recipient (address, or fingerprint for a key
// without one) whose key signed r, when the signature checks out and the
// key is one the job was sealed to; "" otherwise.
func (s *Spooler) receiptSigner(j *Job, r SignedReceipt) string {
	if r.Signer == "" || s.opt.CheckSignedReceipt == nil {
		return ""
	}
	for _, k := range j.SealedKeys {
		if k.Fingerprint != r.Signer {
			continue
		}
		if !s.opt.CheckSignedReceipt(j.DropID, j.SealedSHA256, r) {
			s.log.Warn("receipt signature does not verify", "job", j.ID, "signer", r.Signer)
			return ""
		}
		if k.Address != "" {
			return k.Address
		}
		return k.Fingerprint
	}
	return ""
}

// linkOpener returns the recipient whose own link secret keyed proof (a
// link-mode receipt's second HMAC); "" when none does. A job released with
// one secret for all its recipients names its recipient only when it has
// one.
func (s *Spooler) linkOpener(j *Job, proof string) string {
	if proof == "" || s.opt.CheckLinkReceipt == nil {
		return ""
	}
	for _, r := range j.Recipients {
		if secret := j.LinkSecrets[r]; secret != "" && s.opt.CheckLinkReceipt(secret, j.SealedSHA256, proof) {
			return r
		}
	}
	if len(j.LinkSecrets) == 0 && j.LinkSecret != "" && len(j.Recipients) == 1 && s.opt.CheckLinkReceipt(j.LinkSecret, j.SealedSHA256, proof) {
		return j.Recipients[0]
	}
	return ""
}

// maxCheckpoints bounds the checkpoints a job keeps.
const maxCheckpoints = 16

// keepCheckpoint adds cp to the job's witnessed checkpoints unless it is
// the one already last, or not a JSON object of reasonable size.
func (j *Job) keepCheckpoint(cp []byte) {
	if len(cp) == 0 || len(cp) > 1024 || !json.Valid(cp) || cp[0] != '{' {
		return
	}
	if n := len(j.Checkpoints); n > 0 && bytes.Equal(j.Checkpoints[n-1], cp) {
		return
	}
	j.Checkpoints = append(j.Checkpoints, append(json.RawMessage(nil), cp...))
	if len(j.Checkpoints) > maxCheckpoints {
		j.Checkpoints = j.Checkpoints[len(j.Checkpoints)-maxCheckpoints:]
	}
}

// expireHeld expires a held job nobody released in time.
func (s *Spooler) expireHeld(j *Job) error {
	now := s.clock.Now()
	return s.commit(j.ID, func(j *Job) error {
		if j.State != Held || now.Before(j.Updated.Add(s.opt.HoldTimeout)) {
			return errSkip
		}
		j.moveTo(Expired, now, "no recipients chosen in time")
		return nil
	})
}

// purge removes a finished job's record once the retention has passed.
func (s *Spooler) purge(id string) {
	s.mu.Lock()
	e, ok := s.jobs[id]
	s.mu.Unlock()
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.mu.Lock()
	j := e.job
	s.mu.Unlock()
	due, _ := s.due(j)
	if !(j.State.Final() || (j.State == Failed && j.Permanent)) || s.clock.Now().Before(due) {
		return
	}
	if err := s.st.removeJob(id); err != nil {
		s.log.Error("cannot remove finished job", "job", id, "err", err)
		return
	}
	s.mu.Lock()
	if e, ok := s.jobs[id]; ok {
		s.countLocked(e.job, -1)
		delete(s.jobs, id)
	}
	s.mu.Unlock()
	s.log.Info("job removed after retention", "job", id, "state", j.State)
}
