package uploader

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/go-ntlmssp"
	xproxy "golang.org/x/net/proxy"
)

// ProxyError is a proxy's refusal of a CONNECT request (other than 407).
type ProxyError struct {
	// Proxy is the proxy's address (host:port).
	Proxy string
	// Target is the host:port that was asked for.
	Target string
	// Status is the proxy's status line, e.g. "403 Forbidden".
	Status string
	// Detail is the proxy's own error code when it gives one (X-Squid-Error).
	Detail string
}

func (e *ProxyError) Error() string {
	s := fmt.Sprintf("proxy %s refused to connect to %s: %s", e.Proxy, e.Target, e.Status)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// tunnelDialer opens connections to HTTPS targets through HTTP proxies with
// CONNECT, authenticating with Basic, NTLM or Negotiate (NTLM inside
// Negotiate) as the proxy asks. Go's http.Transport can only send a fixed
// Proxy-Authorization header on CONNECT, which cannot carry the NTLM
// challenge/response on one connection.
type tunnelDialer struct {
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	tls     *tls.Config // for https:// proxies
	creds   *Credentials
	logger  *slog.Logger
	timeout time.Duration

	mu      sync.Mutex
	schemes map[string]string // proxy host:port → scheme that worked
}

// maxProxyBody bounds what is read of a proxy's error page.
const maxProxyBody = 64 << 10

// credentialsFor returns the credentials for proxy: its URL's userinfo
// first, then the configured ones.
func (d *tunnelDialer) credentialsFor(proxy *url.URL) *Credentials {
	if proxy.User != nil {
		pw, _ := proxy.User.Password()
		return &Credentials{User: proxy.User.Username(), Password: pw}
	}
	return d.creds
}

// dialProxy opens a connection to the proxy itself (TLS for https://).
func (d *tunnelDialer) dialProxy(ctx context.Context, proxy *url.URL) (net.Conn, error) {
	conn, err := d.dial(ctx, "tcp", proxy.Host)
	if err != nil {
		return nil, fmt.Errorf("connect to proxy %s: %w", proxy.Host, err)
	}
	if proxy.Scheme == "https" {
		cfg := d.tls.Clone()
		cfg.ServerName = proxy.Hostname()
		cfg.VerifyConnection = nil // a relay pin does not apply to the proxy
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS to proxy %s: %w", proxy.Host, err)
		}
		conn = tc
	}
	return conn, nil
}

// Connect returns a connection to target (host:port) tunnelled through proxy.
func (d *tunnelDialer) Connect(ctx context.Context, proxy *url.URL, target string) (net.Conn, error) {
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	if proxy.Scheme == "socks5" {
		return d.socks(ctx, proxy, target)
	}
	creds := d.credentialsFor(proxy)
	d.mu.Lock()
	scheme := d.schemes[proxy.Host]
	d.mu.Unlock()
	if creds == nil {
		scheme = ""
	}
	var offered []string
	// At most: one try as before, one redial, and the NTLM exchange.
	for attempt := 0; attempt < 3; attempt++ {
		conn, err := d.dialProxy(ctx, proxy)
		if err != nil {
			return nil, err
		}
		stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		c, resp, err := d.handshake(conn, proxy, target, scheme, creds)
		stop()
		if err != nil {
			conn.Close()
			if ctx.Err() != nil {
				return nil, fmt.Errorf("CONNECT through proxy %s: %w", proxy.Host, ctx.Err())
			}
			return nil, err
		}
		if resp == nil { // tunnel established
			if scheme != "" {
				d.mu.Lock()
				d.schemes[proxy.Host] = scheme
				d.mu.Unlock()
			}
			d.logger.Debug("proxy tunnel open", "proxy", proxy.Host, "target", target, "auth", scheme)
			return c, nil
		}
		conn.Close()
		offered = authSchemes(resp.Header.Values("Proxy-Authenticate"))
		if creds == nil || scheme != "" {
			// No credentials, or the ones we sent were refused.
			user := ""
			if creds != nil {
				user = creds.User
			}
			return nil, &ProxyAuthError{Proxy: proxy.Host, Schemes: offered, User: user}
		}
		scheme = pickScheme(offered)
		if scheme == "" {
			return nil, &ProxyAuthError{Proxy: proxy.Host, Schemes: offered, User: creds.User}
		}
	}
	return nil, &ProxyAuthError{Proxy: proxy.Host, Schemes: offered, User: creds.User}
}

