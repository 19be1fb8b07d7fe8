package uploader

import (
	"net"
	"net/url"
	"regexp"
	"strings"
)

// systemSettings are the operating system's proxy settings (Windows:
// Internet Options). They apply after the explicit proxy and PAC, before
// the environment.
type systemSettings struct {
	// PAC is the automatic configuration script URL, if set.
	PAC string
	// Proxy is the manual proxy ("host:port", or "http=a:1;https=b:2"),
	// empty when the manual proxy is off.
	Proxy string
	// Bypass is the exception list ("<local>;*.example;10.*").
	Bypass string
}

// systemProxy is the parsed manual proxy of systemSettings.
type systemProxy struct {
	all, http, https *url.URL
	local            bool // "<local>": plain host names go direct
	bypass           []*regexp.Regexp
}

// parseSystemProxy parses Windows' ProxyServer and ProxyOverride values.
// It returns nil when no usable proxy is set.
func parseSystemProxy(server, bypass string) *systemProxy {
	p := &systemProxy{}
	for _, part := range strings.Split(server, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		proto, addr, found := strings.Cut(part, "=")
		if !found {
			proto, addr = "", part
		}
		u, err := parseProxyURL(strings.TrimSpace(addr))
		if err != nil {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(proto)) {
		case "":
			p.all = u
		case "http":
			p.http = u
		case "https":
			p.https = u
		case "socks":
			if p.all == nil {
				u.Scheme = "socks5"
				p.all = u
			}
		}
	}
	if p.all == nil && p.http == nil && p.https == nil {
		return nil
	}
	for _, b := range strings.Split(bypass, ";") {
		b = strings.ToLower(strings.TrimSpace(b))
		switch {
		case b == "":
		case b == "<local>":
			p.local = true
		default:
			re := "^" + strings.ReplaceAll(regexp.QuoteMeta(b), `\*`, ".*") + "$"
			if r, err := regexp.Compile(re); err == nil {
				p.bypass = append(p.bypass, r)
			}
		}
	}
	return p
}

// proxyFor returns the proxy for target, nil for a direct connection.
func (p *systemProxy) proxyFor(target *url.URL) *url.URL {
	host := strings.ToLower(target.Hostname())
	if p.local && !strings.Contains(host, ".") && net.ParseIP(host) == nil {
		return nil
	}
	for _, r := range p.bypass {
		if r.MatchString(host) || r.MatchString(strings.ToLower(target.Host)) {
			return nil
		}
	}
	switch {
	case target.Scheme == "https" && p.https != nil:
		return p.https
	case target.Scheme == "http" && p.http != nil:
		return p.http
	case p.all != nil:
		return p.all
	}
	return nil
}
