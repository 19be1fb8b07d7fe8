package cli

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/sealprint/sealprint/deliver"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/web/jobs"
)

// chaseInterval is how often the chaser looks at the jobs; small enough
// for a delay of seconds (tests) to be honoured promptly.
const chaseInterval = time.Second

// newChaser builds the reminder of unopened reports from config.json's
// "chase" settings.
func newChaser(p *pc, sp *spooler.Spooler, st *deliver.Stages, lang jobs.Lang, n jobs.Notifier, log *slog.Logger) (*jobs.Chaser, error) {
	c := p.cfg.Chase
	var after, again time.Duration
	var err error
	if c.After != "" {
		if after, err = parseDuration(c.After); err != nil {
			return nil, fmt.Errorf("config chase.after: %w", err)
		}
	}
	if c.Again != "" {
		if again, err = parseDuration(c.Again); err != nil {
			return nil, fmt.Errorf("config chase.again: %w", err)
		}
	}
	perQueue := map[string]time.Duration{}
	for q, v := range c.Queues {
		d, err := parseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("config chase.queues[%q]: %w", q, err)
		}
		perQueue[q] = d
	}
	quiet, err := jobs.ParseQuietHours(c.QuietHours)
	if err != nil {
		return nil, fmt.Errorf("config chase.quiet_hours: %w", err)
	}
	return jobs.NewChaser(sp, jobs.ChaseOptions{
		After: func(q string) time.Duration {
			if d, ok := perQueue[q]; ok {
				return d
			}
			return after
		},
		Again: again, Quiet: quiet, Notifier: n, Mail: st.Chase, Lang: lang, Logger: log,
		// The reminders given survive a restart of the service.
		StateFile: filepath.Join(p.home, "spool", jobs.ChaseStateFile),
	}), nil
}

// sendDefaults reads the release form's defaults from config.json.
func sendDefaults(p *pc) (jobs.SendDefaults, error) {
	var d jobs.SendDefaults
	if v := p.cfg.Send.Expires; v != "" {
		ttl, err := parseDuration(v)
		if err != nil {
			return d, fmt.Errorf("config send.expires: %w", err)
		}
		d.Expiry = ttl
	}
	if n := p.cfg.Send.MaxDownloads; n < 0 || n > spooler.MaxDownloadsCap {
		return d, fmt.Errorf("config send.max_downloads: from 0 to %d", spooler.MaxDownloadsCap)
	}
	d.MaxDownloads = p.cfg.Send.MaxDownloads
	return d, nil
}
