package keyserver

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// UnverifiedTTL is how long an uploaded key none of whose addresses was
// confirmed is kept: its verification links expire by then too (TokenTTL,
// 24 h by default), and the directory must not become free storage.
const UnverifiedTTL = 24 * time.Hour

// SweepUnverified deletes the keys with no confirmed address that were not
// changed for UnverifiedTTL, and returns how many. Admin imports are
// verified, so they stay.
func (h *Handler) SweepUnverified(ctx context.Context) (int, error) {
	fprs, err := h.dir.store.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep unverified keys: %w", err)
	}
	cutoff := h.opts.Now().Add(-UnverifiedTTL)
	n := 0
	for _, fpr := range fprs {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		h.dir.mu.Lock()
		rec, err := h.dir.store.Get(ctx, fpr)
		if err == nil && len(rec.Verified) == 0 && rec.Updated.Before(cutoff) {
			err = h.dir.store.Delete(ctx, fpr)
			if err == nil {
				n++
			}
		}
		h.dir.mu.Unlock()
		if err != nil && !errors.Is(err, ErrNotFound) {
			return n, fmt.Errorf("sweep unverified key %s: %w", fpr, err)
		}
	}
	if n > 0 {
		h.log.Info("unverified keys expired", "count", n)
	}
	return n, nil
}
