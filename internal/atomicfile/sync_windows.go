package atomicfile

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// SyncDir does nothing on Windows: a directory cannot be opened for
// flushing there (FlushFileBuffers on it answers "Access denied"). Rename
// makes renames durable instead.
func SyncDir(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// Rename replaces newpath with oldpath and returns only once the file
// system has flushed the rename (MOVEFILE_WRITE_THROUGH), which is what a
// directory sync gives on Unix.
func Rename(oldpath, newpath string) error {
	from, err := windows.UTF16PtrFromString(oldpath)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	to, err := windows.UTF16PtrFromString(newpath)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	if err := windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH); err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}
