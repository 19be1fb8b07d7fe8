package relay

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/sealprint/sealprint/relayapi"
)

// parseCode decodes and checks a code request body.
func parseCode(r io.Reader) (string, error) {
	var req relayapi.CodeRequest
	if err := decodeStrict(r, &req); err != nil {
		return "", err
	}
	if req.Code == "" || len(req.Code) > maxCodeLen {
		return "", errors.New("code must be 1 to 64 characters")
	}
	return req.Code, nil
}

// handleCode serves POST /api/v1/drops/{id}/code. Each attempt is counted
// before the (slow) check, so parallel guesses cannot exceed the limit;
// a right code gives its attempt back.
func (s *Server) handleCode(w http.ResponseWriter, r *http.Request) {
	d, ok := s.readyDrop(w, r)
	if !ok {
		return
	}
	if !d.NeedsCode() {
		writeError(w, http.StatusBadRequest, "this drop needs no access code")
		return
	}
	code, err := parseCode(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// One UPDATE counts the attempt (or locks the drop at the limit)
	// before the code is checked: parallel guesses on any replica cannot
	// exceed the limit.
	var outcome Attempt
	err = s.atomically(r.Context(), func(ctx context.Context) error {
		var err error
		d, outcome, err = s.store.CountCodeAttempt(ctx, d.ID, MaxCodeFailures, func(d *Drop, a Attempt) error {
			if a != AttemptLocked {
				return nil
			}
			return s.record(ctx, EventLock, d.ID, d.SenderID, d.CodeFailures)
		})
		return err
	})
	if err != nil {
		s.internalError(w, r, "count attempt", err)
		return
	}
	switch outcome {
	case AttemptRefused:
		writeGone(w, d.StateAt(s.now()))
		return
	case AttemptLocked:
		s.lockedDrop(r, d)
		writeGone(w, StateLocked)
		return
	}
	locked := false
	good, err := checkCode(d.CodeHash, code)
	if err != nil {
		s.internalError(w, r, "check code", err)
		return
	}
	if good {
		err = s.atomically(r.Context(), func(ctx context.Context) error {
			var err error
			d, err = s.store.UpdateDrop(ctx, d.ID, func(d *Drop) error {
				if d.CodeFailures > 0 {
					d.CodeFailures--
				}
				return s.record(ctx, EventGrant, d.ID, "", 0)
			})
			return err
		})
		if err != nil {
			s.internalError(w, r, "count attempt", err)
			return
		}
		writeJSON(w, http.StatusOK, relayapi.CodeResponse{
			Grant:     newGrant(s.cfg.GrantKey, d.ID, s.now().Add(GrantLifetime)),
			ExpiresIn: int(GrantLifetime.Seconds()),
		})
		return
	}
	if err := s.record(r.Context(), EventCodeFailure, d.ID, "", d.CodeFailures); err != nil {
		s.internalError(w, r, "audit", err)
		return
	}
	s.metrics.codeFailures.Inc()
	if d.CodeFailures >= MaxCodeFailures {
		err = s.atomically(r.Context(), func(ctx context.Context) error {
			var err error
			d, err = s.store.UpdateDrop(ctx, d.ID, func(d *Drop) error {
				locked = d.State != StateLocked
				d.State = StateLocked
				if !locked {
					return nil
				}
				return s.record(ctx, EventLock, d.ID, d.SenderID, d.CodeFailures)
			})
			return err
		})
		if err != nil {
			s.internalError(w, r, "lock drop", err)
			return
		}
		if locked {
			s.lockedDrop(r, d)
		}
		writeGone(w, StateLocked)
		return
	}
	left := MaxCodeFailures - d.CodeFailures
	writeJSON(w, http.StatusForbidden, relayapi.Error{Error: "wrong code", AttemptsLeft: &left})
}

// lockedDrop deletes a locked drop's data and tells the sender (the lock
// was recorded with the state change).
func (s *Server) lockedDrop(r *http.Request, d *Drop) {
	s.metrics.dropsLocked.Inc()
	s.deleteBlob(r.Context(), d.ID)
	s.notifySender(d, noticeLocked)
}
