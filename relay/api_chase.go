package relay

import (
	"net/http"
	"sync"

	"github.com/sealprint/sealprint/relayapi"
)

// maxChaseMails bounds the reminder mails one drop can cause (the client
// chases at most four times: two delays, half and 90 % of a deadline).
const maxChaseMails = 6

// chaseCounts counts the reminder mails sent per drop. It lives in memory:
// a restart resets it, which only allows a few more mails to the sender
// itself.
type chaseCounts struct {
	mu sync.Mutex
	n  map[string]int
}

// take reports whether drop id may have one more reminder, counting it.
func (c *chaseCounts) take(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	if c.n[id] >= maxChaseMails {
		return false
	}
	c.n[id]++
	return true
}

// handleChase serves POST /api/v1/drops/{id}/chase to the drop's sender,
// whose client found the drop not opened in time: the relay mails the
// sender a reminder if it has SMTP and the sender an address. The answer
// says whether a mail left. The relay keeps no schedule: the client
// decides when to chase (its delays, quiet hours and the deadline, which
// only it knows: the deadline travels encrypted).
func (s *Server) handleChase(w http.ResponseWriter, r *http.Request) {
	d, ok := s.ownDrop(w, r)
	if !ok {
		return
	}
	st := d.StateAt(s.now())
	if st != StateReady {
		writeJSON(w, http.StatusConflict, relayapi.Error{Error: "drop is not waiting for its recipient", State: st})
		return
	}
	mailed := false
	if d.Downloads == 0 && s.cfg.Mail != nil && s.chases.take(d.ID) {
		if snd, err := s.store.Sender(r.Context(), d.SenderID); err == nil && snd.Email != "" {
			s.notifySender(d, noticeUnopened)
			mailed = true
		}
	}
	writeJSON(w, http.StatusOK, relayapi.ChaseResponse{Mailed: mailed})
}
