package installer

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

const runKeyPath = `SOFTWARE\Microsoft\Windows\CurrentVersion\Run`

// runValue names the agent in the Run key.
const runValue = "Sealprint"

// AddRunKey starts "exe agent" at every user's login through the
// machine-wide Run key. It returns false when the value was already there.
func AddRunKey(exe string) (bool, error) {
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, runKeyPath, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		return false, fmt.Errorf("open Run key: %w", err)
	}
	defer k.Close()
	want := `"` + exe + `" agent`
	if v, _, err := k.GetStringValue(runValue); err == nil && v == want {
		return false, nil
	}
	if err := k.SetStringValue(runValue, want); err != nil {
		return false, fmt.Errorf("set Run key: %w", err)
	}
	return true, nil
}

// RemoveRunKey deletes the agent's Run key value.
func RemoveRunKey() error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, runKeyPath, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("open Run key: %w", err)
	}
	defer k.Close()
	if err := k.DeleteValue(runValue); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("delete Run key value: %w", err)
	}
	return nil
}
