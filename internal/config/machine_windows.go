package config

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

// Registry keys of the machine settings, the policy key winning.
const (
	machineKey = `SOFTWARE\Sealprint`
	policyKey  = `SOFTWARE\Policies\Sealprint`
)

// maxMachineValue bounds one machine setting.
const maxMachineValue = 64 << 10

var machineNames = []string{MachineRelay, MachineToken, MachineProxy, MachinePAC, MachineCA, MachineQueues, MachineHome, MachineListen}

// MachineSettings reads the machine settings from HKLM\SOFTWARE\Sealprint,
// then HKLM\SOFTWARE\Policies\Sealprint on top. A missing key is no
// setting; a value that is not a string, or too long, is an error.
func MachineSettings() (map[string]string, error) {
	m := map[string]string{}
	for _, path := range []string{machineKey, policyKey} {
		k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE)
		if errors.Is(err, registry.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open HKLM\\%s: %w", path, err)
		}
		for _, name := range machineNames {
			v, _, err := k.GetStringValue(name)
			if errors.Is(err, registry.ErrNotExist) {
				continue
			}
			if err != nil {
				k.Close()
				return nil, fmt.Errorf("HKLM\\%s\\%s: %w", path, name, err)
			}
			if len(v) > maxMachineValue {
				k.Close()
				return nil, fmt.Errorf("HKLM\\%s\\%s: longer than 64 KiB", path, name)
			}
			if v != "" {
				m[name] = v
			}
		}
		k.Close()
	}
	return m, nil
}

// ForgetMachineToken deletes the enrolment token from HKLM\SOFTWARE\Sealprint
// once the service has moved it into its own config file: the registry key
// is readable by every user of the machine.
func ForgetMachineToken() error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, machineKey, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open HKLM\\%s: %w", machineKey, err)
	}
	defer k.Close()
	if err := k.DeleteValue(MachineToken); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("delete HKLM\\%s\\%s: %w", machineKey, MachineToken, err)
	}
	return nil
}
