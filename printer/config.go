package printer

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// DefaultListen is the address the print service listens on by default.
const DefaultListen = "127.0.0.1:8632"

// DefaultMaxDocumentBytes bounds a document body unless configured.
const DefaultMaxDocumentBytes = 512 << 20

// DefaultQueue is the queue that always exists: its jobs wait (held) until
// the sender chooses recipients.
const DefaultQueue = "sealed"

// Config configures a Server. The zero value listens on loopback with the
// default limits and only the default queue.
type Config struct {
	// Listen is the TCP address for ListenAndServe (default 127.0.0.1:8632).
	Listen string
	// AllowRemote must be set to listen on a non-loopback address; it also
	// requires Authenticate.
	AllowRemote bool
	// Authenticate checks HTTP Basic credentials. When set, clients from
	// non-loopback addresses must authenticate; when nil, such clients are
	// refused.
	Authenticate func(user, password string) bool
	// HostNames are names, besides 127.0.0.1, [::1] and localhost, that
	// clients may use in the Host header (and Origin) to reach this
	// listener, such as the machine's name when remote printing is on.
	// Any other Host or a foreign Origin is refused with 403 (DNS
	// rebinding).
	HostNames []string
	// MaxDocumentBytes bounds each document (default 512 MiB).
	MaxDocumentBytes int64
	// Peers, if set, names the local account behind each loopback IPP
	// connection (OSPeers on a real machine): jobs are recorded under
	// that account instead of the client's requesting-user-name, which is
	// believed only from system accounts (the print spooler). A connection
	// whose account cannot be known is refused with
	// client-error-not-authorized. Nil keeps requesting-user-name.
	Peers PeerIdentifier
	// OwnAccountOnly, with Peers, refuses every IPP request from any
	// ordinary account but ServiceAccount with client-error-not-authorized
	// (system accounts pass when they name ServiceAccount's user): a
	// per-user printer prints, lists and describes itself only for its
	// user.
	OwnAccountOnly bool
	// ServiceAccount is the account the service prints for (default with
	// OwnAccountOnly: CurrentAccount()).
	ServiceAccount Account
	// Queues returns the configured queues with fixed recipients. It is
	// called on every request, so changes are picked up without restart
	// (for example from a config file). Nil means only the default queue.
	Queues func() []Queue
	// MaxJobs bounds the job history kept in memory (default 500).
	MaxJobs int
	// MultipleOperationTimeout aborts a job created by Create-Job that got
	// no document within this time (default 60 s).
	MultipleOperationTimeout time.Duration
	// ReadIdleTimeout drops a client that sends nothing for this long in
	// the middle of a request (default 2 minutes).
	ReadIdleTimeout time.Duration
	// State, if set, reports the printer's health (called per request);
	// while it says not accepting, new jobs are refused.
	State func() PrinterState
	// OnIdentify, if set, is called for Identify-Printer (for example to
	// show a desktop notification naming the queue).
	OnIdentify func(queue string)
	// Logger receives operational logs (default slog.Default()). Document
	// content is never logged.
	Logger *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// BasicUsers returns an Authenticate function accepting the given
// user → password pairs, compared in constant time.
func BasicUsers(users map[string]string) func(user, password string) bool {
	return func(user, password string) bool {
		want, ok := users[user]
		if !ok {
			want = "\x00invalid"
		}
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(password)) == 1
		return ok && eq
	}
}

// withDefaults validates c and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.MaxDocumentBytes <= 0 {
		c.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if c.MaxJobs <= 0 {
		c.MaxJobs = 500
	}
	if c.MultipleOperationTimeout <= 0 {
		c.MultipleOperationTimeout = 60 * time.Second
	}
	if c.ReadIdleTimeout <= 0 {
		c.ReadIdleTimeout = 2 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Queues == nil {
		c.Queues = func() []Queue { return nil }
	}
	if c.OwnAccountOnly && c.ServiceAccount.ID == "" {
		a, err := CurrentAccount()
		if err != nil {
			return c, fmt.Errorf("the service's account: %w", err)
		}
		c.ServiceAccount = a
	}
	loop, err := isLoopbackAddr(c.Listen)
	if err != nil {
		return c, err
	}
	if !loop {
		if !c.AllowRemote {
			return c, fmt.Errorf("listen address %s is not loopback: remote printing must be enabled explicitly", c.Listen)
		}
		if c.Authenticate == nil {
			return c, errors.New("remote printing requires authentication")
		}
	}
	return c, nil
}

// isLoopbackAddr reports whether a listen address binds only loopback.
func isLoopbackAddr(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}
