// Package diskfull recognises the errors of a full disk or an exceeded
// quota, on every platform, so services can answer "try later" (IPP
// server-error-busy, HTTP 507) instead of failing the request for good.
package diskfull

import (
	"errors"
	"runtime"
	"syscall"
)

// Is reports whether err, or an error it wraps, says the disk (or the
// user's quota) is full: a condition that passes.
func Is(err error) bool {
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
