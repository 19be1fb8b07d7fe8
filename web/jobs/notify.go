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

// Notification returns what to tell the sender about an event, in French;
// see NotificationIn.
func Notification(ev spooler.Event) (title, body string, ok bool) {
	return NotificationIn(ev, French)
}

// NotificationIn returns what to tell the sender about an event in l, and
// whether it is worth a notification: a job that needs recipients, failed
// for good, was opened by its recipient, or got a secure reply. A held
// job names the event's jobs page.
func NotificationIn(ev spooler.Event, l Lang) (title, body string, ok bool) {
	j := ev.Job
	switch {
	case ev.NewReplies > 0:
		return l.T("notify.reply"), l.T("notify.reply.body", ev.NewReplies, j.Name), true
	case NeedsPIN(j) && ev.From != spooler.Held:
		return l.T("pin.required"), l.T("notify.pin.body", j.Name), true
	case j.State == spooler.Held && ev.From != spooler.Held:
		page := ev.Page
		if page == "" {
			page = spooler.DefaultPageURL
		}
		return l.T("notify.held"), l.T("notify.held.body", j.Name, page), true
	case j.State == spooler.Failed && j.Permanent:
		return l.T("notify.failed"), l.T("notify.failed.body", j.Name, j.Error), true
	case j.State == spooler.Delivered && ev.From != spooler.Delivered:
		return l.T("notify.opened"), l.T("notify.opened.body", j.Name, l.Recipients(j)), true
	case j.State == spooler.Expired && ev.From == spooler.Uploaded:
		return l.T("notify.expired"), l.T("notify.expired.body", j.Name), true
	}
	return "", "", false
}
