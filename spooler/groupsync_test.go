package spooler

import (
	"errors"
	"runtime"
	"testing"
)

// A caller waiting while a directory fsync fails gets the error, even when
// the fsync it then runs itself succeeds: its change may have been dropped
// with the failed one.
func TestDirSyncerReportsFailedFsync(t *testing.T) {
	d := newDirSyncer(t.TempDir())
	errDisk := errors.New("injected EIO")
	entered, release := make(chan struct{}), make(chan struct{})
	calls := 0
	d.syncDir = func(string) error {
		calls++
		if calls == 1 {
			close(entered)
			<-release
			return errDisk
		}
		return nil
	}
	first := make(chan error)
	go func() { first <- d.sync() }()
	<-entered
	second := make(chan error)
	go func() { second <- d.sync() }()
	// Wait until the second caller is queued behind the running fsync.
	for {
		d.mu.Lock()
		w := d.waiting
		d.mu.Unlock()
		if w == 1 {
			break
		}
		runtime.Gosched()
	}
	close(release)
	if err := <-first; !errors.Is(err, errDisk) {
		t.Fatalf("the caller whose fsync failed got %v", err)
	}
	if err := <-second; !errors.Is(err, errDisk) {
		t.Fatalf("a caller waiting during the failed fsync got %v, want the failure", err)
	}
	// A caller arriving after the failure is judged by its own fsync.
	if err := d.sync(); err != nil {
		t.Fatalf("a later caller got %v", err)
	}
}
