package keyserver

import (
	"sync"
	"time"
)

// limiter allows at most max events per key in each window (fixed
// windows). It tracks at most maxKeys keys; when full and nothing has
// expired it forgets the oldest window to make room: a flood of new keys
// (addresses, spoofed or not) must not lock every other client out.
type limiter struct {
	max     int
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	windows map[string]*window
}

type window struct {
	start time.Time
	count int
}

func newLimiter(max int, per time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: per, maxKeys: 100000, now: now, windows: map[string]*window{}}
}

// allow records one event for key and reports whether it is within the
// limit.
func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.windows[key]
	if w == nil || now.Sub(w.start) >= l.window {
		if w == nil && len(l.windows) >= l.maxKeys {
			l.sweep(now)
			if len(l.windows) >= l.maxKeys {
				l.evictOldest()
			}
		}
		w = &window{start: now}
		l.windows[key] = w
	}
	if w.count >= l.max {
		return false
	}
	w.count++
	return true
}

func (l *limiter) sweep(now time.Time) {
	for k, w := range l.windows {
		if now.Sub(w.start) >= l.window {
			delete(l.windows, k)
		}
	}
}

// evictOldest forgets the window that started first.
func (l *limiter) evictOldest() {
	oldest := ""
	var at time.Time
	for k, w := range l.windows {
		if oldest == "" || w.start.Before(at) {
			oldest, at = k, w.start
		}
	}
	delete(l.windows, oldest)
}
