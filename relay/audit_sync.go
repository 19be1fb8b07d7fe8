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

func (h *commitHooks) add(fn ...func() error) {
	h.mu.Lock()
	h.fns = append(h.fns, fn...)
	h.mu.Unlock()
}

// take returns the hooks added so far and forgets them.
func (h *commitHooks) take() []func() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	fns := h.fns
	h.fns = nil
	return fns
}

// run calls every hook, in order, and returns the first error.
func (h *commitHooks) run() error {
	var first error
	for _, fn := range h.take() {
		if err := fn(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// syncSlot is what Server.atomically puts in the context of one change:
// the audit records made under it leave their fsync to the slot. While
// the store runs the change in a batch, the slot points at the batch's
// hooks (synced before the batch commits); records made before are
// pending and join the batch; atomically syncs what is left before it
// returns. So no record is answered before it is durable, and a batch
// of changes shares one audit fsync.
type syncSlot struct {
	mu      sync.Mutex
	batch   *commitHooks
	pending commitHooks
}

// defer_ leaves fn (a sync) to the batch or to the end of the change.
func (sl *syncSlot) defer_(fn func() error) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.batch != nil {
		sl.batch.add(fn)
		return
	}
	sl.pending.add(fn)
}

// join points the slot at a batch's hooks, moving the pending syncs there.
func (sl *syncSlot) join(h *commitHooks) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	sl.batch = h
	h.add(sl.pending.take()...)
}

// leave ends the batch's hold on the slot.
func (sl *syncSlot) leave() {
	sl.mu.Lock()
	sl.batch = nil
	sl.mu.Unlock()
}

// finish runs the syncs no batch took.
func (sl *syncSlot) finish() error { return sl.pending.run() }

type syncSlotKey struct{}

// withSyncSlot returns a context whose audit records leave their fsync
// to sl.
func withSyncSlot(ctx context.Context, sl *syncSlot) context.Context {
	return context.WithValue(ctx, syncSlotKey{}, sl)
}

func syncSlotFrom(ctx context.Context) *syncSlot {
	sl, _ := ctx.Value(syncSlotKey{}).(*syncSlot)
	return sl
}
