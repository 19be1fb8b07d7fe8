package cli

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// TestRelaySurvivesSlowloris: 500 half-open requests (headers never
// finished) from one address leave the real sealrelay serving other
// clients; the connections over the per-address cap are closed at once.
func TestRelaySurvivesSlowloris(t *testing.T) {
	testutil.NeedIntegration(t)
	relay := startRelayProc(t)
	addr := strings.TrimPrefix(relay.url, "http://")
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 500 {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Slow-%d: ", addr, i)
		conns = append(conns, c)
	}
	// Served while they hang: health, the API, the recipient page.
	for _, p := range []string{"/healthz", "/api/v1/drops/AAAAAAAAAAAAAAAAAAAAAA", "/d/"} {
		resp, err := http.Get(relay.url + p)
		if err != nil {
			t.Fatalf("GET %s during the attack: %v", p, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("GET %s during the attack: %d", p, resp.StatusCode)
		}
	}
	// Beyond the per-address cap the attacker's connections were closed
	// on accept: finishing their requests now gets no answer.
	answered := 0
	for _, c := range conns[200:] {
		io.WriteString(c, "1\r\n\r\n")
		if b, _ := io.ReadAll(io.LimitReader(c, 12)); bytes.HasPrefix(b, []byte("HTTP/1.1")) {
			answered++
		}
	}
	if answered != 0 {
		t.Fatalf("%d of the 300 connections over the cap were served", answered)
	}
}
