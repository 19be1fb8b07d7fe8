package relay

import (
	"context"
	"fmt"
	"sync"
)

// groupSync lets many audit records share one fsync (group commit)
// without any caller returning before its own lines are durable. Its
// fields are guarded by the AuditLog's mutex.
type groupSync struct {
	cond    *sync.Cond
	synced  int64 // lines known to be on disk
	syncing bool  // a sync is under way (the mutex is released meanwhile)
	// err, once set, fails every later record: after a failed fsync
	// nobody knows what of the file reached the disk.
	err error
	// pending are the checkpoints written but not yet synced: a
	// checkpoint is handed out (LastCheckpoint) only once durable, so
	// that no sender keeps one that a crash could take back.
	pending []Checkpoint
	// fsync syncs the file (the file's Sync; tests count and hold it).
	fsync func() error
}

func (g *groupSync) init(mu *sync.Mutex, synced int64, fsync func() error) {
	g.cond = sync.NewCond(mu)
	g.fsync = fsync
	g.synced = synced
}

func (g *groupSync) fail(err error) {
	if g.err == nil {
		g.err = err
	}
	g.cond.Broadcast()
}

// syncTo returns once the first seq lines are on disk.
func (a *AuditLog) syncTo(seq int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.syncToLocked(seq)
}

// syncToLocked is syncTo with a.mu held. One caller at a time fsyncs
// (with the mutex released, so that others go on writing); whoever
// finds a sync under way waits for it and, if it began before their own
// write, for the next one, which covers everything written meanwhile.
func (a *AuditLog) syncToLocked(seq int64) error {
	g := &a.gs
	for g.synced < seq {
		if g.err != nil {
			return g.err
		}
		if g.syncing {
			g.cond.Wait()
			continue
		}
		g.syncing = true
		upto := a.seq
		a.mu.Unlock()
		err := g.fsync()
		a.mu.Lock()
		g.syncing = false
		if err != nil {
			g.fail(fmt.Errorf("audit: %w", err))
			return g.err
		}
		g.synced = max(g.synced, upto)
		a.promoteCheckpoints()
		g.cond.Broadcast()
	}
	return nil
}

// promoteCheckpoints makes the newest synced checkpoint the last one.
func (a *AuditLog) promoteCheckpoints() {
	g := &a.gs
	n := 0
	for n < len(g.pending) && g.pending[n].Seq <= g.synced {
		c := g.pending[n]
		a.last = &c
		n++
	}
	g.pending = append(g.pending[:0], g.pending[n:]...)
}

// commitHooks are run by a batched store transaction before it commits:
// the audit log's fsync of the records written inside it.
type commitHooks struct {
	mu  sync.Mutex
	fns []func() error
}

func (h *commitHooks) add(fn func() error) {
	h.mu.Lock()
	h.fns = append(h.fns, fn)
	h.mu.Unlock()
}

// run calls every hook, in order, and returns the first error.
func (h *commitHooks) run() error {
	h.mu.Lock()
	fns := h.fns
	h.fns = nil
	h.mu.Unlock()
	var first error
	for _, fn := range fns {
		if err := fn(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type commitHooksKey struct{}

// withCommitHooks returns a context whose audit records leave their
// fsync to h.
func withCommitHooks(ctx context.Context, h *commitHooks) context.Context {
	return context.WithValue(ctx, commitHooksKey{}, h)
}

func commitHooksFrom(ctx context.Context) *commitHooks {
	h, _ := ctx.Value(commitHooksKey{}).(*commitHooks)
	return h
}
