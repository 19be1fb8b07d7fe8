package printer

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// memSpooler records every accepted document in memory.
type memSpooler struct {
	mu   sync.Mutex
	jobs []JobInfo
	docs map[string][]byte
	fail error // returned by Accept after reading, when set
}

func (m *memSpooler) Accept(ctx context.Context, job JobInfo, doc io.Reader) error {
	b, err := io.ReadAll(doc)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if m.docs == nil {
		m.docs = map[string][]byte{}
	}
	m.jobs = append(m.jobs, job)
	m.docs[job.ID] = b
	return nil
}

func (m *memSpooler) accepted() ([]JobInfo, map[string][]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	docs := map[string][]byte{}
	for k, v := range m.docs {
		docs[k] = v
	}
	return append([]JobInfo(nil), m.jobs...), docs
}

// busyError is a spooler error that asks the client to retry.
type busyError struct{}

func (busyError) Error() string { return "spool full" }
func (busyError) Busy() bool    { return true }

// startServer runs a Server on a loopback port and returns its base URL
// host:port.
func startServer(t testing.TB, sp Spooler, cfg Config, queues ...Queue) (*Server, string) {
	t.Helper()
	if cfg.Queues == nil {
		cfg.Queues = func() []Queue { return queues }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := New(cfg, sp)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, l.Addr().String()
}

// newLocalAccount creates a local account for the test.
func newLocalAccount(t *testing.T) string { return testutil.NewLocalAccount(t) }
