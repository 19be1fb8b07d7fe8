package cli

import (
	"context"
	"errors"
)

var errNotYet = errors.New("not built yet")

func runKeys(ctx context.Context, e *env, args []string) error   { return errNotYet }
func runSeal(ctx context.Context, e *env, args []string) error   { return errNotYet }
func runOpen(ctx context.Context, e *env, args []string) error   { return errNotYet }
func runEnroll(ctx context.Context, e *env, args []string) error { return errNotYet }
func runSend(ctx context.Context, e *env, args []string) error   { return errNotYet }
func runDemo(ctx context.Context, e *env, args []string) error   { return errNotYet }
