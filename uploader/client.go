// Package uploader is the sender's client of the relay API: drops, the
// resumable (tus) upload, downloads and access codes, over a transport that
// gets through hospital networks: explicit proxy, PAC, environment
// proxies, Basic/NTLM proxy authentication, TLS-inspecting proxies (extra
// CA bundle) and an optional pin of the relay's public key.
package uploader

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Options configure a Client. Zero values give: no explicit proxy, no PAC,
// proxies from the environment, system roots only.
type Options struct {
	// Proxy is an explicit proxy URL (http://[user:pass@]host:port) used
	// for every relay address, loopback included. "direct" disables
	// proxies altogether (PAC and environment too).
	Proxy string
	// PAC is a proxy auto-config script: a URL or a file path.
	PAC string
	// CA is a PEM bundle of extra trusted roots (TLS-inspecting proxies).
	CA string
	// PinSHA256 optionally pins the relay's public key: SHA-256 of its
	// SubjectPublicKeyInfo, hex or base64.
	PinSHA256 string
	// ProxyCredentials authenticate to proxies whose URL carries none
	// (proxies chosen by PAC or the environment). Never logged.
	ProxyCredentials *Credentials
	// Getenv reads the standard proxy variables HTTPS_PROXY, HTTP_PROXY
	// and NO_PROXY (default os.Getenv), used when neither Proxy nor PAC is
	// set. sealprint's own settings come in through the fields above.
	Getenv func(string) string
	// Transport replaces the whole network stack (tests).
	Transport http.RoundTripper
	// Logger receives debug logs (never credentials, tokens or content).
	Logger *slog.Logger

	// Now and Sleep replace the clock for retries (tests).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Retry tunes retries of temporary failures; zero value: defaults.
	Retry RetryPolicy
	// ChunkSize is the first upload chunk size (default 4 MiB); it adapts
	// between MinChunk and MaxChunk.
	ChunkSize, MinChunk, MaxChunk int64
}

var osGetenv = os.Getenv

// Client talks to one relay. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	token    string
	http     *http.Client
	routes   *routingTransport // nil when Options.Transport is set
	logger   *slog.Logger
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	retry    RetryPolicy
	chunk    chunkSizer
	randFunc func() float64
}

// New returns a client of the relay at relayURL (https://host[:port][/prefix])
// authenticating with the enrolment token (may be empty for recipients).
func New(relayURL, token string, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(relayURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("relay URL %q: want https://host[:port]", relayURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	getenv := opts.Getenv
	if getenv == nil {
		getenv = osGetenv
	}
	c := &Client{base: u, token: token, logger: opts.Logger, now: opts.Now, sleep: opts.Sleep,
		retry: opts.Retry.withDefaults(), randFunc: rand.Float64}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	c.chunk = newChunkSizer(opts.ChunkSize, opts.MinChunk, opts.MaxChunk)
	rt := opts.Transport
	if rt == nil {
		tlsCfg, err := tlsConfig(opts.CA, opts.PinSHA256)
		if err != nil {
			return nil, err
		}
		var sysProxy *systemProxy
		if opts.Proxy == "" && opts.PAC == "" {
			// The system's settings (Windows Internet Options) come after
			// sealprint's own.
			if sys := loadSystemSettings(); sys != nil {
				opts.PAC = sys.PAC
				sysProxy = parseSystemProxy(sys.Proxy, sys.Bypass)
			}
		}
		var pac *pacSource
		if opts.PAC != "" && opts.Proxy == "" {
			fetch := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg.Clone(), Proxy: nil}, Timeout: 20 * time.Second}
			fetch.Transport.(*http.Transport).TLSClientConfig.VerifyConnection = nil
			pac = newPACSource(opts.PAC, fetch, c.now)
		}
		sel, err := newProxySelector(opts.Proxy, pac, getenv)
		if err != nil {
			return nil, err
		}
		sel.system = sysProxy
		c.routes = newRoutingTransport(sel, tlsCfg, opts.ProxyCredentials, c.logger)
		rt = c.routes
	}
	c.http = &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a relay never redirects API calls
	}}
	return c, nil
}

// HTTPClient returns the client's HTTP client (same proxies, roots and pin).
func (c *Client) HTTPClient() *http.Client { return c.http }

// BaseURL returns the relay's base URL.
func (c *Client) BaseURL() *url.URL { u := *c.base; return &u }

// ProxyRoute describes how requests to the relay are routed: the source of
// the decision and the proxies to try (nil meaning DIRECT).
func (c *Client) ProxyRoute(ctx context.Context) (source string, proxies []*url.URL, err error) {
	if c.routes == nil {
		return "custom transport", []*url.URL{nil}, nil
	}
	p, err := c.routes.selector.Proxies(ctx, c.base)
	return c.routes.selector.Source(), p, err
}

// url returns the absolute URL of an API path.
func (c *Client) url(path string) string { return c.base.String() + path }

// newRequest builds a request with the token (sender calls) and headers.
func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader, auth bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	if auth && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// maxJSONResponse bounds a JSON answer of the relay.
const maxJSONResponse = 1 << 20

// doJSON sends in (if not nil) as JSON and decodes a 2xx answer into out
// (if not nil). Non-2xx answers become *APIError or *ProxyAuthError.
func (c *Client) doJSON(ctx context.Context, method, path string, auth bool, in, out any, hdr http.Header) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, body, auth)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode != http.StatusNoContent {
		dec := json.NewDecoder(io.LimitReader(resp.Body, maxJSONResponse))
		if err := dec.Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// do sends req and turns error statuses (≥ 300) into typed errors.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.wrapNetError(req, err)
	}
	if resp.StatusCode >= 300 {
		if resp.StatusCode == http.StatusProxyAuthRequired {
			resp.Body.Close()
			return nil, c.proxyAuthError(req, resp)
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, readAPIError(resp))
	}
	return resp, nil
}

// proxyAuthError names the proxy that answered 407 to a plain-http request.
func (c *Client) proxyAuthError(req *http.Request, resp *http.Response) error {
	e := &ProxyAuthError{Proxy: "?", Schemes: authSchemes(resp.Header.Values("Proxy-Authenticate"))}
	if c.routes != nil {
		if p, err := c.routes.httpProxy(req); err == nil && p != nil {
			e.Proxy = p.Host
			if p.User != nil {
				e.User = p.User.Username()
			}
		}
	}
	return e
}

// wrapNetError adds the request to a transport error, dropping the URL
// (url.Error repeats it) to keep messages short.
func (c *Client) wrapNetError(req *http.Request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
}

// isContextError reports whether err comes from a canceled or expired context.
func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// sleepContext waits d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
