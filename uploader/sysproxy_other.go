//go:build !windows

package uploader

// loadSystemSettings returns nil: outside Windows, the system's proxy
// settings are the environment variables, handled separately.
func loadSystemSettings() *systemSettings { return nil }
