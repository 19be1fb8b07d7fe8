package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/sealprint/sealprint/internal/cli"
)

// profiledArg, as the first argument, makes this program run `sealrelay
// ARGS…` in process under the CPU, block and mutex profilers, written to
// $RELAYBENCH_PROFILE.{cpu,block,mutex}.pprof when it ends (-profile).
const profiledArg = "profiled-sealrelay"

func runProfiled(args []string) int {
	base := os.Getenv("RELAYBENCH_PROFILE")
	if base == "" {
		fmt.Fprintln(os.Stderr, "RELAYBENCH_PROFILE is not set")
		return 2
	}
	cpu, err := os.Create(base + ".cpu.pprof")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	runtime.SetBlockProfileRate(100_000) // one sample per 100 µs blocked
	runtime.SetMutexProfileFraction(10)
	pprof.StartCPUProfile(cpu)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.RunRelay(ctx, args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	pprof.StopCPUProfile()
	cpu.Close()
	for _, p := range []string{"block", "mutex"} {
		if f, err := os.Create(base + "." + p + ".pprof"); err == nil {
			pprof.Lookup(p).WriteTo(f, 0)
			f.Close()
		}
	}
	return code
}

// relayCommand is the program and leading arguments that run sealrelay:
// the binary itself, or this program profiling it in process.
func (b *bench) relayCommand(name string) (string, []string, []string) {
	if b.o.profile == "" {
		return b.o.sealrelay, nil, nil
	}
	self, _ := os.Executable()
	return self, []string{profiledArg}, []string{"RELAYBENCH_PROFILE=" + filepath.Join(b.o.profile, name)}
}
