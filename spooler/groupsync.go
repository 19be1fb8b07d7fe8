package spooler

import (
	"sync"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// dirSyncer fsyncs one directory on behalf of concurrent callers: a caller
// waits for a sync that started after it asked, and callers arriving while
// one runs share the next (group commit).
//
// A failed fsync is reported to every caller whose change it may have
// covered — every caller that was waiting when it finished — even if a later
// fsync succeeds: after a failed fsync the kernel may have dropped the dirty
// state, so a later success proves nothing about the earlier changes.
type dirSyncer struct {
	path     string
	syncDir  func(string) error // atomicfile.SyncDir; replaced by fault tests
	mu       sync.Mutex
	cond     *sync.Cond
	started  uint64 // syncs started so far
	done     uint64 // number of the last finished sync
	running  bool
	failures uint64 // failed syncs so far
	lastErr  error  // the error of the last failed sync
	waiting  int    // callers blocked on cond (observed by tests)
}

func newDirSyncer(path string) *dirSyncer {
	d := &dirSyncer{path: path, syncDir: atomicfile.SyncDir}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// sync returns once a directory fsync that began after the call has
// finished, and fails if any fsync that finished meanwhile failed.
func (d *dirSyncer) sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	want := d.started + 1 // the next sync to start begins after our change
	failuresBefore := d.failures
	for d.done < want {
		if d.running {
			d.waiting++
			d.cond.Wait()
			d.waiting--
			continue
		}
		d.running = true
		d.started++
		n := d.started
		d.mu.Unlock()
		err := d.syncDir(d.path)
		d.mu.Lock()
		d.running, d.done = false, n
		if err != nil {
			d.failures++
			d.lastErr = err
		}
		d.cond.Broadcast()
	}
	if d.failures != failuresBefore {
		return d.lastErr
	}
	return nil
}
