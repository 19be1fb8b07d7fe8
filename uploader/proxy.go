package uploader

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpproxy"
)

// Credentials authenticate to a proxy. User may be "DOMAIN\user" for NTLM.
type Credentials struct {
	User     string
	Password string
}

// proxySelector chooses the proxies for a relay URL, in this order: the
// explicit proxy, the PAC script, then the environment (HTTPS_PROXY,
// HTTP_PROXY, NO_PROXY) or, when no proxy variable is set, the system's
// settings (Windows).
type proxySelector struct {
	explicit *url.URL // may be nil
	direct   bool     // explicit "direct": ignore PAC and environment
	pac      *pacSource
	system   *systemProxy // Windows' manual proxy setting, if any
	env      func(*url.URL) (*url.URL, error)
	envSet   bool // a proxy variable is set: it wins over system settings
}

// newProxySelector builds the selector from the options; getenv supplies
// the environment.
func newProxySelector(proxy string, pac *pacSource, getenv func(string) string) (*proxySelector, error) {
	s := &proxySelector{pac: pac}
	switch p := strings.TrimSpace(proxy); {
	case p == "":
	case strings.EqualFold(p, "direct") || strings.EqualFold(p, "none"):
		s.direct = true
	default:
		u, err := parseProxyURL(p)
		if err != nil {
			return nil, err
		}
		s.explicit = u
	}
	env := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return getenv(strings.ToLower(k))
	}
	cfg := httpproxy.Config{
		HTTPProxy:  env("HTTP_PROXY"),
		HTTPSProxy: env("HTTPS_PROXY"),
		NoProxy:    env("NO_PROXY"),
	}
	s.env = cfg.ProxyFunc()
	s.envSet = cfg.HTTPProxy != "" || cfg.HTTPSProxy != ""
	return s, nil
}

// parseProxyURL accepts "http://[user:pass@]host:port", "https://…" or a
// bare "host:port" (taken as http).
func parseProxyURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("proxy URL: %w", redactURLError(err))
	}
	switch u.Scheme {
	case "http", "https", "socks5":
	case "socks5h":
		u.Scheme = "socks5"
	default:
		return nil, fmt.Errorf("proxy URL %s: scheme %q is not supported (use http://, https:// or socks5://)", redact(u), u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("proxy URL %s: no host", redact(u))
	}
	if u.Port() == "" {
		switch u.Scheme {
		case "https":
			u.Host += ":443"
		case "socks5":
			u.Host += ":1080"
		default:
			u.Host += ":80"
		}
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = "", "", "", ""
	return u, nil
}

// redactURLError drops the URL (which may hold a password) from a url.Error.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// redact returns the proxy URL without its password, for messages and logs.
func redact(u *url.URL) string {
	if u == nil {
		return "DIRECT"
	}
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}

// Proxies returns the proxies to try in order for target; a nil entry
// means a direct connection. An empty list never happens: DIRECT is the
// default.
func (s *proxySelector) Proxies(ctx context.Context, target *url.URL) ([]*url.URL, error) {
	switch {
	case s.explicit != nil:
		return []*url.URL{s.explicit}, nil
	case s.direct:
		return []*url.URL{nil}, nil
	case s.pac != nil:
		return s.pac.Proxies(ctx, target)
	case s.system != nil && !s.envSet:
		return []*url.URL{s.system.proxyFor(target)}, nil
	}
	u, err := s.env(target)
	if err != nil {
		return nil, fmt.Errorf("proxy from environment: %w", redactURLError(err))
	}
	if u != nil {
		if u, err = parseProxyURL(u.String()); err != nil {
			return nil, err
		}
	}
	return []*url.URL{u}, nil
}

// Source describes where the proxy decision comes from, for doctor.
func (s *proxySelector) Source() string {
	switch {
	case s.explicit != nil:
		return "explicit proxy " + redact(s.explicit)
	case s.direct:
		return "direct (proxy disabled)"
	case s.pac != nil:
		return "PAC " + s.pac.location
	case s.system != nil && !s.envSet:
		return "system proxy settings"
	}
	return "environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)"
}

// parsePACResult turns a FindProxyForURL answer ("PROXY a:1; DIRECT") into
// a proxy list (PROXY/HTTP, HTTPS, SOCKS/SOCKS5, DIRECT; SOCKS4 is not
// supported and skipped). An answer with no usable entry is an error.
func parsePACResult(res string) ([]*url.URL, error) {
	if len(res) > 4096 {
		return nil, fmt.Errorf("PAC answer too long (%d bytes)", len(res))
	}
	var out []*url.URL
	for _, part := range strings.Split(res, ";") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "DIRECT":
			if len(f) == 1 {
				out = append(out, nil)
			}
		case "PROXY", "HTTP", "HTTPS", "SOCKS", "SOCKS5":
			if len(f) != 2 || strings.ContainsAny(f[1], "/@?#") {
				continue
			}
			scheme := map[string]string{"HTTPS": "https", "SOCKS": "socks5", "SOCKS5": "socks5"}[strings.ToUpper(f[0])]
			if scheme == "" {
				scheme = "http"
			}
			u, err := parseProxyURL(scheme + "://" + f[1])
			if err == nil {
				out = append(out, u)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("PAC answered %q: no usable proxy (PROXY, HTTPS, SOCKS5 and DIRECT are supported)", clean(res, 200))
	}
	return out, nil
}
