package testutil

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Ports for the programs tests start are picked outside the kernel's
// ephemeral range. A port the kernel handed out for "127.0.0.1:0" is
// the very kind it hands out again to the next outgoing connection or
// ":0" listener of any process on the machine; between the pick and the
// program's bind, on a loaded machine shared by several test runs, that
// happened (a test then talked to somebody else's server, or its own
// program failed to bind). Outside the range only another explicit pick
// can collide, and picks are random over thousands of ports.
const (
	pickLow = 20000 // below: well-known services (postgres 5432, cupsd 631, 8080…)
	pickTry = 200
)

// ephemeralLow is the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	if runtime.GOOS == "linux" {
		if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
			if f := strings.Fields(string(b)); len(f) == 2 {
				if lo, err := strconv.Atoi(f[0]); err == nil && lo > pickLow+1000 {
					return lo
				}
			}
		}
		return 32768
	}
	return 49152 // IANA's dynamic range: Windows, macOS
}

// pickPort returns a port on 127.0.0.1 outside the ephemeral range that
// nothing listens on or is bound to right now.
func pickPort() (int, error) {
	hi := ephemeralLow()
	var b [4]byte
	for range pickTry {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		port := pickLow + int(binary.BigEndian.Uint32(b[:])%uint32(hi-pickLow))
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue // in use
		}
		l.Close()
		return port, nil
	}
	return 0, errors.New("no free port found outside the ephemeral range")
}

// ListensOn reports whether process pid holds a listening TCP socket on
// port, so that a test knows the server answering there is the one it
// started and not another that took the port in between. Outside Linux
// (no /proc) it cannot tell and reports true.
func ListensOn(pid, port int) bool {
	if runtime.GOOS != "linux" {
		return true
	}
	inodes := map[string]bool{}
	want := strings.ToUpper(strconv.FormatInt(int64(port), 16))
	for len(want) < 4 {
		want = "0" + want
	}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(line)
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			if _, p, ok := strings.Cut(fields[1], ":"); ok && p == want {
				inodes["socket:["+fields[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return false
	}
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + fd.Name()); err == nil && inodes[target] {
			return true
		}
	}
	return false
}
