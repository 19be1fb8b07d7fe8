package uploader

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestProgressPlain(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, 100<<20, false)
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p.now = clk.now
	for sent := int64(0); sent <= 100<<20; sent += 1 << 20 {
		p.Update(sent, 100<<20)
		clk.t = clk.t.Add(100 * time.Millisecond)
	}
	p.Done()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 5 || len(lines) > 12 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	last := lines[len(lines)-1]
	if !strings.Contains(last, "100% 100.0 MiB / 100.0 MiB") || !strings.Contains(last, "10.0 MiB/s") || strings.Contains(out.String(), "\r") {
		t.Fatalf("last line %q", last)
	}
}

func TestProgressTTY(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, 10<<20, true)
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p.now = clk.now
	p.Update(0, 10<<20)
	clk.t = clk.t.Add(time.Second)
	p.Update(5<<20, 10<<20)
	p.Update(6<<20, 10<<20) // too soon: not drawn
	p.Done()
	s := out.String()
	if strings.Count(s, "\r") != 3 || !strings.HasSuffix(s, "\n") {
		t.Fatalf("%q", s)
	}
	if !strings.Contains(s, "[============            ]  50% 5.0 MiB / 10.0 MiB  5.0 MiB/s  ETA 0:01") {
		t.Fatalf("%q", s)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536 << 20: "1.5 GiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("%d: %s", n, got)
		}
	}
}
