package uploader

import (
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sealprint/sealprint/relayapi"
)

// socksServer is a minimal SOCKS5 proxy (no authentication, CONNECT only)
// counting the connections it relays.
func socksServer(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				defer c.Close()
				var hdr [2]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 5 {
					return
				}
				io.CopyN(io.Discard, c, int64(hdr[1]))
				c.Write([]byte{5, 0})
				var req [4]byte
				if _, err := io.ReadFull(c, req[:]); err != nil || req[1] != 1 {
					return
				}
				var host string
				switch req[3] {
				case 1:
					var ip [4]byte
					io.ReadFull(c, ip[:])
					host = net.IP(ip[:]).String()
				case 3:
					var l [1]byte
					io.ReadFull(c, l[:])
					b := make([]byte, l[0])
					io.ReadFull(c, b)
					host = string(b)
				default:
					return
				}
				var port [2]byte
				io.ReadFull(c, port[:])
				up, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:])))))
				if err != nil {
					c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
					return
				}
				defer up.Close()
				n.Add(1)
				c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return l.Addr().String(), &n
}

func TestSOCKS5Proxy(t *testing.T) {
	r := newFakeRelay(t)
	addr, n := socksServer(t)
	c := newTestClient(t, r, Options{Proxy: "socks5://" + addr})
	f, sum := testFile(t, 512<<10)
	d, err := c.Send(testCtx(t), relayapi.CreateDropRequest{Size: 512 << 10, SHA256: sum, Mode: "key"}, f, nil)
	if err != nil || d.State != "ready" {
		t.Fatal(d, err)
	}
	if n.Load() == 0 {
		t.Fatal("nothing went through the SOCKS proxy")
	}
}