// handshake sends CONNECT (with the scheme's authentication) on conn. It
// returns the usable tunnel, or the 407 response when authentication is
// (still) required; other refusals are errors.
func (d *tunnelDialer) handshake(conn net.Conn, proxy *url.URL, target, scheme string, creds *Credentials) (net.Conn, *http.Response, error) {
	br := bufio.NewReader(conn)
	auth := ""
	switch scheme {
	case "Basic":
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(creds.User+":"+creds.Password))
	case "NTLM", "Negotiate":
		msg, err := ntlmssp.NewNegotiateMessage("", "")
		if err != nil {
			return nil, nil, fmt.Errorf("NTLM negotiate message: %w", err)
		}
		auth = scheme + " " + base64.StdEncoding.EncodeToString(msg)
	}
	resp, err := d.roundTrip(conn, br, proxy, target, auth)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode == http.StatusProxyAuthRequired && (scheme == "NTLM" || scheme == "Negotiate") {
		challenge, ok := findToken(resp.Header.Values("Proxy-Authenticate"), scheme)
		if !ok || resp.Close {
			return nil, resp, nil
		}
		msg, err := ntlmssp.NewAuthenticateMessage(padChallenge(challenge), creds.User, creds.Password, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("proxy %s: NTLM challenge: %w", proxy.Host, err)
		}
		resp, err = d.roundTrip(conn, br, proxy, target, scheme+" "+base64.StdEncoding.EncodeToString(msg))
		if err != nil {
			return nil, nil, err
		}
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if br.Buffered() > 0 {
			return &bufferedConn{Conn: conn, r: br}, nil, nil
		}
		return conn, nil, nil
	case resp.StatusCode == http.StatusProxyAuthRequired:
		return nil, resp, nil
	}
	return nil, nil, &ProxyError{Proxy: proxy.Host, Target: target, Status: resp.Status,
		Detail: clean(resp.Header.Get("X-Squid-Error"), 100)}
}

// roundTrip writes one CONNECT request and reads the answer's head; the
// body of a non-200 answer is drained so the connection can be reused.
func (d *tunnelDialer) roundTrip(conn net.Conn, br *bufio.Reader, proxy *url.URL, target, auth string) (*http.Response, error) {
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: target},
		Host:   target,
		Header: http.Header{"User-Agent": {userAgent}},
	}
	if auth != "" {
		req.Header.Set("Proxy-Authorization", auth)
		req.Header.Set("Proxy-Connection", "Keep-Alive")
	}
	if err := req.Write(conn); err != nil {
		return nil, fmt.Errorf("CONNECT through proxy %s: %w", proxy.Host, err)
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("CONNECT through proxy %s: read answer: %w", proxy.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProxyBody))
		resp.Body.Close()
	}
	return resp, nil
}

// socks connects to target through a SOCKS5 proxy (user/password
// authentication when credentials are known).
func (d *tunnelDialer) socks(ctx context.Context, proxy *url.URL, target string) (net.Conn, error) {
	var auth *xproxy.Auth
	if c := d.credentialsFor(proxy); c != nil {
		auth = &xproxy.Auth{User: c.User, Password: c.Password}
	}
	sd, err := xproxy.SOCKS5("tcp", proxy.Host, auth, contextDialer(d.dial))
	if err != nil {
		return nil, fmt.Errorf("SOCKS proxy %s: %w", proxy.Host, err)
	}
	conn, err := sd.(xproxy.ContextDialer).DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, fmt.Errorf("SOCKS proxy %s to %s: %w", proxy.Host, target, err)
	}
	return conn, nil
}

// contextDialer adapts a dial function to x/net/proxy's dialer interfaces.
type contextDialer func(ctx context.Context, network, addr string) (net.Conn, error)

func (f contextDialer) Dial(network, addr string) (net.Conn, error) {
	return f(context.Background(), network, addr)
}

func (f contextDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

// authSchemes lists the scheme names of Proxy-Authenticate headers.
func authSchemes(values []string) []string {
	var out []string
	for _, v := range values {
		f := strings.Fields(v)
		if len(f) == 0 || len(out) >= 10 {
			continue
		}
		out = append(out, clean(strings.TrimSuffix(f[0], ","), 30))
	}
	return out
}

// pickScheme chooses the strongest scheme we can do among those offered.
// Kerberos is not available; a proxy offering Negotiate accepts NTLM in it.
func pickScheme(offered []string) string {
	has := map[string]bool{}
	for _, s := range offered {
		has[strings.ToLower(s)] = true
	}
	switch {
	case has["ntlm"]:
		return "NTLM"
	case has["negotiate"]:
		return "Negotiate"
	case has["basic"]:
		return "Basic"
	}
	return ""
}

// findToken returns the decoded token of the scheme's challenge header.
func findToken(values []string, scheme string) ([]byte, bool) {
	for _, v := range values {
		f := strings.Fields(v)
		if len(f) == 2 && strings.EqualFold(f[0], scheme) {
			b, err := base64.StdEncoding.DecodeString(f[1])
			if err == nil && len(b) > 0 && len(b) < 8192 {
				return b, true
			}
		}
	}
	return nil, false
}

// padChallenge repairs what some NTLM servers get wrong in a CHALLENGE
// message: a message cut after the server challenge (32 bytes) or without
// the version is extended with empty fields, and a name or target-info
// field pointing outside the message is emptied (neither is needed for
// the NTLMv2 answer when absent), so that the parser reads a well-formed
// message.
func padChallenge(b []byte) []byte {
	const full = 56 // header, target name, flags, challenge, reserved, target info, version
	if len(b) < 32 || len(b) > 8192 {
		return b
	}
	p := make([]byte, max(len(b), full))
	copy(p, b)
	fixField := func(at int) {
		if at >= len(b) {
			return
		}
		l := int(binary.LittleEndian.Uint16(p[at:]))
		off := int(binary.LittleEndian.Uint32(p[at+4:]))
		if off+l > len(b) {
			clear(p[at : at+8])
		}
	}
	fixField(12)
	fixField(40)
	return p
}

// bufferedConn is a connection whose first bytes were already buffered.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// errNoRoute is returned when every proxy of a list failed.
var errNoRoute = errors.New("no proxy reachable")
