package cli

import (
	"flag"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// defaultRelayGCPercent is sealrelay serve's GC target (GOGC) unless
// --gc-percent or $GOGC says otherwise. The relay's heap is mostly
// buffers that live as long as a download (about 50 KiB per open
// download) and it allocates little per byte sent, so collecting at
// +50% instead of Go's +100% costs little CPU and keeps the resident set
// closer to what the open connections use (docs/relay.md, Sizing).
const defaultRelayGCPercent = 50

// relayMemoryFlags are serve's memory settings.
type relayMemoryFlags struct {
	fs        *flag.FlagSet
	limit     *string
	gcPercent *int
}

func addRelayMemoryFlags(fs *flag.FlagSet) *relayMemoryFlags {
	return &relayMemoryFlags{fs: fs,
		limit: fs.String("memory-limit", "", "soft memory limit of the Go runtime, e.g. 512MiB (as $GOMEMLIMIT; default: $GOMEMLIMIT, else none); "+
			"set it below the container's limit: the relay collects garbage harder as it nears it"),
		gcPercent: fs.Int("gc-percent", defaultRelayGCPercent, "heap growth between collections, percent (as $GOGC; -1: none)"),
	}
}

// apply sets the runtime's memory limit and GC target: the flags when
// given, else $GOMEMLIMIT and $GOGC (which the runtime already read),
// else the relay's GC target.
func (m *relayMemoryFlags) apply(getenv func(string) string) error {
	set := map[string]bool{}
	m.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["memory-limit"] {
		n, err := parseByteSize(*m.limit)
		if err != nil {
			return usageError("--memory-limit: %v", err)
		}
		if n == 0 {
			n = math.MaxInt64
		}
		debug.SetMemoryLimit(n)
	}
	if *m.gcPercent < -1 {
		return usageError("--gc-percent must be -1 or more")
	}
	if set["gc-percent"] || getenv("GOGC") == "" {
		debug.SetGCPercent(*m.gcPercent)
	}
	return nil
}

// parseByteSize reads a size in bytes with an optional KiB, MiB or GiB
// suffix ("0": none).
func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size (bytes, or with KiB, MiB, GiB)", s)
	}
	return n * mult, nil
}
