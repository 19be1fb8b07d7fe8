//go:build relayprofile

package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// With the relayprofile build tag (scripts/bench relay -profile DIR),
// sealrelay runs under the CPU, block and mutex profilers and writes
// $SEALRELAY_PROFILE.{cpu,block,mutex,heap}.pprof and .mem.txt
// (peak memory figures, profile_mem.go) when it exits (heap: read its
// alloc_space for what requests allocated). Release builds have
// none of this.
func init() {
	base := os.Getenv("SEALRELAY_PROFILE")
	if base == "" {
		return
	}
	cpu, err := os.Create(base + ".cpu.pprof")
	if err != nil {
		return
	}
	runtime.SetBlockProfileRate(100_000) // one sample per 100 µs blocked
	runtime.SetMutexProfileFraction(10)
	pprof.StartCPUProfile(cpu)
	stopMem := startMemPeaks(base)
	atExit = func() {
		stopMem()
		pprof.StopCPUProfile()
		cpu.Close()
		for _, p := range []string{"block", "mutex", "heap"} {
			if f, err := os.Create(base + "." + p + ".pprof"); err == nil {
				pprof.Lookup(p).WriteTo(f, 0)
				f.Close()
			}
		}
	}
}
