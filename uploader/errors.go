package uploader

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"

	"github.com/sealprint/sealprint/relayapi"
)

// ErrProxyAuth is matched (errors.Is) by every error caused by a proxy that
// answered 407 Proxy Authentication Required.
var ErrProxyAuth = errors.New("proxy authentication required")

// ProxyAuthError explains a 407 answer: which proxy, which schemes it
// offers, and whether credentials were sent at all.
type ProxyAuthError struct {
	// Proxy is the proxy's address (host:port), never with credentials.
	Proxy string
	// Schemes are the authentication schemes the proxy offered.
	Schemes []string
	// User is the user name that was tried, empty if none was configured.
	User string
}

func (e *ProxyAuthError) Error() string {
	offers := "no scheme"
	if len(e.Schemes) > 0 {
		offers = strings.Join(e.Schemes, ", ")
	}
	if e.User == "" {
		return fmt.Sprintf("proxy %s requires authentication (it offers %s) and no credentials are configured: "+
			"put them in the proxy URL (--proxy http://USER:PASSWORD@%s) or in SEALPRINT_PROXY", e.Proxy, offers, e.Proxy)
	}
	return fmt.Sprintf("proxy %s rejected the credentials of user %q (it offers %s): check the user name, "+
		"password and domain (DOMAIN\\user for NTLM) in the proxy setting", e.Proxy, e.User, offers)
}

// Is makes errors.Is(err, ErrProxyAuth) true.
func (e *ProxyAuthError) Is(target error) bool { return target == ErrProxyAuth }

// APIError is an error answer of the relay.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Message is the relay's one-sentence explanation (or the status text).
	Message string
	// State is the drop state given with a 410 answer (expired, revoked, exhausted).
	State string
	// AttemptsLeft is given with a wrong access code (403).
	AttemptsLeft *int
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.State != "" {
		msg += " (" + e.State + ")"
	}
	return fmt.Sprintf("relay answered %d: %s", e.Status, msg)
}

// Temporary reports whether the same request may succeed later: server
// errors, 408, 409, 423 and 429.
func (e *APIError) Temporary() bool {
	if strings.HasPrefix(e.Message, "ERR_UPLOAD_INTERRUPTED") {
		return true // tus: another request for the upload took over; resume
	}
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusLocked, http.StatusTooManyRequests:
		return true
	}
	return e.Status >= 500
}

// IsPermanent reports whether err will not go away by retrying: an APIError
// that is not temporary, a proxy authentication failure, a TLS
// verification or pin failure, a local read error, or a canceled context.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return !ae.Temporary()
	}
	var pe *PinError
	var le *LocalReadError
	return errors.Is(err, ErrProxyAuth) || errors.As(err, &pe) || errors.As(err, &le) || isCertError(err) || isContextError(err)
}

// IsTemporary reports whether retrying err later may succeed.
func IsTemporary(err error) bool { return err != nil && !IsPermanent(err) }

// maxErrorBody bounds the error body read from the relay.
const maxErrorBody = 16 << 10

// readAPIError builds an APIError from an error response and closes its body.
func readAPIError(resp *http.Response) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := parseAPIError(resp.StatusCode, resp.Header.Get("Content-Type"), b)
	if pe := resp.Header.Get("X-Squid-Error"); pe != "" {
		// The answer comes from a proxy in the way, not from the relay.
		e.Message += " (answered by the proxy: " + clean(pe, 100) + ")"
	}
	return e
}

// parseAPIError decodes a relay error body ({"error": …}); anything else
// becomes the status text.
func parseAPIError(status int, contentType string, body []byte) *APIError {
	e := &APIError{Status: status}
	var v relayapi.Error
	if strings.Contains(contentType, "json") && json.Unmarshal(body, &v) == nil {
		e.Message = clean(v.Error, 300)
		e.State = clean(v.State, 20)
		e.AttemptsLeft = v.AttemptsLeft
	} else if strings.HasPrefix(contentType, "text/plain") {
		e.Message = clean(string(body), 300)
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// clean keeps s printable, on one line and at most n runes long, so that a
// hostile server cannot forge terminal output through error messages.
func clean(s string, n int) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if n == 0 {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = ' '
		}
		b.WriteRune(r)
		n--
	}
	return b.String()
}
