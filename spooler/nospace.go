package spooler

import (
	"errors"
	"runtime"
	"syscall"
)

// isNoSpace reports whether err says the disk (or the user's quota) is
// full: a condition that passes, so the job is refused as busy and the
// client retries, rather than aborted.
func isNoSpace(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	if errno == syscall.ENOSPC {
		return true
	}
	if runtime.GOOS == "windows" {
		return errno == 112 || errno == 39 // ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL
	}
	return errno == errQuota
}
