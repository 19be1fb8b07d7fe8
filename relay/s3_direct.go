package relay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// emptySHA256 is the SHA-256 of an empty payload, as S3 wants it in
// x-amz-content-sha256 for a GET.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// directIdleTime is how long an idle bucket connection is kept: less
// than the idle timeouts of S3 servers (versitygw, nginx, haproxy in
// front of one: 60 s and more), so that a kept one is rarely stale.
const directIdleTime = 30 * time.Second

// s3Direct reads ranges of blobs from a plain-HTTP S3 endpoint over
// TCP connections it keeps itself, so that a download's body goes from
// the bucket's socket to the recipient's by the response's ReadFrom,
// which net/http turns into splice(2): no copy through the process, and
// per download no buffer and no transport goroutines (the SDK's
// transport holds 8 KiB of buffers and two goroutines per connection,
// and its call chain grows the handler's stack). A TLS endpoint or one
// reached through a proxy keeps the SDK; so does anything this reader
// does not expect (S3Blobs.OpenRange falls back).
type s3Direct struct {
	host, bucket, region string
	creds                aws.Credentials
	signer               *v4.Signer
	dialer               net.Dialer

	mu   sync.Mutex
	idle []*directConn // most recently used last
}

// directConn is one connection to the bucket and its reader (headers
// are read through it; bodies, once it is drained, from the socket).
type directConn struct {
	c    *net.TCPConn
	br   *bufio.Reader
	bw   *bufio.Writer
	used time.Time
}

// newS3Direct returns the direct reader of endpoint, or nil when the
// endpoint is not plain HTTP or a proxy would be used to reach it.
func newS3Direct(endpoint, bucket, region string, creds aws.Credentials) *s3Direct {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil
	}
	if p, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err != nil || p != nil {
		return nil
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	return &s3Direct{host: host, bucket: bucket, region: region, creds: creds,
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}}
}

// errDirectNotFound is a 404 from the bucket.
var errDirectNotFound = fmt.Errorf("no such key: %w", fs.ErrNotExist)

// openRange asks for bytes [start, end) of key and returns the body and
// the object's whole size. A reused connection that fails before the
// answer (closed by the server while idle) is replaced once.
func (d *s3Direct) openRange(ctx context.Context, key string, start, end int64) (io.ReadCloser, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.host+"/"+d.bucket+"/"+key, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Range", "bytes="+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end-1, 10))
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	if err := d.signer.SignHTTP(ctx, d.creds, req, emptySHA256, "s3", d.region, time.Now().UTC()); err != nil {
		return nil, 0, fmt.Errorf("sign: %w", err)
	}
	for attempt := 0; ; attempt++ {
		dc, reused, err := d.get(ctx)
		if err != nil {
			return nil, 0, err
		}
		body, size, err := d.roundTrip(ctx, dc, req, end-start)
		if err == nil || !reused || attempt > 0 || ctx.Err() != nil || errors.Is(err, errDirectAnswer) {
			return body, size, err
		}
	}
}

// errDirectAnswer marks an answer that came but was not the one asked
// for (status, headers): retrying on another connection will not help.
var errDirectAnswer = errors.New("unexpected answer")

