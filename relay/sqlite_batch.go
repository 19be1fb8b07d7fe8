package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// maxWriteBatch bounds how many changes share one SQLite transaction.
const maxWriteBatch = 64

// errStoreClosed answers a change sent after Close.
var errStoreClosed = errors.New("store closed")

// writeOp is one change queued for the writer: fn runs inside the batch's
// transaction, under a savepoint of its own.
type writeOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

// writer is the SQLite store's group commit: one goroutine owns the
// writing connection and runs every change waiting for it in one
// transaction, so that a single commit (one WAL fsync) and a single
// audit-log fsync serve them all. Each change has its own savepoint: one
// that fails is rolled back alone. Nobody is answered before the commit
// that holds their change returns: what a caller is told is durable is.
type writer struct {
	db   *sql.DB
	ops  chan *writeOp
	quit chan struct{}
	stop sync.Once
	wg   sync.WaitGroup
	// waiting counts changes not yet taken by the loop.
	waiting atomic.Int32
	// nBatches counts transactions and nOps changes (tests look at them).
	mu             sync.Mutex
	nBatches, nOps int
}

func newWriter(db *sql.DB) *writer {
	w := &writer{db: db, ops: make(chan *writeOp), quit: make(chan struct{})}
	w.wg.Add(1)
	go w.loop()
	return w
}

// close stops the writer once the changes already taken are done.
func (w *writer) close() {
	w.stop.Do(func() { close(w.quit) })
	w.wg.Wait()
}

// do runs fn in the next batch and returns once that batch is committed
// (fn's error, or the commit's). A context that ends while the change
// waits for its turn drops the change; once it runs, the caller waits for
// the commit.
func (w *writer) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	op := &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	w.waiting.Add(1)
	select {
	case w.ops <- op:
		w.waiting.Add(-1)
	case <-ctx.Done():
		w.waiting.Add(-1)
		return ctx.Err()
	case <-w.quit:
		w.waiting.Add(-1)
		return errStoreClosed
	}
	return <-op.done
}

func (w *writer) loop() {
	defer w.wg.Done()
	for {
		var first *writeOp
		select {
		case first = <-w.ops:
		case <-w.quit:
			return
		}
		batch := []*writeOp{first}
	more:
		for len(batch) < maxWriteBatch {
			select {
			case op := <-w.ops:
				batch = append(batch, op)
			default:
				break more
			}
		}
		w.run(batch)
	}
}

// run commits one batch and answers each of its callers.
func (w *writer) run(batch []*writeOp) {
	errs := make([]error, len(batch))
	answer := func() {
		for i, op := range batch {
			op.done <- errs[i]
		}
	}
	failAll := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		answer()
	}
	w.mu.Lock()
	w.nBatches++
	w.nOps += len(batch)
	w.mu.Unlock()
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		failAll(fmt.Errorf("begin: %w", err))
		return
	}
	defer tx.Rollback()
	hooks := &commitHooks{}
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := tx.Exec(`SAVEPOINT op`); err != nil {
			failAll(fmt.Errorf("savepoint: %w", err))
			return
		}
		sl := syncSlotFrom(op.ctx)
		if sl != nil {
			sl.join(hooks)
		}
		errs[i] = op.fn(context.WithoutCancel(op.ctx), tx)
		if sl != nil {
			sl.leave()
		}
		if errs[i] != nil {
			if _, err := tx.Exec(`ROLLBACK TO op`); err != nil {
				failAll(fmt.Errorf("roll back a change: %w", err))
				return
			}
		}
		if _, err := tx.Exec(`RELEASE op`); err != nil {
			failAll(fmt.Errorf("release: %w", err))
			return
		}
	}
	// The audit records of the batch reach the disk before the changes
	// they record are committed.
	if err := hooks.run(); err != nil {
		failAll(err)
		return
	}
	if err := tx.Commit(); err != nil {
		failAll(fmt.Errorf("commit: %w", err))
		return
	}
	answer()
}

// stats returns the number of batches and of changes committed so far.
func (w *writer) stats() (batches, ops int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nBatches, w.nOps
}
