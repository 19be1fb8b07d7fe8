package uploader

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Health is what a call to the relay's /healthz tells about the path to it.
type Health struct {
	// Status is the HTTP status of /healthz (200 when ready).
	Status int
	// Date is the relay's clock (Date header); zero if absent.
	Date time.Time
	// Local is the local time when the answer arrived.
	Local time.Time
	// TLS is the connection state (nil for http://): the certificate
	// chain seen, which differs from the relay's behind a TLS-inspecting
	// proxy.
	TLS *tls.ConnectionState
	// Via is the Via header, set when a proxy handled the request itself.
	Via string
}

// Health calls GET /healthz. Any answer from the relay (even 503) is
// returned without error; transport failures and proxy refusals are errors.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/healthz", nil, false)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.wrapNetError(req, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusProxyAuthRequired {
		return nil, c.proxyAuthError(req, resp)
	}
	h := &Health{Status: resp.StatusCode, Local: c.now(), TLS: resp.TLS, Via: clean(resp.Header.Get("Via"), 200)}
	if d := resp.Header.Get("Date"); d != "" {
		if t, err := http.ParseTime(d); err == nil {
			h.Date = t
		}
	}
	if pe := resp.Header.Get("X-Squid-Error"); pe != "" {
		return h, fmt.Errorf("GET /healthz: proxy answered %s (%s)", resp.Status, clean(pe, 100))
	}
	return h, nil
}
