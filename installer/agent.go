package installer

import (
	"fmt"
	"runtime"
	"strings"
)

// AgentEntry is how the per-user agent is started at login: on macOS a
// launchd agent file to create. On Windows the Run key is used instead
// (AddRunKey). On Linux the system service's home is root's alone, so a
// user's agent could not read it: there is no login entry, and ok is false
// (XDGAutostart gives the entry for a home shared with a group).
func AgentEntry(exe string) (path, content string, ok bool) {
	switch runtime.GOOS {
	case "darwin":
		return "/Library/LaunchAgents/org.sealprint.agent.plist", launchAgent(exe), true
	}
	return "", "", false
}

// XDGAutostart is the freedesktop autostart entry
// (/etc/xdg/autostart/sealprint-agent.desktop) for every user's session.
func XDGAutostart(exe string) string { return xdgAutostart(exe) }

func xdgAutostart(exe string) string {
	return fmt.Sprintf(`[Desktop Entry]
Type=Application
Name=Sealed printer
Name[fr]=Imprimante scellée
Comment=Notifications of sealed print jobs
Comment[fr]=Notifications des impressions scellées
Exec=%s agent
NoDisplay=true
X-GNOME-Autostart-enabled=true
`, desktopQuote(exe))
}

// launchAgent is the launchd agent started in each user's login session.
func launchAgent(exe string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key><string>org.sealprint.agent</string>
	<key>ProgramArguments</key>
	<array><string>%s</string><string>agent</string></array>
	<key>RunAtLoad</key><true/>
	<key>LimitLoadToSessionType</key><string>Aqua</string>
</dict>
</plist>
`, xmlEscape(exe))
}

// desktopQuote quotes a path for a desktop entry's Exec key.
func desktopQuote(s string) string {
	if !strings.ContainsAny(s, " \t\"'\\$`") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`", `$`, `\$`)
	return `"` + r.Replace(s) + `"`
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
