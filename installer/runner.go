package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Runner runs an outside program and returns its combined output.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) (string, error)
}

// ExecRunner runs programs with os/exec. Env, when set, replaces the
// environment of each program (for CUPS_SERVER, LC_ALL).
type ExecRunner struct {
	Env []string
	// Timeout bounds each program (default DefaultCommandTimeout): a
	// spooler command or a PowerShell that hangs must not hold the service
	// or an installer forever.
	Timeout time.Duration
}

// DefaultCommandTimeout is how long one printer-management command may run.
const DefaultCommandTimeout = 3 * time.Minute

// outputGrace is how long Run keeps reading output after the program
// ended, when a process it started still holds its output open.
const outputGrace = 10 * time.Second

// maxOutput bounds what is kept of a program's output.
const maxOutput = 1 << 20

// Run runs name with args and returns its output, at most 1 MiB of it.
func (r ExecRunner) Run(ctx context.Context, name string, args ...string) (string, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = outputGrace
	if r.Env != nil {
		cmd.Env = r.Env
	}
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		// The program succeeded; something it started kept the output.
		err = nil
	}
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("no answer after %v: %w", timeout, err)
	}
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// limitedBuffer keeps the first maxOutput bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}
