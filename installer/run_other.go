//go:build !windows

package installer

import "context"

// runUnderManager exists for Windows' service control manager only.
func runUnderManager(context.Context, func(ctx context.Context) error) (bool, error) {
	return false, nil
}
