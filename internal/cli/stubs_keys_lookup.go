package cli

// Placeholders until the key directory client lands (cmd_keys_lookup.go
// replaces this file).

import "context"

func runKeysLookup(ctx context.Context, e *env, args []string) error {
	return errNotYet
}

func runKeysRefresh(ctx context.Context, e *env, args []string) error {
	return errNotYet
}
