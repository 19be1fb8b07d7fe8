//go:build !windows

package cli

import "os"

// isAdmin reports whether this process may see every user's jobs: root.
func isAdmin() bool { return os.Geteuid() == 0 }
