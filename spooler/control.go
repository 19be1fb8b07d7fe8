package spooler

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// maxRecipients bounds the recipients of a job (the relay accepts 50).
const maxRecipients = 50

// Release gives a held job its recipients and sends it on its way in key
// mode with the relay's defaults (see ReleaseWith). A job whose sealing
// failed for good may be released again to other recipients.
func (s *Spooler) Release(ctx context.Context, id string, recipients []string) (*Job, error) {
	return s.ReleaseWith(ctx, id, Release{To: recipients})
}

// Cancel stops a job that is not finished. An uploaded job's drop is
// revoked on the relay. Its files are deleted; its record stays until the
// retention ends.
func (s *Spooler) Cancel(ctx context.Context, id string) (*Job, error) {
	now := s.clock.Now()
	j, from, err := s.update(id, func(j *Job) error {
		if j.State.Final() {
			return &StateError{ID: id, State: j.State, Action: "cancel"}
		}
		j.moveTo(Canceled, now, "canceled by the user")
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if e, ok := s.jobs[id]; ok && e.cancel != nil {
		e.cancel()
	}
	s.mu.Unlock()
	s.log.Info("job canceled", "job", id, "from", from)
	s.emit(j, from)
	if j.DropID != "" {
		if err := s.opt.Deliverer.Revoke(ctx, j.DropID); err != nil {
			return j, fmt.Errorf("job %s canceled, but its drop could not be revoked on the relay: %w", id, err)
		}
	}
	return j, nil
}

// Retry makes a failed job try its step again now, even after a permanent
// error.
func (s *Spooler) Retry(ctx context.Context, id string) (*Job, error) {
	now := s.clock.Now()
	j, from, err := s.update(id, func(j *Job) error {
		if j.State != Failed {
			return &StateError{ID: id, State: j.State, Action: "retry"}
		}
		j.Permanent, j.Attempts, j.NextRetry = false, 0, now
		j.Updated = now
		j.History = append(j.History, Transition{State: Failed, At: now, Note: "retry requested"})
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("job retry requested", "job", id)
	s.emit(j, from)
	s.kick()
	return j, nil
}

// normalizeRecipients checks and lower-cases email addresses.
func normalizeRecipients(in []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, r := range in {
		r = strings.ToLower(strings.TrimSpace(r))
		if r == "" || seen[r] {
			continue
		}
		if err := checkEmail(r); err != nil {
			return nil, err
		}
		seen[r] = true
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New("no recipient given")
	}
	if len(out) > maxRecipients {
		return nil, fmt.Errorf("too many recipients (%d, at most %d)", len(out), maxRecipients)
	}
	return out, nil
}

func checkEmail(r string) error {
	a, err := mail.ParseAddress(r)
	if err != nil || a.Address != r || len(r) > 254 || a.Name != "" {
		return fmt.Errorf("%q is not an email address", Clip(r, 80))
	}
	return nil
}
