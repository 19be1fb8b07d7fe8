package relay

import (
	"context"
	"errors"
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
	s.metrics.sweepQueue.Set(float64(len(drops)))
	n := 0
	for _, d := range drops {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		unlock, err := s.lock(ctx, d.ID)
		if err != nil {
			return n, err
		}
		var event string
		err = s.atomically(ctx, func(ctx context.Context) error {
			var err error
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
			return err
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
			if d.Downloads == 0 && !d.ReadyAt.IsZero() && !d.IsReply() {
				s.notifySender(d, noticeExpired)
			}
		}
	}
	if ds, ok := s.store.(deletionSweeper); ok {
		// Drops left "deleting" (a delete that failed, a replica killed
		// midway) are finished here, each by one replica.
		if _, err := ds.SweepDeletions(ctx, sweepBatch, s.deleteDropData); err != nil {
			return n, err
		}
	}
	if u, ok := s.uploads.(*s3Uploads); ok {
		// Multipart uploads no drop names and tusd's stray temp files.
		if _, err := u.sweepLeftovers(ctx, leftoverAge, time.Now()); err != nil {
			return n, err
		}
	}
	return n, nil
}

// deletionSweeper is implemented by stores that track whether a terminal
// drop's data is deleted yet (PGStore).
type deletionSweeper interface {
	SweepDeletions(ctx context.Context, limit int, del func(ctx context.Context, id string) error) (int, error)
}

// sweepBatch bounds the drops one sweep finishes deleting.
const sweepBatch = 100

// deleteDropData deletes a drop's blob and upload under the upload's lock
// (no PATCH writes parts meanwhile). Deleting what is gone succeeds.
func (s *Server) deleteDropData(ctx context.Context, id string) error {
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	return errors.Join(s.blobs.Delete(ctx, id), s.uploads.remove(ctx, id))
}

// leftoverAge is how old an orphaned multipart upload or temp part file
// must be before the sweeper removes it: older than any upload in flight.
const leftoverAge = 24 * time.Hour

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
