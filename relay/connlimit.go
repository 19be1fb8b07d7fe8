package relay

import (
	"io"
	"net"
	"sync"
)

// LimitPerIP wraps l so that each remote IP holds at most max connections
// at once; a connection beyond that is closed as soon as it is accepted.
// Together with the server's header and idle timeouts it keeps one client
// (a slowloris holding half-open requests) from using up the relay's file
// descriptors and goroutines. max <= 0 means no limit.
func LimitPerIP(l net.Listener, max int) net.Listener {
	if max <= 0 {
		return l
	}
	return &ipLimiter{Listener: l, max: max, open: map[string]int{}}
}

type ipLimiter struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open map[string]int
}

func (l *ipLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c.RemoteAddr())
		l.mu.Lock()
		if l.open[ip] >= l.max {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.open[ip]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *ipLimiter) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// limitedConn gives its slot back once, on the first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// ReadFrom keeps the connection's own ReadFrom for the server's
// responses: net/http sends a file with sendfile(2) and a socket (a blob
// read from the bucket) with splice(2) only through it, and a wrapper
// without it made every download a copy through a buffer.
func (c *limitedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c.Conn}, r)
}
