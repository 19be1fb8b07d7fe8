package printer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/OpenPrinting/goipp"
)

// On loopback, requesting-user-name is whatever the client says: any
// account of a shared PC could print as the doctor. When Config.Peers is
// set, the printer asks the operating system which local account owns the
// client's end of the TCP connection and records that account as the job's
// user. Only a system account (the OS itself or its print spooler, which
// relays the jobs of every user: CUPS' backends run as root or lp, Windows'
// spooler as SYSTEM) is believed when it names the user it prints for.

// Account is a local account of this machine.
type Account struct {
	// ID identifies the account: "uid:1000" on Unix, a SID on Windows.
	ID string
	// Name is the account's name ("alice", "CHU\alice"), or ID when the
	// name is unknown.
	Name string
	// System reports an account of the operating system or of its print
	// spooler (uid 0 or lp; SYSTEM, LOCAL SERVICE, NETWORK SERVICE), which
	// submits jobs on behalf of the user it names in requesting-user-name.
	System bool
}

// PeerIdentifier names the local account behind a loopback connection.
type PeerIdentifier interface {
	// PeerAccount returns the account owning the TCP socket whose local
	// address is client and whose remote address is server (the client's
	// end of a connection accepted on server). It returns an error
	// wrapping ErrPeerUnsupported where the OS offers no way to know.
	PeerAccount(client, server netip.AddrPort) (Account, error)
}

// ErrPeerUnsupported says the operating system cannot name the account
// behind a connection (macOS, BSD): requesting-user-name is used instead.
var ErrPeerUnsupported = errors.New("identifying the local account of a connection is not supported on this system")

// identify returns the user a request is recorded under, or an error
// refusing it; it sets rq.ownJobsOnly for a client identified as an
// ordinary account, which sees only its own jobs. Get-Printer-Attributes
// needs no identification unless OwnAccountOnly (its answer names the
// queue's recipients), and is answered to system accounts (the spooler
// setting up a queue for anyone).
func (s *Server) identify(rq *request) (string, error) {
	claimed := requestingUser(rq)
	gpa := goipp.Op(rq.msg.Code) == goipp.OpGetPrinterAttributes
	if s.cfg.Peers == nil || (gpa && !s.cfg.OwnAccountOnly) || !isLoopbackRemote(rq.http.RemoteAddr) {
		return claimed, nil
	}
	client, server, err := connAddrs(rq.http)
	if err != nil {
		return "", errorf(goipp.StatusErrorNotAuthorized, "cannot identify the local account: %v", err)
	}
	acct, err := s.peerAccount(rq.http, client, server)
	if errors.Is(err, ErrPeerUnsupported) {
		s.peerUnsupported.Do(func() {
			s.cfg.Logger.Warn("the local account behind an IPP connection cannot be identified on this system: jobs are recorded under the client's requesting-user-name", "err", err)
		})
		return claimed, nil
	}
	if err != nil {
		s.cfg.Logger.Warn("ipp request refused: local account unknown", "remote", rq.http.RemoteAddr, "err", err)
		return "", errorf(goipp.StatusErrorNotAuthorized, "cannot identify the local account of this connection")
	}
	user := acct.Name
	if acct.System && claimed != "anonymous" {
		// The spooler prints for the user it names; a job naming nobody
		// is the system account's own.
		user = claimed
	}
	if gpa && acct.System {
		// The spooler describes the printer to whoever sets up a queue.
		return user, nil
	}
	if s.cfg.OwnAccountOnly && !s.isServiceUser(acct, user) {
		s.cfg.Logger.Warn("ipp request refused: another local account", "op", goipp.Op(rq.msg.Code).String(), "account", acct.Name, "user", user)
		return "", errorf(goipp.StatusErrorNotAuthorized, "this printer accepts jobs only from %s", s.cfg.ServiceAccount.Name)
	}
	// An account sees its own jobs only (their names are private); the
	// system spooler, which follows the jobs it relays, sees all.
	rq.ownJobsOnly = !acct.System
	return user, nil
}

// isServiceUser reports whether a request from acct, recorded as user,
// comes from the account the service runs as.
func (s *Server) isServiceUser(acct Account, user string) bool {
	svc := s.cfg.ServiceAccount
	if acct.System {
		return SameUserName(user, svc.Name)
	}
	return acct.ID == svc.ID
}

// SameUserName reports whether two spellings name the same account: names
// compare without case and without a DOMAIN\ prefix or @realm suffix, as
// Windows and CUPS spell them.
func SameUserName(a, b string) bool {
	norm := func(s string) string {
		if i := strings.LastIndexByte(s, '\\'); i >= 0 {
			s = s[i+1:]
		}
		if i := strings.IndexByte(s, '@'); i >= 0 {
			s = s[:i]
		}
		return strings.ToLower(strings.TrimSpace(s))
	}
	return a != "" && b != "" && norm(a) == norm(b)
}

// connAddrs returns the client's and the listener's address of the
// connection a request arrived on.
func connAddrs(r *http.Request) (client, server netip.AddrPort, err error) {
	client, err = netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return client, server, fmt.Errorf("client address %q: %w", r.RemoteAddr, err)
	}
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return client, server, errors.New("no listener address")
	}
	ta, ok := la.(*net.TCPAddr)
	if !ok {
		return client, server, fmt.Errorf("listener address %v is not TCP", la)
	}
	server = ta.AddrPort()
	return netip.AddrPortFrom(client.Addr().Unmap(), client.Port()), netip.AddrPortFrom(server.Addr().Unmap(), server.Port()), nil
}

// peerMemo holds the account behind one connection, looked up once: a
// socket's owner never changes, and reading the kernel's socket table on
// every request of a keep-alive connection would cost each job a scan.
type peerMemo struct {
	once sync.Once
	acct Account
	err  error
}

type peerMemoKey struct{}

// withPeerMemo is the http.Server's ConnContext: one memo per connection.
func withPeerMemo(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, peerMemoKey{}, &peerMemo{})
}

// peerAccount identifies the account behind r's connection, once per
// connection when the server made a memo for it.
func (s *Server) peerAccount(r *http.Request, client, server netip.AddrPort) (Account, error) {
	memo, ok := r.Context().Value(peerMemoKey{}).(*peerMemo)
	if !ok {
		return s.cfg.Peers.PeerAccount(client, server)
	}
	memo.once.Do(func() { memo.acct, memo.err = s.cfg.Peers.PeerAccount(client, server) })
	return memo.acct, memo.err
}
