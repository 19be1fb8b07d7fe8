package uploader

import (
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// faultProxy forwards TCP connections to a target and resets a connection
// (RST, no goodbye) after a random number of client bytes, a set number of
// times; then it forwards faithfully.
type faultProxy struct {
	l        net.Listener
	target   string
	minBytes int64
	maxBytes int64
	faults   atomic.Int32 // faults left to inject
	injected atomic.Int32
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

func newFaultProxy(t testing.TB, target string, faults int32, minBytes, maxBytes int64) *faultProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{l: l, target: target, minBytes: minBytes, maxBytes: maxBytes, conns: map[net.Conn]bool{}}
	p.faults.Store(faults)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *faultProxy) Addr() string { return p.l.Addr().String() }

func (p *faultProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.handle(c) }()
	}
}

// track remembers c until the returned function is called.
func (p *faultProxy) track(c net.Conn) func() {
	p.mu.Lock()
	p.conns[c] = true
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		c.Close()
	}
}

func (p *faultProxy) handle(client net.Conn) {
	defer p.track(client)()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer p.track(server)()
	budget := int64(-1)
	if p.faults.Add(-1) >= 0 {
		budget = p.minBytes + rand.Int64N(p.maxBytes-p.minBytes+1)
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(client, server); done <- struct{}{} }()
	go func() {
		if budget < 0 {
			io.Copy(server, client)
		} else if n, _ := io.CopyN(server, client, budget); n == budget {
			p.injected.Add(1)
			for _, c := range []net.Conn{client, server} {
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0) // close with RST
				}
			}
		}
		done <- struct{}{}
	}()
	<-done
}
