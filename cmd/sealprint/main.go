// Command sealprint is the sender side of sealprint: a virtual printer that
// seals documents with OpenPGP and delivers them to a relay.
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
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
