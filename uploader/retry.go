package uploader

import (
	"time"
)

// RetryPolicy tunes the retries of temporary failures (network errors,
// 5xx, 408, 409, 423, 429): exponential backoff with jitter.
type RetryPolicy struct {
	// Base is the first delay (default 500 ms); each failure doubles it.
	Base time.Duration
	// Max caps the delay (default 30 s).
	Max time.Duration
	// Attempts is how many failures in a row, without any progress in
	// between, end the operation (default 12).
	Attempts int
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Base <= 0 {
		p.Base = 500 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Second
	}
	if p.Max < p.Base {
		p.Max = p.Base
	}
	if p.Attempts <= 0 {
		p.Attempts = 12
	}
	return p
}

// delay returns the wait before retry number n (1-based): the doubled base,
// capped, with the upper half randomised ("equal jitter") so that many
// clients do not come back at once. rnd returns a number in [0, 1).
func (p RetryPolicy) delay(n int, rnd func() float64) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if d > p.Max {
		d = p.Max
	}
	half := d / 2
	return half + time.Duration(rnd()*float64(d-half))
}

// chunkSizer adapts the PATCH size: it grows while chunks go fast and
// shrinks after a failure or a slow chunk, so that a failure costs little
// and a good link is used well.
type chunkSizer struct {
	cur, min, max int64
}

// Target durations of one chunk.
const (
	fastChunk = 2 * time.Second
	slowChunk = 20 * time.Second
)

func newChunkSizer(start, min, max int64) chunkSizer {
	if min <= 0 {
		min = 256 << 10
	}
	if max <= 0 {
		max = 64 << 20
	}
	if max < min {
		max = min
	}
	if start <= 0 {
		start = 4 << 20
	}
	start = clampInt(start, min, max)
	return chunkSizer{cur: start, min: min, max: max}
}

func clampInt(v, lo, hi int64) int64 {
	return max(lo, min(v, hi))
}

// success records a chunk of n bytes sent in d.
func (s *chunkSizer) success(n int64, d time.Duration) {
	switch {
	case n >= s.cur && d < fastChunk:
		s.cur = clampInt(s.cur*2, s.min, s.max)
	case d > slowChunk:
		s.cur = clampInt(s.cur/2, s.min, s.max)
	}
}

// failure records a failed chunk.
func (s *chunkSizer) failure() { s.cur = clampInt(s.cur/2, s.min, s.max) }
