package printer

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Loopback is not a trust boundary by itself: a web page on evil.example
// can rebind its name to 127.0.0.1 and then talk to this listener with the
// browser's help (DNS rebinding). Such requests carry the attacker's name in
// Host, and script-initiated ones a foreign Origin. Every request is
// therefore checked for both before anything else, on IPP and on every
// handler added with Handle (the jobs page).

// hostAllowed reports whether the Host header names this listener:
// 127.0.0.1, [::1], localhost, a configured name, or any IP literal (a
// client that dialled an address, not a name, cannot be rebound). An empty
// Host (HTTP/1.0) names nothing foreign.
func (s *Server) hostAllowed(r *http.Request) bool {
	if r.Host == "" {
		return true
	}
	host := hostOnly(r.Host)
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	return s.nameAllowed(host, r)
}

// nameAllowed reports whether host (no port, no brackets) names the
// listener: a loopback name, a configured name, or the IP address the
// connection arrived on.
func (s *Server) nameAllowed(host string, r *http.Request) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	switch host {
	case "127.0.0.1", "::1", "localhost":
		return true
	}
	for _, n := range s.cfg.HostNames {
		if strings.EqualFold(strings.TrimSuffix(n, "."), host) {
			return true
		}
	}
	// The listener's own address, as an IP literal: no name, no rebinding.
	if ip := net.ParseIP(host); ip != nil {
		if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			if ta, ok := la.(*net.TCPAddr); ok && ta.IP.Equal(ip) {
				return true
			}
		}
	}
	return false
}

// originAllowed reports whether the Origin header, when present, is the
// listener's own: http(s)://<a name of the listener>:<the port in Host>.
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Values("Origin")
	if len(o) == 0 {
		return true
	}
	if len(o) > 1 {
		return false
	}
	u, err := url.Parse(o[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Path != "" || u.User != nil {
		return false // includes "null" (sandboxed frames, file://, redirects)
	}
	if !s.nameAllowed(u.Hostname(), r) {
		return false
	}
	return portOf(u.Host, u.Scheme) == portOf(r.Host, "http")
}

// hostOnly returns the host part of a Host header, without port or
// brackets; "" if it is malformed.
func hostOnly(hostport string) string {
	if strings.HasPrefix(hostport, "[") {
		end := strings.Index(hostport, "]")
		if end < 0 {
			return ""
		}
		rest := hostport[end+1:]
		if rest != "" && !strings.HasPrefix(rest, ":") {
			return ""
		}
		return hostport[1:end]
	}
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	if strings.Contains(hostport, ":") {
		return ""
	}
	return hostport
}

// portOf returns the port of a host[:port], or the scheme's default.
func portOf(hostport, scheme string) string {
	if _, p, err := net.SplitHostPort(hostport); err == nil && p != "" {
		return p
	}
	if scheme == "https" {
		return "443"
	}
	return "80"
}
