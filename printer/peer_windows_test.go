package printer

import (
	"net"
	"testing"

	"github.com/OpenPrinting/goipp"
	"golang.org/x/sys/windows"
)

// underWine reports whether this Windows program runs under Wine.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// TestTCPTablePeersRealSocket: GetExtendedTcpTable and the owning
// process' token name this process' account for a connection it made
// (IPv4 and IPv6), and nothing once the client's socket is closed. Run on
// Windows, or under Wine by internal/cli's TestWindowsBuildUnderWine.
func TestTCPTablePeersRealSocket(t *testing.T) {
	self, err := CurrentAccount()
	if err != nil || self.ID == "" {
		t.Fatalf("CurrentAccount: %+v, %v", self, err)
	}
	t.Logf("this process runs as %+v", self)
	for _, network := range []string{"127.0.0.1:0", "[::1]:0"} {
		l, err := net.Listen("tcp", network)
		if err != nil {
			t.Logf("%s: %v", network, err)
			continue
		}
		defer l.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := l.Accept()
			if err == nil {
				accepted <- c
			}
		}()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sc := <-accepted
		defer sc.Close()
		client := c.LocalAddr().(*net.TCPAddr).AddrPort()
		server := l.Addr().(*net.TCPAddr).AddrPort()
		got, err := OSPeers().PeerAccount(client, server)
		if err != nil && underWine() && client.Addr().Is6() {
			// Wine 8 lists IPv6 sockets with owning process 0.
			t.Logf("%s under Wine: %v (not checked: Wine does not know the owner of IPv6 sockets)", network, err)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if got != self {
			t.Errorf("%s: peer %+v, want this process' account %+v", network, got, self)
		}
		// The listener's own end is not the client's socket.
		if _, err := OSPeers().PeerAccount(server, client); err == nil && server.Port() == client.Port() {
			t.Errorf("%s: the server's address was taken for the client's", network)
		}
		c.Close()
		sc.Close()
	}
}

// TestOwnAccountOnlyWindows: a printer identifying peers with the OS
// prints for a client of its own account.
func TestOwnAccountOnlyWindows(t *testing.T) {
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{Peers: OSPeers(), OwnAccountOnly: true})
	r := printJob(t, addr, DefaultQueue, "someone-else", "application/pdf", samplePDF)
	wantStatus(t, r, goipp.StatusOk)
	self, _ := CurrentAccount()
	if jobs, _ := sp.accepted(); len(jobs) != 1 || (jobs[0].User != self.Name && !self.System) {
		t.Fatalf("jobs %+v, want one by %s", jobs, self.Name)
	}
}
