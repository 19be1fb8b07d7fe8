package printer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sealprint/sealprint/internal/config"
)

// queue is a resolved print queue.
type queue struct {
	Name       string
	Recipients []string // empty for the default queue: jobs are held
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
func (s *Server) queues() []queue {
	out := []queue{{Name: DefaultQueue}}
	for _, q := range s.cfg.Queues() {
		if ValidQueueName(q.Name) != nil {
			continue
		}
		if q.Name == DefaultQueue {
			out[0].Recipients = append([]string(nil), q.Recipients...)
			continue
		}
		out = append(out, queue{Name: q.Name, Recipients: append([]string(nil), q.Recipients...)})
	}
	s.noteQueues(out)
	return out
}

// lookupQueue returns the queue called name.
func (s *Server) lookupQueue(name string) (queue, bool) {
	for _, q := range s.queues() {
		if q.Name == name {
			return q, true
		}
	}
	return queue{}, false
}

// noteQueues bumps the printer configuration time when the queues change.
func (s *Server) noteQueues(qs []queue) {
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

// QueuesFromFile returns a Config.Queues function that reads the queues
// from the config file in home, re-reading it whenever its modification
// time or size changes, so `sealprint queues add` takes effect without a
// restart. A file that fails to parse keeps the last good queues.
func QueuesFromFile(home string) func() []config.Queue {
	var (
		mu    sync.Mutex
		mtime time.Time
		size  int64 = -1
		last  []config.Queue
	)
	path := filepath.Join(home, config.FileName)
	return func() []config.Queue {
		mu.Lock()
		defer mu.Unlock()
		st, err := os.Stat(path)
		if err != nil {
			if os.IsNotExist(err) {
				last, size = nil, -1
			}
			return last
		}
		if st.ModTime().Equal(mtime) && st.Size() == size {
			return last
		}
		c, err := config.LoadFile(home)
		if err != nil {
			return last
		}
		mtime, size, last = st.ModTime(), st.Size(), c.Queues
		return last
	}
}
