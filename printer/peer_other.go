//go:build !linux && !windows

package printer

import (
	"net/netip"
	"os"
	"os/user"
	"strconv"
)

// OSPeers returns the operating system's PeerIdentifier. This system
// (macOS, BSD) has none here: every lookup returns ErrPeerUnsupported, and
// the printer keeps requesting-user-name, saying so once in its log.
func OSPeers() PeerIdentifier { return unsupportedPeers{} }

type unsupportedPeers struct{}

func (unsupportedPeers) PeerAccount(netip.AddrPort, netip.AddrPort) (Account, error) {
	return Account{}, ErrPeerUnsupported
}

// CurrentAccount returns the account this process runs as.
func CurrentAccount() (Account, error) {
	uid := os.Getuid()
	a := Account{ID: "uid:" + strconv.Itoa(uid), System: uid == 0}
	a.Name = a.ID
	if u, err := user.Current(); err == nil {
		a.Name = u.Username
	}
	return a, nil
}
