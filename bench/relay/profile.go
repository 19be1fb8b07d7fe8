package main

import "path/filepath"

// relayEnv is the environment that makes a sealrelay built with the
// relayprofile tag write its profiles (-profile) under name.
func (b *bench) relayEnv(name string) []string {
	if b.o.profile == "" {
		return nil
	}
	return []string{"SEALRELAY_PROFILE=" + filepath.Join(b.o.profile, name)}
}
