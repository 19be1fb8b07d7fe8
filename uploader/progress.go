package uploader

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress shows the progress of a transfer: a bar with bytes, rate and
// ETA redrawn in place on a terminal, or a plain line every 10% (and at
// most every few seconds) otherwise. Use Update as the progress callback
// and call Done at the end.
type Progress struct {
	w     io.Writer
	tty   bool
	width int
	now   func() time.Time

	mu        sync.Mutex
	start     time.Time
	lastDraw  time.Time
	lastStep  int64
	sent      int64
	total     int64
	finished  bool
	lineDrawn bool
}

// NewProgress returns a progress display writing to w. isTTY selects the
// redrawn bar (use golang.org/x/term.IsTerminal on the output's fd).
func NewProgress(w io.Writer, total int64, isTTY bool) *Progress {
	return &Progress{w: w, tty: isTTY, total: total, width: 24, now: time.Now, lastStep: -1}
}

// Update records that sent of total bytes are done.
func (p *Progress) Update(sent, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	now := p.now()
	if p.start.IsZero() {
		p.start = now
	}
	p.sent, p.total = sent, total
	if p.tty {
		if now.Sub(p.lastDraw) < 100*time.Millisecond && sent < total {
			return
		}
		p.lastDraw = now
		fmt.Fprintf(p.w, "\r%s\x1b[K", p.line(now))
		p.lineDrawn = true
		return
	}
	step := int64(0)
	if total > 0 {
		step = sent * 10 / total
	}
	if step == p.lastStep || (sent < total && now.Sub(p.lastDraw) < 2*time.Second && p.lastStep >= 0) {
		return
	}
	p.lastStep, p.lastDraw = step, now
	fmt.Fprintln(p.w, p.line(now))
}

// Done ends the display (a final newline on a terminal).
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	if p.tty && p.lineDrawn {
		fmt.Fprintf(p.w, "\r%s\x1b[K\n", p.line(p.now()))
	}
}

// line formats the current state.
func (p *Progress) line(now time.Time) string {
	pct := 100.0
	if p.total > 0 {
		pct = float64(p.sent) * 100 / float64(p.total)
	}
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.sent) / elapsed
	}
	eta := "--:--"
	if rate > 0 && p.sent <= p.total {
		eta = formatDuration(time.Duration(float64(p.total-p.sent) / rate * float64(time.Second)))
	}
	s := fmt.Sprintf("%3.0f%% %s / %s  %s/s  ETA %s", pct, FormatBytes(p.sent), FormatBytes(p.total), FormatBytes(int64(rate)), eta)
	if !p.tty {
		return "uploaded " + s
	}
	filled := int(pct / 100 * float64(p.width))
	filled = max(0, min(filled, p.width))
	return "[" + strings.Repeat("=", filled) + strings.Repeat(" ", p.width-filled) + "] " + s
}

// FormatBytes formats n in binary units (KiB, MiB, GiB).
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

func formatDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
