package spooler

import (
	"sync"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// dirSyncer fsyncs one directory on behalf of concurrent callers: a caller
// waits for a sync that started after it asked, and callers arriving while
// one runs share the next (group commit).
type dirSyncer struct {
	path    string
	mu      sync.Mutex
	cond    *sync.Cond
	started uint64 // syncs started so far
	done    uint64 // number of the last finished sync
	running bool
	err     error
}

func newDirSyncer(path string) *dirSyncer {
	d := &dirSyncer{path: path}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// sync returns once a directory fsync that began after the call has
// finished.
func (d *dirSyncer) sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	want := d.started + 1
	if d.running {
		want++ // the running one may have begun before our change
	}
	for d.done < want {
		if d.running {
			d.cond.Wait()
			continue
		}
		d.running = true
		d.started++
		n := d.started
		d.mu.Unlock()
		err := atomicfile.SyncDir(d.path)
		d.mu.Lock()
		d.running, d.done, d.err = false, n, err
		d.cond.Broadcast()
	}
	return d.err
}
