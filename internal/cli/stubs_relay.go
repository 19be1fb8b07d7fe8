package cli

import "context"

func runRelayServe(ctx context.Context, e *env, args []string) error { return errNotYet }
func runRelayToken(ctx context.Context, e *env, args []string) error { return errNotYet }
func runRelayDrops(ctx context.Context, e *env, args []string) error { return errNotYet }
