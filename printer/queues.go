package printer

import (
	"fmt"
	"strings"
)

// Queue is a print queue: /ipp/print/<Name>. Jobs printed to a queue with
// recipients are sealed for them at once; the others are held until
// someone chooses recipients.
type Queue struct {
	Name       string
	Recipients []string
}

// ValidQueueName reports whether name can be used as a queue name: 1 to 127
// ASCII letters, digits, '-', '_' or '.', as CUPS, Windows and URIs accept.
func ValidQueueName(name string) error {
	if name == "" || len(name) > 127 {
		return fmt.Errorf("queue name must be 1 to 127 characters")
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("queue name %q: only letters, digits, '-', '_' and '.' are allowed", name)
		}
	}
	if name == "." || name == ".." {
		return fmt.Errorf("queue name %q is reserved", name)
	}
	return nil
}

// QueueURI returns the IPP URI of queue name on a service listening on
// listen (host:port).
func QueueURI(listen, name string) string {
	return "ipp://" + listen + "/ipp/print/" + name
}

// queues returns the default queue followed by the configured ones.
func (s *Server) queues() []Queue {
	out := []Queue{{Name: DefaultQueue}}
	for _, q := range s.cfg.Queues() {
		if ValidQueueName(q.Name) != nil {
			continue
		}
		if q.Name == DefaultQueue {
			out[0].Recipients = append([]string(nil), q.Recipients...)
			continue
		}
		out = append(out, Queue{Name: q.Name, Recipients: append([]string(nil), q.Recipients...)})
	}
	s.noteQueues(out)
	return out
}

// lookupQueue returns the queue called name.
func (s *Server) lookupQueue(name string) (Queue, bool) {
	for _, q := range s.queues() {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}

// noteQueues bumps the printer configuration time when the queues change.
func (s *Server) noteQueues(qs []Queue) {
	var b strings.Builder
	for _, q := range qs {
		b.WriteString(q.Name + "=" + strings.Join(q.Recipients, ",") + ";")
	}
	s.configMu.Lock()
	if b.String() != s.lastQueues {
		if s.lastQueues != "" {
			s.configTime = s.cfg.Now()
		}
		s.lastQueues = b.String()
	}
	s.configMu.Unlock()
}
