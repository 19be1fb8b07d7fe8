package relay

import (
	"context"
	"time"
)

// Sweep deletes the data of drops that expired or reached their download
// limit, marks them, records it in the audit log and tells the senders of
// drops that expired unopened. It returns how many drops it swept.
func (s *Server) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	drops, err := s.store.DropsToSweep(ctx, now)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range drops {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		unlock, err := s.uploads.lock(ctx, d.ID)
		if err != nil {
			return n, err
		}
		var event string
		d, err = s.store.UpdateDrop(ctx, d.ID, func(d *Drop) error {
			switch st := d.StateAt(now); {
			case d.State != StatePending && d.State != StateReady:
				event = ""
			case st == StateExpired:
				event, d.State = EventExpire, StateExpired
			case st == StateExhausted && s.reading.busy(d.ID, now):
				event = "" // its last download is still being read by ranges
			case st == StateExhausted:
				event, d.State = EventExhaust, StateExhausted
			default:
				event = ""
			}
			if event == "" {
				return nil
			}
			// No state change without its record: a failed write
			// leaves the drop for the next sweep.
			return s.record(ctx, event, d.ID, d.SenderID, d.Downloads)
		})
		if err == nil && event != "" {
			s.deleteBlob(ctx, d.ID)
		}
		unlock()
		if err != nil {
			return n, err
		}
		if event == "" {
			continue
		}
		n++
		if event == EventExpire {
			s.metrics.dropsExpired.Inc()
			if d.Downloads == 0 && !d.ReadyAt.IsZero() {
				s.notifySender(d, noticeExpired)
			}
		}
	}
	return n, nil
}

// RunSweeper calls Sweep every interval until ctx is done.
func (s *Server) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("sweep", "err", err)
		} else if n > 0 {
			s.log.Info("swept drops", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
