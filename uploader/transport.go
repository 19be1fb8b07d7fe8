package uploader

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"
)

// userAgent identifies the client to the relay and proxies.
const userAgent = "sealprint-uploader/1"

// targetKey carries the request URL to the dialer, which only sees host:port.
type targetKey struct{}

// routingTransport picks the route (proxies or direct) for each request:
// plain http goes through Go's proxy support, https is tunnelled by
// tunnelDialer so that every proxy authentication scheme works.
type routingTransport struct {
	base     *http.Transport
	selector *proxySelector
	tunnel   *tunnelDialer
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	logger   *slog.Logger
}

func newRoutingTransport(selector *proxySelector, tlsCfg *tls.Config, creds *Credentials, logger *slog.Logger) *routingTransport {
	nd := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	rt := &routingTransport{selector: selector, dial: nd.DialContext, logger: logger}
	rt.tunnel = &tunnelDialer{dial: nd.DialContext, tls: tlsCfg, creds: creds, logger: logger,
		timeout: 60 * time.Second, schemes: map[string]string{}}
	rt.base = &http.Transport{
		Proxy:                 rt.httpProxy,
		DialContext:           rt.dialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		WriteBufferSize:       64 << 10,
		ReadBufferSize:        64 << 10,
	}
	return rt
}

// RoundTrip sends req on the route chosen for its URL.
func (rt *routingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := context.WithValue(req.Context(), targetKey{}, req.URL)
	return rt.base.RoundTrip(req.WithContext(ctx))
}

// CloseIdleConnections closes kept-alive connections.
func (rt *routingTransport) CloseIdleConnections() { rt.base.CloseIdleConnections() }

// httpProxy is the Proxy function for plain-http targets (absolute-form
// requests to the proxy). It takes the first proxy of the list.
func (rt *routingTransport) httpProxy(req *http.Request) (*url.URL, error) {
	if req.URL.Scheme != "http" {
		return nil, nil
	}
	list, err := rt.selector.Proxies(req.Context(), req.URL)
	if err != nil {
		return nil, err
	}
	if p := list[0]; p != nil {
		if p.User == nil && rt.tunnel.creds != nil {
			c := *p
			c.User = url.UserPassword(rt.tunnel.creds.User, rt.tunnel.creds.Password)
			return &c, nil
		}
		return p, nil
	}
	return nil, nil
}

// dialContext dials https targets through their proxies (in the order of
// the list, DIRECT meaning a plain connection) and anything else directly.
func (rt *routingTransport) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	target, _ := ctx.Value(targetKey{}).(*url.URL)
	if target == nil || target.Scheme != "https" {
		return rt.dial(ctx, network, addr)
	}
	list, err := rt.selector.Proxies(ctx, target)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, p := range list {
		var conn net.Conn
		if p == nil {
			conn, err = rt.dial(ctx, network, addr)
		} else {
			conn, err = rt.tunnel.Connect(ctx, p, addr)
		}
		if err == nil {
			return conn, nil
		}
		rt.logger.Debug("route failed", "proxy", redact(p), "err", err)
		// Authentication and refusals are answers, not outages: report them.
		var pe *ProxyError
		if errors.Is(err, ErrProxyAuth) || errors.As(err, &pe) || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("%w: %w", errNoRoute, errors.Join(errs...))
}
