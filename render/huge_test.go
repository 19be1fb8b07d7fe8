package render

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// hugeJob is the size of the raster job of TestHugeRasterBoundedMemory.
const hugeJob = 2 << 30

// pwgStream generates a PWG raster job of at least size bytes on the fly:
// A4 pages at 300 dpi sRGB whose lines are PackBits literals (nothing
// repeats from one pixel to the next), so the input really is that big.
type pwgStream struct {
	lines    [][]byte // encoded lines, used in turn
	header   []byte
	pages    int
	height   int
	page, y  int
	cur      []byte
	started  bool
	finished bool
}

func newPWGStream(size int64) *pwgStream {
	const w, h = 2480, 3508
	s := &pwgStream{header: pwgPageHeader(w, h, 300, cspaceSRGB, 8, 3), height: h}
	line := make([]byte, w*3)
	var lineBytes int64
	for k := 0; k < 64; k++ {
		for x := range line {
			line[x] = byte(x + 5*k)
		}
		enc := packLine(nil, line, 3, 0)
		s.lines = append(s.lines, enc)
		lineBytes = int64(len(enc))
	}
	pageBytes := int64(len(s.header)) + int64(h)*lineBytes
	s.pages = int((size - 4 + pageBytes - 1) / pageBytes)
	return s
}

func (s *pwgStream) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		switch {
		case !s.started:
			s.cur, s.started = []byte("RaS2"), true
		case s.page == s.pages:
			return 0, io.EOF
		case s.y == 0 && !s.finished:
			s.cur, s.finished = s.header, true
		default:
			s.cur = s.lines[s.y%len(s.lines)]
			s.y++
			if s.y == s.height {
				s.y, s.finished = 0, false
				s.page++
			}
		}
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// countWriter discards what it is given and counts it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestHugeRasterBoundedMemory renders a 2 GiB PWG raster job, generated in
// a reader (nothing on disk), in a child process and checks the child's
// peak resident memory.
func TestHugeRasterBoundedMemory(t *testing.T) {
	testutil.NeedIntegration(t)
	if testing.Short() {
		t.Skip("2 GiB job")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHugeRasterChild$", "-test.v")
	cmd.Env = append(os.Environ(), "SEALPRINT_RENDER_HUGE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var rss, heap int64
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "RESULT "); i >= 0 {
			t.Log(strings.TrimSpace(line[i:]))
			fmt.Sscanf(line[i:], "RESULT peak_rss_kib=%d peak_heap_bytes=%d", &rss, &heap)
		}
	}
	if rss == 0 {
		t.Fatalf("no result from child:\n%s", out)
	}
	if rss > 128<<10 {
		t.Fatalf("peak RSS %d MiB, want < 128 MiB", rss>>10)
	}
}

// TestHugeRasterChild is the child half of TestHugeRasterBoundedMemory.
func TestHugeRasterChild(t *testing.T) {
	if os.Getenv("SEALPRINT_RENDER_HUGE_CHILD") != "1" {
		t.Skip("run by TestHugeRasterBoundedMemory")
	}
	var peakHeap uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
			}
		}
	}()
	in := newPWGStream(hugeJob)
	var out countWriter
	start := time.Now()
	info, err := ToPDF(context.Background(), FormatPWG, in, &out, testMeta)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pages != in.pages {
		t.Fatalf("%d pages, want %d", info.Pages, in.pages)
	}
	fmt.Printf("RESULT peak_rss_kib=%d peak_heap_bytes=%d pages=%d in_bytes>=%d out_bytes=%d seconds=%.1f\n",
		vmHWM(t), peakHeap, info.Pages, int64(hugeJob), out.n, time.Since(start).Seconds())
}

// vmHWM returns the process's peak resident set size in KiB.
func vmHWM(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
