// Command sealrelay is the relay server: it stores sealed documents
// (ciphertext only), serves the recipient's page and the key directory.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sealprint/sealprint/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.RunRelay(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	atExit()
	os.Exit(code)
}

// atExit is replaced by builds that profile (profile.go).
var atExit = func() {}
