package relay

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	tushandler "github.com/tus/tusd/v2/pkg/handler"
)

// pgReleaseChannel carries tusd's release requests between replicas: the
// payload is the upload id whose holder should let go.
const pgReleaseChannel = "sealrelay_tus_release"

// PGLocker is a tusd Locker shared by relay replicas: each held upload
// lock is a session advisory lock on a connection kept for as long as the
// lock is held, and a replica wanting a lock another one holds asks it to
// release through LISTEN/NOTIFY (tusd then ends the holder's request).
// It needs session-level state: PgBouncer in transaction mode breaks it.
type PGLocker struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	// Waits counts lock acquisitions that had to wait, for metrics.
	waits func()

	mu   sync.Mutex
	held map[string]func() // upload id → its holder's requestRelease

	cancel context.CancelFunc
	done   chan struct{}
}

var _ tushandler.Locker = (*PGLocker)(nil)

// NewPGLocker connects a pool of at most maxConns lock connections (each
// held upload takes one) and starts listening for release requests.
func NewPGLocker(ctx context.Context, url string, maxConns int32, log *slog.Logger) (*PGLocker, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("locker: %w", redactURLError(err))
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns + 1 // + the listener
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("locker: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lctx, cancel := context.WithCancel(context.Background())
	l := &PGLocker{pool: pool, log: log, held: map[string]func(){}, cancel: cancel, done: make(chan struct{})}
	ready := make(chan error, 1)
	go l.listen(lctx, ready)
	if err := <-ready; err != nil {
		cancel()
		pool.Close()
		return nil, err
	}
	return l, nil
}

// Close stops listening and closes the lock connections (releasing every
// lock still held).
func (l *PGLocker) Close() error {
	l.cancel()
	<-l.done
	l.pool.Close()
	return nil
}

// listen passes release requests to local holders, reconnecting after
// errors.
func (l *PGLocker) listen(ctx context.Context, ready chan<- error) {
	defer close(l.done)
	first := true
	for ctx.Err() == nil {
		err := l.listenOnce(ctx, func() {
			if first {
				first = false
				ready <- nil
			}
		})
		if first {
			ready <- fmt.Errorf("locker: listen: %w", err)
			return
		}
		if ctx.Err() == nil {
			l.log.Warn("tus lock listener reconnecting", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (l *PGLocker) listenOnce(ctx context.Context, listening func()) error {
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection's LISTEN state must not go back to the pool.
	defer conn.Conn().Close(context.Background())
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+pgReleaseChannel); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.mu.Lock()
		release := l.held[n.Payload]
		l.mu.Unlock()
		if release != nil {
			go release()
		}
	}
}

// lockKey maps an upload id to an advisory lock key.
func lockKey(id string) int64 {
	h := sha256.Sum256([]byte("sealrelay tus " + id))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// NewLock returns the lock of upload id.
func (l *PGLocker) NewLock(id string) (tushandler.Lock, error) {
	return &pgLock{l: l, id: id, key: lockKey(id)}, nil
}

type pgLock struct {
	l    *PGLocker
	id   string
	key  int64
	conn *pgxpool.Conn
}

// Lock takes the advisory lock, asking its holder to release it and
// retrying until ctx ends (then tusd's ErrLockTimeout).
func (p *pgLock) Lock(ctx context.Context, requestRelease func()) error {
	conn, err := p.l.pool.Acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return tushandler.ErrLockTimeout
		}
		return fmt.Errorf("lock upload: %w", err)
	}
	waited := false
	for {
		var got bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", p.key).Scan(&got); err != nil {
			conn.Release()
			if ctx.Err() != nil {
				return tushandler.ErrLockTimeout
			}
			return fmt.Errorf("lock upload: %w", err)
		}
		if got {
			break
		}
		if !waited && p.l.waits != nil {
			p.l.waits()
		}
		waited = true
		if _, err := conn.Exec(ctx, "SELECT pg_notify($1, $2)", pgReleaseChannel, p.id); err != nil && ctx.Err() == nil {
			p.l.log.Warn("tus lock release request", "err", err)
		}
		select {
		case <-ctx.Done():
			conn.Release()
			return tushandler.ErrLockTimeout
		case <-time.After(100 * time.Millisecond):
		}
	}
	p.conn = conn
	p.l.mu.Lock()
	p.l.held[p.id] = requestRelease
	p.l.mu.Unlock()
	return nil
}

// Unlock releases the advisory lock and its connection. If the unlock
// fails the connection is closed, which releases the lock too.
func (p *pgLock) Unlock() error {
	if p.conn == nil {
		return errors.New("unlock: lock not held")
	}
	p.l.mu.Lock()
	delete(p.l.held, p.id)
	p.l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ok bool
	err := p.conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", p.key).Scan(&ok)
	if err != nil || !ok {
		p.conn.Conn().Close(ctx)
	}
	p.conn.Release()
	p.conn = nil
	if err != nil {
		return fmt.Errorf("unlock upload: %w", err)
	}
	return nil
}
