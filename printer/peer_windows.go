package printer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/windows"
)

// OSPeers returns the operating system's PeerIdentifier: on Windows the
// owning process of the client's socket comes from GetExtendedTcpTable
// (TCP_TABLE_OWNER_PID_ALL), and the account from that process' token.
func OSPeers() PeerIdentifier { return tcpTablePeers{} }

type tcpTablePeers struct{}

var (
	iphlpapi                = windows.NewLazySystemDLL("iphlpapi.dll")
	procGetExtendedTcpTable = iphlpapi.NewProc("GetExtendedTcpTable")
)

const (
	tcpTableOwnerPIDAll = 5 // TCP_TABLE_OWNER_PID_ALL
	maxTCPTableBytes    = 64 << 20
)

// mibTCPRowOwnerPID is MIB_TCPROW_OWNER_PID.
type mibTCPRowOwnerPID struct {
	State, LocalAddr, LocalPort, RemoteAddr, RemotePort, OwningPID uint32
}

// mibTCP6RowOwnerPID is MIB_TCP6ROW_OWNER_PID.
type mibTCP6RowOwnerPID struct {
	LocalAddr     [16]byte
	LocalScopeID  uint32
	LocalPort     uint32
	RemoteAddr    [16]byte
	RemoteScopeID uint32
	RemotePort    uint32
	State         uint32
	OwningPID     uint32
}

// tcpTable returns the raw table for family af (AF_INET, AF_INET6).
func tcpTable(af uint32) ([]byte, error) {
	size := uint32(16 << 10)
	for {
		buf := make([]byte, size)
		r, _, _ := procGetExtendedTcpTable.Call(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0,
			uintptr(af), tcpTableOwnerPIDAll, 0)
		switch windows.Errno(r) {
		case 0:
			return buf[:size], nil
		case windows.ERROR_INSUFFICIENT_BUFFER:
			if size > maxTCPTableBytes {
				return nil, errors.New("TCP table too large")
			}
			continue
		default:
			return nil, fmt.Errorf("GetExtendedTcpTable: %w", windows.Errno(r))
		}
	}
}

// port reads a port kept in network byte order in a DWORD's low bytes.
func port(p uint32) uint16 { return uint16(p&0xff)<<8 | uint16(p>>8&0xff) }

// findPID returns the process owning the socket from client to server.
func findPID(client, server netip.AddrPort) (uint32, error) {
	v4 := client.Addr().Is4()
	af := uint32(windows.AF_INET)
	rowSize := int(unsafe.Sizeof(mibTCPRowOwnerPID{}))
	if !v4 {
		af = windows.AF_INET6
		rowSize = int(unsafe.Sizeof(mibTCP6RowOwnerPID{}))
	}
	buf, err := tcpTable(af)
	if err != nil {
		return 0, err
	}
	if len(buf) < 4 {
		return 0, errors.New("short TCP table")
	}
	n := int(binary.LittleEndian.Uint32(buf))
	const off = 4 // dwNumEntries, then the rows (4-byte aligned)
	if n < 0 || off+n*rowSize > len(buf) {
		return 0, errors.New("TCP table shorter than its entry count")
	}
	for i := 0; i < n; i++ {
		p := unsafe.Pointer(&buf[off+i*rowSize])
		var local, remote netip.AddrPort
		var pid uint32
		if v4 {
			row := (*mibTCPRowOwnerPID)(p)
			var la, ra [4]byte
			binary.LittleEndian.PutUint32(la[:], row.LocalAddr)
			binary.LittleEndian.PutUint32(ra[:], row.RemoteAddr)
			local = netip.AddrPortFrom(netip.AddrFrom4(la), port(row.LocalPort))
			remote = netip.AddrPortFrom(netip.AddrFrom4(ra), port(row.RemotePort))
			pid = row.OwningPID
		} else {
			row := (*mibTCP6RowOwnerPID)(p)
			local = netip.AddrPortFrom(netip.AddrFrom16(row.LocalAddr).Unmap(), port(row.LocalPort))
			remote = netip.AddrPortFrom(netip.AddrFrom16(row.RemoteAddr).Unmap(), port(row.RemotePort))
			pid = row.OwningPID
		}
		if local == client && remote == server {
			if pid == 0 {
				return 0, errors.New("the client's socket belongs to no process (closed?)")
			}
			return pid, nil
		}
	}
	return 0, errors.New("no socket has the client's address (closed?)")
}

// PeerAccount implements PeerIdentifier.
func (tcpTablePeers) PeerAccount(client, server netip.AddrPort) (Account, error) {
	pid, err := findPID(client, server)
	if err != nil {
		return Account{}, err
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return Account{}, fmt.Errorf("open client process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return Account{}, fmt.Errorf("client process %d's token: %w", pid, err)
	}
	defer tok.Close()
	return tokenAccount(tok)
}

// CurrentAccount returns the account this process runs as.
func CurrentAccount() (Account, error) {
	return tokenAccount(windows.GetCurrentProcessToken())
}

// tokenAccount names a token's user; SYSTEM, LOCAL SERVICE and NETWORK
// SERVICE are system accounts (the spooler runs as SYSTEM).
func tokenAccount(tok windows.Token) (Account, error) {
	tu, err := tok.GetTokenUser()
	if err != nil {
		return Account{}, fmt.Errorf("token user: %w", err)
	}
	sid := tu.User.Sid
	a := Account{ID: sid.String()}
	a.Name = a.ID
	if acct, dom, _, err := sid.LookupAccount(""); err == nil {
		a.Name = acct
		if dom != "" {
			a.Name = dom + `\` + acct
		}
	}
	a.System = sid.IsWellKnown(windows.WinLocalSystemSid) || sid.IsWellKnown(windows.WinLocalServiceSid) ||
		sid.IsWellKnown(windows.WinNetworkServiceSid)
	return a, nil
}
