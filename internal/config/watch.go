package config

import (
	"os"
	"path/filepath"
	"sync"
	"time"
)

// QueueWatcher returns a function that reads the queues from the config
// file in home, re-reading it whenever its modification time or size
// changes, so that `sealprint queues add` takes effect without a restart.
// A file that fails to parse keeps the last good queues; a missing file
// means none.
func QueueWatcher(home string) func() []Queue {
	var (
		mu    sync.Mutex
		mtime time.Time
		size  int64 = -1
		last  []Queue
	)
	path := filepath.Join(home, FileName)
	return func() []Queue {
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
		c, err := LoadFile(home)
		if err != nil {
			return last
		}
		mtime, size, last = st.ModTime(), st.Size(), c.Queues
		return last
	}
}
