package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/web/jobs"
)

const agentUsage = "sealprint agent [--open] [--interval DURATION]"

func runAgent(ctx context.Context, e *env, args []string) error {
	fs := newFlags("agent", agentUsage+`

Runs in each user's session (started at login): watches the background
service and tells the user when a print job waits for recipients or
failed, opening the jobs page where a job is released. With --open it
opens the jobs page once and exits.`, e.stderr)
	open := fs.Bool("open", false, "open the jobs page in the browser and exit")
	interval := fs.Duration("interval", 5*time.Second, "how often the service is asked about jobs")
	if _, err := parsePositional(fs, args, 0, 0, agentUsage); err != nil {
		return err
	}
	if *interval < time.Second {
		return usageError("--interval must be at least 1s")
	}
	home, err := config.Home(e.getenv)
	if err != nil {
		return err
	}
	spool := filepath.Join(home, "spool")
	if *open {
		info, err := jobs.ReadServiceInfo(spool)
		if err != nil {
			return fmt.Errorf("the printer service is not running (no service info in %s): %w", spool, err)
		}
		return openBrowser(ctx, info.URL+"/jobs")
	}
	notify := jobs.DesktopNotifier(nil)
	seen := map[string]spooler.State{}
	first := true
	hc := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for {
		if info, err := jobs.ReadServiceInfo(spool); err == nil {
			c := &jobs.Client{Info: info, HTTP: hc}
			list, err := c.List(ctx)
			if err == nil {
				opened := false
				for _, j := range list {
					was, known := seen[j.ID]
					seen[j.ID] = j.State
					if first || (known && was == j.State) {
						continue
					}
					switch j.State {
					case spooler.Held:
						notify("Impression en attente de destinataires / Print job waiting for recipients", j.Name)
						// Where no notifier exists (Windows), the page itself tells.
						if !opened && !hasNotifier() {
							openBrowser(ctx, info.URL+"/jobs")
							opened = true
						}
					case spooler.Failed:
						notify("Échec de l'envoi / Delivery failed", j.Name)
					}
				}
				first = false
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// hasNotifier reports whether desktop notifications can be shown.
func hasNotifier() bool {
	_, err := exec.LookPath("notify-send")
	return err == nil
}

// openBrowser opens url in the user's default browser.
func openBrowser(ctx context.Context, url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.CommandContext(ctx, "rundll32", "url.dll,FileProtocolHandler", url)
	case "darwin":
		cmd = exec.CommandContext(ctx, "open", url)
	default:
		cmd = exec.CommandContext(ctx, "xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return errors.Join(fmt.Errorf("open %s in a browser", url), err)
	}
	go cmd.Wait()
	return nil
}
