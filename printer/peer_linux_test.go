package printer

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// A table as the kernel prints it: a listener, a live client socket of
// uid 1001 (127.0.0.1:40000 → 127.0.0.1:8632), the server's accepted end
// (uid 0), and a TIME_WAIT socket with the same shape as the client's
// (uid 0, inode 0).
const procTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:21B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1077 1 000000000d963834 100 0 0 10 0
   1: 0100007F:9C40 0100007F:21B8 01 00000000:00000000 00:00000000 00000000  1001        0 5555 1 00000000c0ca8593 20 4 30 10 -1
   2: 0100007F:21B8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 5556 1 00000000c0ca8594 20 4 30 10 -1
   3: 0100007F:9C41 0100007F:21B8 06 00000000:00000000 03:00001331 00000000     0        0 0 3 0000000022650898
`

// An IPv6 table: ::1 port 40002 → ::1 port 8632 (uid 1002), and an IPv4
// client mapped into an IPv6 socket (uid 1003).
const procTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:9C42 00000000000000000000000001000000:21B8 01 00000000:00000000 00:00000000 00000000  1002        0 7777 1 0000000000000000 20 4 30 10 -1
   1: 0000000000000000FFFF00000100007F:9C43 0000000000000000FFFF00000100007F:21B8 01 00000000:00000000 00:00000000 00000000  1003        0 7778 1 0000000000000000 20 4 30 10 -1
`

