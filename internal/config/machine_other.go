//go:build !windows

package config

// MachineSettings returns no settings outside Windows, where the config
// file (and SEALPRINT_* variables) carry everything.
func MachineSettings() (map[string]string, error) { return nil, nil }

// ForgetMachineToken does nothing outside Windows.
func ForgetMachineToken() error { return nil }
