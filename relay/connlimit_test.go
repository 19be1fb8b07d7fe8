package relay

import (
	"io"
	"net"
	"os"
	"testing"
)

// One address holds at most max connections; others are not affected, and
// a closed connection frees its slot.
func TestLimitPerIP(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := LimitPerIP(inner, 3)
	defer l.Close()
	accepted := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var held []net.Conn // server side
	for range 3 {
		dial("127.0.0.2")
		held = append(held, <-accepted)
	}
	// The fourth from the same address is closed at once.
	extra := dial("127.0.0.2")
	if _, err := extra.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("over the cap: read %v, want EOF", err)
	}
	// Another address is served.
	dial("127.0.0.1")
	if c := <-accepted; remoteIP(c.RemoteAddr()) != "127.0.0.1" {
		t.Fatalf("accepted %v", c.RemoteAddr())
	}
	// A slot freed (the server closed one) is reusable.
	held[0].Close()
	dial("127.0.0.2")
	if c := <-accepted; remoteIP(c.RemoteAddr()) != "127.0.0.2" {
		t.Fatalf("accepted %v", c.RemoteAddr())
	}
}

// A limited connection keeps the TCP connection's ReadFrom, through
// which net/http sends files (sendfile) and bucket answers (splice).
func TestLimitPerIPKeepsReadFrom(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := LimitPerIP(inner, 3)
	defer l.Close()
	go func() {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(io.ReaderFrom); !ok {
		t.Fatalf("%T has no ReadFrom: net/http would copy every download through a buffer", c)
	}
	f, err := os.CreateTemp(t.TempDir(), "blob")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 100_000))
	f.Seek(0, io.SeekStart)
	if n, err := c.(io.ReaderFrom).ReadFrom(f); err != nil || n != 100_000 {
		t.Fatalf("ReadFrom: %d bytes, %v", n, err)
	}
}
