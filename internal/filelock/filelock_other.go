//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package filelock

import (
	"errors"
	"os"
)

func tryLock(f *os.File) (bool, error) {
	return false, errors.New("file locks are not supported on this system")
}

func waitLock(f *os.File) error {
	return errors.New("file locks are not supported on this system")
}

func unlock(f *os.File) error { return nil }
