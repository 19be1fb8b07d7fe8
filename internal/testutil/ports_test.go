package testutil

import (
	"net"
	"os"
	"runtime"
	"testing"
)

// Ports for test programs never come from the ephemeral range, from which
// the machine's outgoing connections and ":0" listeners take theirs.
func TestFreePortOutsideEphemeralRange(t *testing.T) {
	lo := ephemeralLow()
	for range 50 {
		if p := FreePort(t); p < pickLow || p >= lo {
			t.Fatalf("FreePort = %d, want in [%d, %d)", p, pickLow, lo)
		}
	}
}

// ListensOn tells this process's listener from a port it does not hold.
func TestListensOn(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if !ListensOn(os.Getpid(), port) {
		t.Fatalf("ListensOn(self, %d) = false", port)
	}
	if ListensOn(os.Getpid(), FreePort(t)) {
		t.Fatal("ListensOn reports a port nobody listens on")
	}
	// A connected client socket on a port is not a listener.
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ListensOn(os.Getpid(), c.LocalAddr().(*net.TCPAddr).Port) {
		t.Fatal("ListensOn counts a client socket")
	}
}
