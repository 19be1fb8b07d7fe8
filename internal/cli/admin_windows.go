//go:build windows

package cli

import "golang.org/x/sys/windows"

// isAdmin reports whether this process may see every user's jobs: an
// elevated administrator.
func isAdmin() bool { return windows.GetCurrentProcessToken().IsElevated() }
