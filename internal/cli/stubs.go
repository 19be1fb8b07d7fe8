package cli

import (
	"context"
	"errors"
)

var errNotYet = errors.New("not built yet")

func runDemo(ctx context.Context, e *env, args []string) error { return errNotYet }
