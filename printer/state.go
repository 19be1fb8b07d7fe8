package printer

import (
	"fmt"
	"time"

	"github.com/OpenPrinting/goipp"
)

// PrinterState is the health the spooler reports for the printer.
type PrinterState struct {
	// Accepting is false when new jobs must be refused (spool full, spool
	// key unavailable, …): clients get server-error-not-accepting-jobs
	// and keep the job in their own queue.
	Accepting bool
	// Reasons are printer-state-reasons keywords, e.g. "spool-area-full"
	// (RFC 8011 section 5.4.12); empty means "none".
	Reasons []string
	// Message is the printer-state-message shown to users.
	Message string
}

// state returns the current printer state (always accepting when no
// Config.State is set).
func (s *Server) state() PrinterState {
	st := PrinterState{Accepting: true, Message: "Ready to seal"}
	if s.cfg.State != nil {
		st = s.cfg.State()
	}
	if len(st.Reasons) == 0 {
		st.Reasons = []string{"none"}
	}
	if st.Message == "" {
		st.Message = "Ready to seal"
		if !st.Accepting {
			st.Message = "Not accepting jobs"
		}
	}
	if len(st.Message) > 255 {
		st.Message = st.Message[:255]
	}
	key := fmt.Sprint(st.Accepting, st.Reasons)
	s.configMu.Lock()
	if s.lastState != key {
		if s.lastState != "" {
			s.stateTime = s.cfg.Now()
		}
		s.lastState = key
	}
	s.configMu.Unlock()
	return st
}

// stateChanged returns when the printer state last changed.
func (s *Server) stateChanged() time.Time {
	s.configMu.Lock()
	defer s.configMu.Unlock()
	return s.stateTime
}

// checkAccepting refuses new jobs while the printer does not accept them.
func (s *Server) checkAccepting() error {
	if st := s.state(); !st.Accepting {
		return errorf(goipp.StatusErrorNotAcceptingJobs, "%s", st.Message)
	}
	return nil
}
