package relay

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// countingProxy forwards TCP connections to target and counts them.
func countingProxy(t *testing.T, target string) (addr string, conns *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				go io.Copy(u, c)
				io.Copy(c, u)
			}()
		}
	}()
	return ln.Addr().String(), conns
}

// Concurrent reads of the bucket reuse their connections: a second wave
// of 50 ranged reads dials nothing new (the SDK's default pool keeps 10
// idle connections, and the 40 others were dialled again every time),
// with the direct reader and with the SDK.
func TestS3ReusesConnections(t *testing.T) {
	testutil.NeedIntegration(t)
	gw := testutil.StartVersitygw(t)
	o, err := ParseS3URL(gw.S3URL("drops"))
	if err != nil {
		t.Fatal(err)
	}
	o.AccessKey, o.SecretKey = gw.AccessKey, gw.SecretKey
	direct, err := NewS3Blobs(o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := direct.CreateBucket(ctx); err != nil {
		t.Fatal(err)
	}
	id := mustDropID(t)
	data := randomBytes(t, 64<<10)
	if err := direct.Put(ctx, id, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	for _, noDirect := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "sdk"}[noDirect], func(t *testing.T) {
			o := o
			o.NoDirect = noDirect
			testReusesConnections(t, gw.Endpoint, o, id, len(data))
		})
	}
}

func testReusesConnections(t *testing.T, endpoint string, o S3Options, id string, size int) {
	ctx := context.Background()
	addr, conns := countingProxy(t, endpoint[len("http://"):])
	o.Endpoint = "http://" + addr
	b, err := NewS3Blobs(o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	wave := func() {
		// All n answers are open at once, so n connections are in use.
		var opened, wg sync.WaitGroup
		opened.Add(n)
		release := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, _, err := b.OpenRange(ctx, id, 0, int64(size))
				opened.Done()
				if err != nil {
					t.Error(err)
					return
				}
				<-release
				io.Copy(io.Discard, r)
				r.Close()
			}()
		}
		opened.Wait()
		close(release)
		wg.Wait()
	}
	wave()
	first := conns.Load()
	wave()
	if again := conns.Load() - first; again > 0 {
		t.Fatalf("second wave of %d reads dialled %d new connections (first wave: %d)", n, again, first)
	}
}
