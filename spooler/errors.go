package spooler

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned for an unknown job id.
var ErrNotFound = errors.New("no such job")

// ErrLocked is returned by Open when another process (a running
// 'sealprint serve') has the spool open; talk to it instead.
var ErrLocked = errors.New("the spool is in use by a running service")

// ErrClosed is returned by Accept once the spooler is shutting down.
var ErrClosed = errors.New("spooler is closed")

// BusyError is returned by Accept when the spool is full. The printer answers
// server-error-busy, so the client retries later.
type BusyError struct {
	// Reason says which limit was reached.
	Reason string
}

func (e *BusyError) Error() string { return "spool is full: " + e.Reason }

// Busy reports true: the caller should retry later.
func (e *BusyError) Busy() bool { return true }

// StateError is returned when an action does not apply to a job's state,
// e.g. releasing a job that is not held.
type StateError struct {
	ID     string
	State  State
	Action string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("cannot %s job %s: it is %s", e.Action, e.ID, e.State)
}

// confirmError marks an error a person resolves by confirming something.
type confirmError struct{ err error }

func (e *confirmError) Error() string { return e.err.Error() }
func (e *confirmError) Unwrap() error { return e.err }

// NeedsConfirmation wraps a sealing error that a person resolves by
// confirming something — a recipient key seen for the first time — so that
// the spooler holds the job (its message says what to confirm) instead of
// failing it; releasing the job seals it again.
func NeedsConfirmation(err error) error {
	if err == nil {
		return nil
	}
	return &confirmError{err}
}

// IsConfirmation reports whether err asks a person to confirm something.
func IsConfirmation(err error) bool {
	var c *confirmError
	return errors.As(err, &c)
}

// permanentError marks an error that retrying will not fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// Permanent wraps err so that the spooler stops retrying the job: a corrupt
// document, an unknown recipient key, a refused token. Stages may also return
// any error with a method Permanent() bool.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, says it is
// permanent.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
