//go:build relayprofile

package main

import (
	"fmt"
	"os"
	"runtime/metrics"
	"strings"
	"sync"
	"time"
)

// memPeaks samples the runtime's memory figures every 200 ms and keeps
// each one's peak, with /proc/self/smaps_rollup as it was at the highest
// RSS seen: what makes up the resident set under load (stacks, heap, GC
// headroom), written to $SEALRELAY_PROFILE.mem.txt at exit.
type memPeaks struct {
	mu     sync.Mutex
	peak   map[string]uint64
	rss    uint64
	rollup string
}

var memNames = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/os-stacks:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/total:bytes",
	"/gc/heap/goal:bytes",
	"/sched/goroutines:goroutines",
}

func (m *memPeaks) sample() {
	s := make([]metrics.Sample, len(memNames))
	for i, n := range memNames {
		s[i].Name = n
	}
	metrics.Read(s)
	rollup, _ := os.ReadFile("/proc/self/smaps_rollup")
	var rss uint64
	for _, l := range strings.Split(string(rollup), "\n") {
		if v, ok := strings.CutPrefix(l, "Rss:"); ok {
			fmt.Sscanf(strings.TrimSpace(v), "%d", &rss)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range s {
		if x.Value.Kind() == metrics.KindUint64 && x.Value.Uint64() > m.peak[x.Name] {
			m.peak[x.Name] = x.Value.Uint64()
		}
	}
	if rss > m.rss {
		m.rss, m.rollup = rss, string(rollup)
		for _, x := range s {
			if x.Value.Kind() == metrics.KindUint64 {
				m.peak["at peak RSS "+x.Name] = x.Value.Uint64()
			}
		}
	}
}

func (m *memPeaks) write(path string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	for _, prefix := range []string{"", "at peak RSS "} {
		for _, n := range memNames {
			v := m.peak[prefix+n]
			if strings.HasSuffix(n, ":bytes") {
				fmt.Fprintf(&b, "%s%s %.1f MiB\n", prefix, n, float64(v)/(1<<20))
			} else {
				fmt.Fprintf(&b, "%s%s %d\n", prefix, n, v)
			}
		}
	}
	b.WriteString("smaps_rollup at peak RSS:\n" + m.rollup)
	os.WriteFile(path, []byte(b.String()), 0o644)
}

func startMemPeaks(base string) func() {
	m := &memPeaks{peak: map[string]uint64{}}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
	return func() { close(stop); m.write(base + ".mem.txt") }
}