func TestProcPeersTable(t *testing.T) {
	proc := t.TempDir()
	os.Mkdir(filepath.Join(proc, "net"), 0o755)
	os.WriteFile(filepath.Join(proc, "net", "tcp"), []byte(procTCP), 0o644)
	os.WriteFile(filepath.Join(proc, "net", "tcp6"), []byte(procTCP6), 0o644)
	names := map[uint32]string{1001: "nurse", 1002: "doctor", 7: "lp"}
	p := ProcPeers{Proc: proc, LookupUID: func(uid uint32) (string, error) {
		if n, ok := names[uid]; ok {
			return n, nil
		}
		return "", fmt.Errorf("no uid %d", uid)
	}}
	srv4 := netip.MustParseAddrPort("127.0.0.1:8632")
	srv6 := netip.MustParseAddrPort("[::1]:8632")
	for _, tc := range []struct {
		client, server netip.AddrPort
		want           Account
		err            bool
	}{
		{client: netip.MustParseAddrPort("127.0.0.1:40000"), server: srv4, want: Account{ID: "uid:1001", Name: "nurse"}},
		// The same client port towards another server is not that socket.
		{client: netip.MustParseAddrPort("127.0.0.1:40000"), server: netip.MustParseAddrPort("127.0.0.1:9000"), err: true},
		// TIME_WAIT: uid 0 but no process: not believed as root.
		{client: netip.MustParseAddrPort("127.0.0.1:40001"), server: srv4, err: true},
		{client: netip.MustParseAddrPort("[::1]:40002"), server: srv6, want: Account{ID: "uid:1002", Name: "doctor"}},
		{client: netip.MustParseAddrPort("127.0.0.1:40003"), server: srv4, want: Account{ID: "uid:1003", Name: "uid:1003"}},
		{client: netip.MustParseAddrPort("127.0.0.1:40009"), server: srv4, err: true},
	} {
		got, err := p.PeerAccount(tc.client, tc.server)
		if tc.err {
			if err == nil {
				t.Errorf("%v → %v: got %+v, want an error", tc.client, tc.server, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v → %v: %+v, %v; want %+v", tc.client, tc.server, got, err, tc.want)
		}
	}
	if a := uidAccount(0, p.LookupUID); !a.System {
		t.Errorf("uid 0 %+v is not a system account", a)
	}
	if a := uidAccount(7, p.LookupUID); !a.System {
		t.Errorf("lp %+v is not a system account", a)
	}
}

// TestProcPeersRealSocket: the kernel's table names this process' uid for
// a connection it made, and refuses a socket it closed.
func TestProcPeersRealSocket(t *testing.T) {
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
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if want := "uid:" + strconv.Itoa(os.Getuid()); got.ID != want {
			t.Errorf("%s: account %+v, want %s", network, got, want)
		}
		self, _ := CurrentAccount()
		if self != got {
			t.Errorf("CurrentAccount %+v, peer %+v", self, got)
		}
		c.Close()
		if got, err := OSPeers().PeerAccount(client, server); err == nil {
			t.Errorf("%s: closed socket still names %+v", network, got)
		}
	}
}

// TestSecondLocalAccount: as root, a real second account (created for the
// test) runs ipptool against a printer that identifies peers, claiming to
// be the service's user in requesting-user-name. With OwnAccountOnly its
// job is refused (client-error-not-authorized) and nothing is spooled;
// without, the job is recorded under the account's own name. The
// service's own account prints in both cases.
func TestSecondLocalAccount(t *testing.T) {
	testutil.NeedIntegration(t)
	if os.Geteuid() != 0 {
		t.Fatal("needs root (./scripts/test runs as root): creates a local account")
	}
	ipptool := testutil.NeedTool(t, "ipptool")
	runuser := testutil.NeedTool(t, "runuser")
	name := newLocalAccount(t)
	self, err := CurrentAccount()
	if err != nil {
		t.Fatal(err)
	}
	// A directory the other account can read.
	dir, err := os.MkdirTemp("", "sealprint-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "doc.pdf"), samplePDF, 0o644); err != nil {
		t.Fatal(err)
	}
	writeTest := func(file, claim, status string) {
		test := fmt.Sprintf(`{
	NAME "Print-Job claiming %[1]s"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name "%[1]s"
	ATTR name job-name "peer test"
	ATTR mimeMediaType document-format application/pdf
	FILE doc.pdf
	STATUS %[2]s
}
`, claim, status)
		if err := os.WriteFile(filepath.Join(dir, file), []byte(test), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeTest("refused.test", self.Name, "client-error-not-authorized")
	writeTest("accepted.test", self.Name, "successful-ok")
	ipp := func(as, uri, file string) string {
		t.Helper()
		var cmd *exec.Cmd
		if as == "" {
			cmd = exec.Command(ipptool, "-t", uri, file)
		} else {
			cmd = exec.Command(runuser, "-u", as, "--", ipptool, "-t", uri, file)
		}
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		text := string(out)
		if err != nil || strings.Contains(text, "FAIL") || !strings.Contains(text, "PASS") {
			t.Fatalf("ipptool %s as %q: %v\n%s", file, as, err, text)
		}
		return text
	}

	t.Run("own account only", func(t *testing.T) {
		sp := &memSpooler{}
		_, addr := startServer(t, sp, Config{Peers: OSPeers(), OwnAccountOnly: true})
		uri := QueueURI(addr, DefaultQueue)
		ipp(name, uri, "refused.test")
		if jobs, _ := sp.accepted(); len(jobs) != 0 {
			t.Fatalf("the other account's job was spooled: %+v", jobs)
		}
		ipp("", uri, "accepted.test")
		jobs, _ := sp.accepted()
		if len(jobs) != 1 || jobs[0].User != self.Name {
			t.Fatalf("jobs %+v, want one by %s", jobs, self.Name)
		}
	})
	t.Run("recorded under its own name", func(t *testing.T) {
		sp := &memSpooler{}
		_, addr := startServer(t, sp, Config{Peers: OSPeers()})
		uri := QueueURI(addr, DefaultQueue)
		ipp(name, uri, "accepted.test")
		ipp("", uri, "accepted.test")
		jobs, _ := sp.accepted()
		if len(jobs) != 2 || jobs[0].User != name || jobs[1].User != self.Name {
			t.Fatalf("jobs %+v, want one by %s then one by %s", jobs, name, self.Name)
		}
	})
}
