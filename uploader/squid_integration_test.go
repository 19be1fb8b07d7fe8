//go:build unix

package uploader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// sendAndCheck uploads size random bytes through c, completes the drop,
// downloads it again and checks the SHA-256. It returns the upload stats.
func sendAndCheck(t *testing.T, r *fakeRelay, c *Client, size int64, during func(sent int64)) UploadStats {
	t.Helper()
	ctx := testCtx(t)
	f, sum := testFile(t, size)
	d, err := c.CreateDrop(ctx, relayapi.CreateDropRequest{Size: size, SHA256: sum, Mode: "key"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.UploadWithStats(ctx, d.ID, f, size, func(sent, total int64) {
		if during != nil {
			during(sent)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Complete(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := c.Download(ctx, d.ID, "", h); err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(h.Sum(nil)) != sum {
		t.Fatal("the relay's bytes differ from the sent ones")
	}
	return st
}

func TestSquidNoAuth(t *testing.T) {
	testutil.NeedIntegration(t)
	r := newFakeRelay(t)
	sq := startSquid(t, squidOpen, "")
	c := newTestClient(t, r, Options{Proxy: sq.URL()})
	sendAndCheck(t, r, c, 2<<20, nil)
	if !strings.Contains(sq.accessLog(), "CONNECT "+r.addr) {
		t.Fatalf("upload did not go through squid:\n%s", sq.accessLog())
	}
}

func TestSquidBasicAuth(t *testing.T) {
	testutil.NeedIntegration(t)
	r := newFakeRelay(t)
	sq := startSquid(t, squidBasic, "")
	t.Run("userinfo", func(t *testing.T) {
		proxy := fmt.Sprintf("http://%s:%s@%s", "hospital%5Calice", squidPassword, sq.addr)
		c := newTestClient(t, r, Options{Proxy: proxy})
		sendAndCheck(t, r, c, 1<<20, nil)
	})
	t.Run("credentials", func(t *testing.T) {
		c := newTestClient(t, r, Options{Proxy: sq.URL(), ProxyCredentials: &Credentials{User: squidUser, Password: squidPassword}})
		sendAndCheck(t, r, c, 1<<20, nil)
	})
	t.Run("no credentials", func(t *testing.T) {
		c := newTestClient(t, r, Options{Proxy: sq.URL()})
		_, err := c.CreateDrop(testCtx(t), relayapi.CreateDropRequest{Size: 1, SHA256: zeroSum, Mode: "key"})
		var pe *ProxyAuthError
		if !errors.Is(err, ErrProxyAuth) || !errors.As(err, &pe) || !IsPermanent(err) {
			t.Fatalf("err = %v", err)
		}
		msg := err.Error()
		for _, want := range []string{sq.addr, "Basic", "no credentials", "--proxy http://USER:PASSWORD@"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not say %q", msg, want)
			}
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := newTestClient(t, r, Options{Proxy: sq.URL(), ProxyCredentials: &Credentials{User: squidUser, Password: "wrong"}})
		_, err := c.CreateDrop(testCtx(t), relayapi.CreateDropRequest{Size: 1, SHA256: zeroSum, Mode: "key"})
		if !errors.Is(err, ErrProxyAuth) || !strings.Contains(err.Error(), "rejected the credentials") ||
			strings.Contains(err.Error(), "wrong") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSquidNTLM(t *testing.T) {
	testutil.NeedIntegration(t)
	r := newFakeRelay(t)
	sq := startSquid(t, squidNTLM, "")
	c := newTestClient(t, r, Options{Proxy: sq.URL(), ProxyCredentials: &Credentials{User: squidUser, Password: squidPassword}})
	sendAndCheck(t, r, c, 1<<20, nil)
	if !strings.Contains(sq.accessLog(), "alice") {
		t.Fatalf("squid did not log the NTLM user:\n%s", sq.accessLog())
	}
}

func TestSquidSSLBump(t *testing.T) {
	testutil.NeedIntegration(t)
	r := newFakeRelay(t)
	sq := startSquid(t, squidBump, r.caFile)
	t.Run("without the CA", func(t *testing.T) {
		c := newTestClient(t, r, Options{Proxy: sq.URL()})
		_, err := c.CreateDrop(testCtx(t), relayapi.CreateDropRequest{Size: 1, SHA256: zeroSum, Mode: "key"})
		if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("with the CA", func(t *testing.T) {
		c := newTestClient(t, r, Options{Proxy: sq.URL(), CA: sq.caFile})
		sendAndCheck(t, r, c, 2<<20, nil)
		// The proxy saw the requests themselves, not just a tunnel.
		if !strings.Contains(sq.accessLog(), "PATCH https://"+r.addr+"/api/v1/uploads/") {
			t.Fatalf("squid did not intercept:\n%s", sq.accessLog())
		}
	})
	t.Run("pin refuses the interception", func(t *testing.T) {
		pin := SPKIPin(r.cert.Leaf)
		c := newTestClient(t, r, Options{Proxy: sq.URL(), CA: sq.caFile, PinSHA256: pin})
		_, err := c.CreateDrop(testCtx(t), relayapi.CreateDropRequest{Size: 1, SHA256: zeroSum, Mode: "key"})
		var pe *PinError
		if !errors.As(err, &pe) || !IsPermanent(err) {
			t.Fatalf("err = %v", err)
		}
		direct := newTestClient(t, r, Options{Proxy: "direct", PinSHA256: pin})
		if _, err := direct.CreateDrop(testCtx(t), relayapi.CreateDropRequest{Size: 1, SHA256: zeroSum, Mode: "key"}); err != nil {
			t.Fatalf("pinned direct: %v", err)
		}
	})
}

func TestSquidChosenByPAC(t *testing.T) {
	testutil.NeedIntegration(t)
	r := newFakeRelay(t)
	sq := startSquid(t, squidOpen, "")
	pac := filepath.Join(t.TempDir(), "proxy.pac")
	os.WriteFile(pac, []byte(fmt.Sprintf(`function FindProxyForURL(url, host) {
	if (isPlainHostName(host) || dnsDomainIs(host, ".intranet.example")) return "DIRECT";
	if (isInNet(host, "127.0.0.0", "255.0.0.0")) return "PROXY 127.0.0.1:1; PROXY %s; DIRECT";
	return "DIRECT";
}`, sq.addr)), 0o644)
	// The first proxy of the list is down: the client falls back to squid.
	c := newTestClient(t, r, Options{PAC: pac, Getenv: envMap(map[string]string{"HTTPS_PROXY": "http://127.0.0.1:1"})})
	sendAndCheck(t, r, c, 1<<20, nil)
	if !strings.Contains(sq.accessLog(), "CONNECT "+r.addr) {
		t.Fatalf("upload did not go through squid:\n%s", sq.accessLog())
	}
}

// Faults: each must leave a whole drop, and each failure must cost less
// than one chunk of re-sent bytes.
const (
	faultSize  = 12 << 20
	faultChunk = 1 << 20
)

func faultClient(t *testing.T, r *fakeRelay, opts Options) *Client {
	opts.ChunkSize, opts.MinChunk, opts.MaxChunk = faultChunk, 256<<10, faultChunk
	opts.Retry = RetryPolicy{Attempts: 20}
	return newTestClient(t, r, opts)
}

func checkResent(t *testing.T, st UploadStats, size int64) {
	t.Helper()
	resent := st.Sent - size
	t.Logf("failures %d, chunks %d, re-sent %d bytes", st.Failures, st.Chunks, resent)
	if st.Failures == 0 {
		t.Fatal("no failure happened")
	}
	if resent >= int64(st.Failures)*faultChunk {
		t.Fatalf("re-sent %d bytes for %d failures: more than one chunk each", resent, st.Failures)
	}
}

func TestFaultSquidKilledMidUpload(t *testing.T) {
	testutil.NeedIntegration(t)
	r := newFakeRelay(t)
	sq := startSquid(t, squidOpen, "")
	c := faultClient(t, r, Options{Proxy: sq.URL()})
	var once sync.Once
	st := sendAndCheck(t, r, c, faultSize, func(sent int64) {
		if sent > faultSize/3 {
			once.Do(func() { sq.kill(); sq.start() })
		}
	})
	checkResent(t, st, faultSize)
}

func TestFaultConnectionResets(t *testing.T) {
	testutil.NeedIntegration(t)
	r := newFakeRelay(t)
	sq := startSquid(t, squidOpen, "")
	fp := newFaultProxy(t, sq.addr, 4, 64<<10, 3<<20)
	c := faultClient(t, r, Options{Proxy: "http://" + fp.Addr()})
	st := sendAndCheck(t, r, c, faultSize, nil)
	if fp.injected.Load() == 0 {
		t.Fatal("no reset injected")
	}
	checkResent(t, st, faultSize)
}

func TestFaultRelayRestart(t *testing.T) {
	r := newFakeRelay(t)
	c := faultClient(t, r, Options{})
	var once sync.Once
	st := sendAndCheck(t, r, c, faultSize, func(sent int64) {
		if sent > faultSize/2 {
			once.Do(r.restart)
		}
	})
	checkResent(t, st, faultSize)
}

func TestCanceledUploadStops(t *testing.T) {
	r := newFakeRelay(t)
	c := newTestClient(t, r, Options{})
	f, sum := testFile(t, 4<<20)
	ctx, cancel := context.WithCancel(testCtx(t))
	d, err := c.CreateDrop(ctx, relayapi.CreateDropRequest{Size: 4 << 20, SHA256: sum, Mode: "key"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Upload(ctx, d.ID, f, 4<<20, func(sent, total int64) {
		if sent > 1<<20 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