func (d *s3Direct) roundTrip(ctx context.Context, dc *directConn, req *http.Request, want int64) (io.ReadCloser, int64, error) {
	// The context's end interrupts the exchange and the body's transfer.
	stop := context.AfterFunc(ctx, func() { dc.c.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (io.ReadCloser, int64, error) {
		stop()
		dc.c.Close()
		return nil, 0, err
	}
	if err := req.Write(dc.bw); err != nil {
		return fail(err)
	}
	if err := dc.bw.Flush(); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(dc.br, req)
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusPartialContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode == http.StatusNotFound {
			return fail(errDirectNotFound)
		}
		return fail(fmt.Errorf("%w: %s %s", errDirectAnswer, resp.Status, strings.TrimSpace(string(b))))
	}
	size, ok := contentRangeSize(resp.Header.Get("Content-Range"))
	if !ok || resp.ContentLength != want || len(resp.TransferEncoding) > 0 {
		return fail(fmt.Errorf("%w: Content-Range %q, %d bytes", errDirectAnswer, resp.Header.Get("Content-Range"), resp.ContentLength))
	}
	return &directBody{ctx: ctx, d: d, dc: dc, n: want, stop: stop, keep: !resp.Close}, size, nil
}

// get returns an idle connection (reused true) or a new one.
func (d *s3Direct) get(ctx context.Context) (*directConn, bool, error) {
	now := time.Now()
	d.mu.Lock()
	for len(d.idle) > 0 {
		dc := d.idle[len(d.idle)-1]
		d.idle = d.idle[:len(d.idle)-1]
		if now.Sub(dc.used) < directIdleTime {
			d.mu.Unlock()
			return dc, true, nil
		}
		dc.c.Close()
	}
	d.mu.Unlock()
	c, err := d.dialer.DialContext(ctx, "tcp", d.host)
	if err != nil {
		return nil, false, fmt.Errorf("dial bucket: %w", err)
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		c.Close()
		return nil, false, errors.New("dial bucket: not a TCP connection")
	}
	return &directConn{c: tc, br: bufio.NewReaderSize(tc, 2<<10), bw: bufio.NewWriterSize(tc, 1<<10)}, false, nil
}

// put keeps dc for reuse (up to s3IdleConns), dropping the oldest ones
// that have been idle too long.
func (d *s3Direct) put(dc *directConn) {
	dc.c.SetDeadline(time.Time{})
	dc.used = time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.idle) > 0 && dc.used.Sub(d.idle[0].used) >= directIdleTime {
		d.idle[0].c.Close()
		d.idle = d.idle[1:]
	}
	if len(d.idle) >= s3IdleConns {
		dc.c.Close()
		return
	}
	d.idle = append(d.idle, dc)
}

// directBody is the body of one ranged answer: n bytes left.
type directBody struct {
	ctx    context.Context
	d      *s3Direct
	dc     *directConn
	n      int64
	stop   func() bool
	keep   bool
	failed bool
	closed bool
}

func (b *directBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if err := b.ctx.Err(); err != nil {
		b.failed = true
		return 0, err
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.dc.br.Read(p)
	b.n -= int64(n)
	if err == io.EOF && b.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		b.failed = true
	}
	return n, err
}

// WriteTo sends the rest of the body to w: the bytes the connection's
// reader already holds, then the socket itself through w's ReadFrom.
func (b *directBody) WriteTo(w io.Writer) (int64, error) {
	if err := b.ctx.Err(); err != nil {
		b.failed = true
		return 0, err
	}
	var total int64
	if k := b.dc.br.Buffered(); k > 0 && b.n > 0 {
		chunk, _ := b.dc.br.Peek(int(min(int64(k), b.n)))
		m, err := w.Write(chunk)
		b.dc.br.Discard(m)
		b.n -= int64(m)
		total += int64(m)
		if err != nil {
			b.failed = true
			return total, err
		}
	}
	if b.n == 0 {
		return total, nil
	}
	lr := &io.LimitedReader{R: b.dc.c, N: b.n}
	var m int64
	var err error
	if rf, ok := w.(io.ReaderFrom); ok {
		m, err = rf.ReadFrom(lr)
	} else {
		m, err = io.Copy(w, lr)
	}
	b.n -= m
	total += m
	if err == nil && b.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.failed = true
	}
	return total, err
}

// Close keeps the connection for the next request when the body was
// read to its end and nothing else is pending on it; else it closes it.
func (b *directBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	interrupted := !b.stop()
	if b.keep && !b.failed && !interrupted && b.n == 0 && b.dc.br.Buffered() == 0 {
		b.d.put(b.dc)
		return nil
	}
	return b.dc.c.Close()
}
