package jobs

import (
	"context"
	"log/slog"
	"os/exec"
	"time"

	"github.com/sealprint/sealprint/spooler"
)

// DesktopNotifier returns a function showing a desktop notification with
// notify-send (freedesktop desktops), or a no-op where there is none.
// Notifications carry the job name and state only, never content or links.
func DesktopNotifier(log *slog.Logger) func(title, body string) {
	path, err := exec.LookPath("notify-send")
	if err != nil {
		return func(string, string) {}
	}
	return func(title, body string) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, path, "--app-name=sealprint", "--", spooler.Clip(title, 100), spooler.Clip(body, 300))
			if err := cmd.Run(); err != nil && log != nil {
				log.Debug("desktop notification failed", "err", err)
			}
		}()
	}
}

// Notification returns what to tell the sender about an event, and whether
// it is worth a notification: a job that needs recipients, failed for good,
// or was opened by its recipient. A held job names the event's jobs page.
func Notification(ev spooler.Event) (title, body string, ok bool) {
	j := ev.Job
	switch {
	case j.State == spooler.Held && ev.From != spooler.Held:
		page := ev.Page
		if page == "" {
			page = spooler.DefaultPageURL
		}
		return "Choose recipients", `"` + j.Name + `" is waiting at ` + page, true
	case j.State == spooler.Failed && j.Permanent:
		return "Sealed print failed", `"` + j.Name + `": ` + j.Error, true
	case j.State == spooler.Delivered && ev.From != spooler.Delivered:
		return "Document opened", `"` + j.Name + `" was opened by ` + j.RecipientSummary(), true
	case j.State == spooler.Expired && ev.From == spooler.Uploaded:
		return "Document expired unopened", `"` + j.Name + `" was not opened in time`, true
	}
	return "", "", false
}
