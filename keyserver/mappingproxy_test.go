package keyserver

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The test proxy must carry every byte the client sends after CONNECT,
// including those the proxy's HTTP server has already buffered: a lost
// first byte turns a TLS ClientHello into "first record does not look
// like a TLS handshake" at the WKD server, the lookup fails and the send
// under test goes on with the relay's key alone (a flaky pass of a
// refusal test). The client here sends its first bytes in the same write
// as the CONNECT request, so they are always in the server's buffer.
func TestMappingProxyKeepsBufferedBytes(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	proxy := mappingProxy(t, map[string]string{"wkd.example:443": echo.Addr().String()})
	conn, err := net.Dial("tcp", strings.TrimPrefix(proxy, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A guard against a hang, not a timing assertion.
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(conn, "CONNECT wkd.example:443 HTTP/1.1\r\nHost: wkd.example:443\r\n\r\n\x16hello"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	got := make([]byte, 6)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "\x16hello" {
		t.Fatalf("echoed through the tunnel: %q, %v (bytes sent with the CONNECT were lost)", got, err)
	}
}
