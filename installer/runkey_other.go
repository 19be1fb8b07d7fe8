//go:build !windows

package installer

import "errors"

// AddRunKey exists on Windows only.
func AddRunKey(exe string) (bool, error) {
	return false, errors.New("the Run key exists on Windows only")
}

// RemoveRunKey exists on Windows only.
func RemoveRunKey() error { return nil }
