package spooler

import "fmt"

// transitions is the state machine: for each state, the states a job may
// move to. Every recorded change is checked against it.
var transitions = map[State][]State{
	"":        {Received},
	Received:  {Rendered, Failed, Canceled},
	Rendered:  {Held, Sealed, Failed, Canceled},
	Held:      {Rendered, Expired, Canceled},
	Sealed:    {Uploaded, Failed, Canceled},
	Uploaded:  {Delivered, Expired, Canceled},
	Failed:    {Rendered, Sealed, Uploaded, Failed, Canceled},
	Delivered: {},
	Canceled:  {},
	Expired:   {},
}

// allowed reports whether a job may move from one state to another.
func allowed(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// checkTransitions verifies the transitions appended to next's history
// since prev (same-state bookkeeping changes append none).
func checkTransitions(prev, next *Job) error {
	from := prev.State
	n := len(next.History) - len(prev.History)
	if n < 0 || n > len(next.History) {
		n = 0 // history was trimmed; check the last entry only
		if len(next.History) > 0 {
			n = 1
		}
	}
	for _, t := range next.History[len(next.History)-n:] {
		if t.State == from && t.State == Failed {
			continue // a retry request or another failure
		}
		if !allowed(from, t.State) {
			return fmt.Errorf("job %s: invalid transition %s → %s", next.ID, from, t.State)
		}
		from = t.State
	}
	if from != next.State {
		return fmt.Errorf("job %s: state %s does not match its history (%s)", next.ID, next.State, from)
	}
	return nil
}
