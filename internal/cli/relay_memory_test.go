package cli

import (
	"flag"
	"io"
	"runtime/debug"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "512MiB": 512 << 20, "2 GiB": 2 << 30, "64KiB": 64 << 10, "10B": 10} {
		if n, err := parseByteSize(in); err != nil || n != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, n, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1.5GiB", "12MB", "GiB", "9999999999999GiB"} {
		if _, err := parseByteSize(bad); err == nil {
			t.Errorf("parseByteSize(%q) accepted", bad)
		}
	}
}

// serve's GC target is the relay's default unless $GOGC or --gc-percent
// says otherwise; --memory-limit sets the runtime's soft limit.
func TestRelayMemoryFlags(t *testing.T) {
	oldGC := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(oldGC); debug.SetMemoryLimit(oldLimit) })
	run := func(getenv func(string) string, args ...string) error {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		m := addRelayMemoryFlags(fs)
		if err := fs.Parse(args); err != nil {
			return err
		}
		return m.apply(getenv)
	}
	none := func(string) string { return "" }
	if err := run(none); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetGCPercent(100); got != defaultRelayGCPercent {
		t.Fatalf("default GC percent %d, want %d", got, defaultRelayGCPercent)
	}
	gogc := func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	}
	debug.SetGCPercent(77) // as if the runtime had read GOGC=77
	if err := run(gogc); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetGCPercent(100); got != 77 {
		t.Fatalf("with $GOGC set the GC percent became %d", got)
	}
	if err := run(gogc, "--gc-percent", "30", "--memory-limit", "256MiB"); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetGCPercent(100); got != 30 {
		t.Fatalf("--gc-percent 30 gave %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 256<<20 {
		t.Fatalf("--memory-limit 256MiB gave %d", got)
	}
	if err := run(none, "--memory-limit", "lots"); err == nil {
		t.Fatal("--memory-limit lots accepted")
	}
}
