// Package cli implements the command lines of sealprint (the sender's PC)
// and sealrelay (the relay server). The binaries in cmd/ are thin wrappers
// around Run and RunRelay.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// env carries what a command needs from the outside world, so tests can run
// commands in-process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one subcommand. Sub-subcommands (keys generate, jobs release)
// are dispatched by the command itself with dispatch.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// errUsage marks an error caused by a wrong command line; Run exits 2.
var errUsage = errors.New("usage")

// usageError formats a command-line error that Run reports with exit code 2.
func usageError(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// errHelp is returned when --help was asked for; the help has been printed.
var errHelp = flag.ErrHelp

// Run executes the sealprint command line and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return runTable(ctx, "sealprint", senderCommands(), args, &env{stdin, stdout, stderr, getenv})
}

// RunRelay executes the sealrelay command line and returns the exit code.
func RunRelay(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return runTable(ctx, "sealrelay", relayCommands(), args, &env{stdin, stdout, stderr, getenv})
}

func runTable(ctx context.Context, prog string, cmds []command, args []string, e *env) int {
	err := dispatch(ctx, e, prog, cmds, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(e.stderr, "%s: %s\n", prog, strings.TrimPrefix(err.Error(), "usage: "))
		return 2
	default:
		fmt.Fprintf(e.stderr, "%s: %s\n", prog, oneLine(err.Error()))
		return 1
	}
}

// dispatch runs the command named by args[0] among cmds.
func dispatch(ctx context.Context, e *env, prog string, cmds []command, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printCommands(e.stdout, prog, cmds)
		if len(args) == 0 {
			return usageError("missing command")
		}
		return errHelp
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	return usageError("unknown command %q (try %s --help)", args[0], prog)
}

func printCommands(w io.Writer, prog string, cmds []command) {
	fmt.Fprintf(w, "Usage: %s COMMAND [ARGS]\n\nCommands:\n", prog)
	sorted := append([]command(nil), cmds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s COMMAND --help' for a command's flags.\n", prog)
}

// oneLine folds an error message onto a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
