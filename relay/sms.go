package relay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SMSGateway sends access codes by SMS through an HTTP gateway (an SMS
// provider's API). The body is a template with {to} (E.164, "+33…"),
// {msisdn} (the same without "+"), {code}, {sender} and {expires}: a body starting with "{" is JSON (values JSON-escaped, sent
// as application/json), anything else a form (values URL-escaped, sent as
// application/x-www-form-urlencoded). See docs/code-delivery.md.
type SMSGateway struct {
	// URL is the gateway's endpoint (https, or http on loopback).
	URL string
	// Body is the request body template.
	Body string
	// Auth is "", "bearer:TOKEN" or "basic:USER:PASS".
	Auth string
	// Client is the HTTP client (nil: a client with a 30 s timeout).
	Client *http.Client
}

// CheckSMSGateway validates g's settings (for 'sealrelay serve' flags).
func CheckSMSGateway(g *SMSGateway) error {
	u, err := url.Parse(g.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("--sms-gateway must be an http(s) URL")
	}
	if u.Scheme == "http" && u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1" {
		return errors.New("--sms-gateway: use https (http only on loopback)")
	}
	if !strings.Contains(g.Body, "{code}") || (!strings.Contains(g.Body, "{to}") && !strings.Contains(g.Body, "{msisdn}")) {
		return errors.New("--sms-body must contain {to} (or {msisdn}) and {code}")
	}
	if len(g.Body) > 4096 {
		return errors.New("--sms-body is too long")
	}
	if _, _, err := smsAuth(g.Auth); err != nil {
		return err
	}
	return nil
}

func smsAuth(a string) (string, string, error) {
	switch {
	case a == "":
		return "", "", nil
	case strings.HasPrefix(a, "bearer:") && len(a) > len("bearer:"):
		return "Authorization", "Bearer " + strings.TrimPrefix(a, "bearer:"), nil
	case strings.HasPrefix(a, "basic:") && strings.Count(a, ":") >= 2:
		return "Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(strings.TrimPrefix(a, "basic:"))), nil
	}
	return "", "", errors.New("--sms-auth must be bearer:TOKEN or basic:USER:PASS")
}

// smsBody fills the template. The number is sent as given (E.164, "+33…").
func (g *SMSGateway) smsBody(to, code, sender string, expires time.Time) (string, string) {
	json := strings.HasPrefix(strings.TrimSpace(g.Body), "{")
	esc := url.QueryEscape
	ctype := "application/x-www-form-urlencoded"
	if json {
		esc = jsonEscape
		ctype = "application/json"
	}
	r := strings.NewReplacer("{to}", esc(to), "{msisdn}", esc(strings.TrimPrefix(to, "+")), "{code}", esc(code), "{sender}", esc(sender), "{expires}", esc(dateFR(expires)))
	return r.Replace(g.Body), ctype
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// send posts one SMS; any 2xx answer is success. The gateway's answer is
// not logged (it may echo the code).
func (g *SMSGateway) send(ctx context.Context, to, code, sender string, expires time.Time) error {
	body, ctype := g.smsBody(to, code, sender, expires)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms gateway: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	if k, v, _ := smsAuth(g.Auth); k != "" {
		req.Header.Set(k, v)
	}
	c := g.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL may carry a key: report only the host.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("sms gateway %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sms gateway %s answered %s", req.URL.Host, resp.Status)
	}
	return nil
}
