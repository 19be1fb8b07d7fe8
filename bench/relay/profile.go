package main

import (
	"path/filepath"
	"strings"
)

// relayEnv is the environment that makes a sealrelay built with the
// relayprofile tag write its profiles (-profile) under name.
// It also has -relay-env.
func (b *bench) relayEnv(name string) []string {
	env := strings.Fields(b.o.relayEnv)
	if b.o.profile == "" {
		return env
	}
	return append(env, "SEALRELAY_PROFILE="+filepath.Join(b.o.profile, name))
}
