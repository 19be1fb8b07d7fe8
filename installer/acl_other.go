//go:build !windows

package installer

import (
	"fmt"
	"os"
)

// RestrictDir makes dir accessible to its owner only (mode 0700).
func RestrictDir(dir string) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restrict %s: %w", dir, err)
	}
	return nil
}
