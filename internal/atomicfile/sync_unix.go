//go:build !windows

package atomicfile

import (
	"fmt"
	"os"
)

// SyncDir fsyncs a directory so that renames and creations in it persist.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// Rename replaces newpath with oldpath. On Unix the rename is made durable
// by a SyncDir of the directory afterwards.
func Rename(oldpath, newpath string) error {
	return os.Rename(oldpath, newpath)
}
