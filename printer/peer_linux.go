package printer

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// OSPeers returns the operating system's PeerIdentifier: on Linux it reads
// the owner uid of the client's socket from /proc/net/tcp and tcp6.
func OSPeers() PeerIdentifier { return ProcPeers{} }

// ProcPeers identifies peers from the kernel's socket tables: the row
// whose local address is the client's address (and whose remote address
// is the listener's) is the client's socket, and its uid column is the
// account that created it.
type ProcPeers struct {
	// Proc is the procfs mount (default /proc; the tables read are those
	// of this process' network namespace).
	Proc string
	// LookupUID names a uid (default: the system's user database).
	LookupUID func(uid uint32) (name string, err error)
}

// maxProcTableBytes bounds what is read of one socket table.
const maxProcTableBytes = 64 << 20

// PeerAccount implements PeerIdentifier.
func (p ProcPeers) PeerAccount(client, server netip.AddrPort) (Account, error) {
	proc := p.Proc
	if proc == "" {
		proc = "/proc"
	}
	// An IPv4 client's socket is in tcp, or in tcp6 as a mapped address
	// when it is an IPv6 socket.
	files := []string{"tcp", "tcp6"}
	if !client.Addr().Is4() {
		files = files[1:]
	}
	var uid uint32
	var err error
	for _, file := range files {
		uid, err = socketUID(filepath.Join(proc, "net", file), client, server)
		if !errors.Is(err, errNoSocket) {
			break
		}
	}
	if err != nil {
		return Account{}, err
	}
	lookup := p.LookupUID
	if lookup == nil {
		lookup = lookupUID
	}
	return uidAccount(uid, lookup), nil
}

// socketUID looks the client's socket up in one table.
func socketUID(path string, client, server netip.AddrPort) (uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("socket table: %w", err)
	}
	defer f.Close()
	uid, err := findSocketUID(io.LimitReader(f, maxProcTableBytes), client, server)
	if err != nil {
		return 0, fmt.Errorf("socket table %s: %w", path, err)
	}
	return uid, nil
}

// CurrentAccount returns the account this process runs as.
func CurrentAccount() (Account, error) {
	return uidAccount(uint32(os.Getuid()), lookupUID), nil
}

// uidAccount names uid; uid 0 and CUPS' lp are system accounts.
func uidAccount(uid uint32, lookup func(uint32) (string, error)) Account {
	a := Account{ID: "uid:" + strconv.FormatUint(uint64(uid), 10)}
	a.Name = a.ID
	if n, err := lookup(uid); err == nil && n != "" {
		a.Name = n
	}
	a.System = uid == 0 || a.Name == "lp"
	return a
}

func lookupUID(uid uint32) (string, error) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return "", err
	}
	return u.Username, nil
}

// errNoSocket says no live socket has the client's address.
var errNoSocket = errors.New("no socket owned by a process has the client's address (closed?)")

// findSocketUID scans a /proc/net/tcp{,6} table for the socket whose local
// address is client and remote address server, and returns its uid. A
// socket no process holds any more (TIME_WAIT, orphaned; inode 0) reads as
// uid 0 and is not believed.
func findSocketUID(r io.Reader, client, server netip.AddrPort) (uint32, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		local, err := parseProcAddr(f[1])
		if err != nil || local != client {
			continue
		}
		remote, err := parseProcAddr(f[2])
		if err != nil || remote != server {
			continue
		}
		if f[9] == "0" {
			return 0, errNoSocket
		}
		uid, err := strconv.ParseUint(f[7], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("bad uid %q", f[7])
		}
		return uint32(uid), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errNoSocket
}

// parseProcAddr parses "0100007F:1F90" (an IPv4 address as a host-order
// 32-bit word) or the IPv6 form (four such words) and a hex port. IPv4
// addresses mapped into IPv6 are unmapped.
func parseProcAddr(s string) (netip.AddrPort, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok || (len(h) != 8 && len(h) != 32) || len(p) != 4 {
		return netip.AddrPort{}, fmt.Errorf("bad socket address %q", s)
	}
	raw, err := hex.DecodeString(h)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad socket address %q", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad socket port %q", s)
	}
	// Each 32-bit word was printed as a number in the host's byte order.
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
