package uploader

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

// fakeConnectProxy answers every CONNECT with the given response head.
func fakeConnectProxy(t *testing.T, answer string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if req.Method != http.MethodConnect {
						return
					}
					c.Write([]byte(answer))
				}
			}()
		}
	}()
	return l.Addr().String()
}

func TestConnectRefused(t *testing.T) {
	addr := fakeConnectProxy(t, "HTTP/1.1 403 Forbidden\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\nContent-Length: 5\r\n\r\nnope!")
	c, err := New("https://relay.example", "tok", Options{Proxy: "http://" + addr, Getenv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Status(context.Background(), "AAAAAAAAAAAAAAAAAAAAAA")
	var pe *ProxyError
	if !errors.As(err, &pe) || pe.Status != "403 Forbidden" || !strings.Contains(err.Error(), "ERR_ACCESS_DENIED") {
		t.Fatalf("err = %v", err)
	}
}

func TestConnect407WithoutCredentials(t *testing.T) {
	addr := fakeConnectProxy(t, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM\r\n"+
		"Proxy-Authenticate: Negotiate\r\nProxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n")
	c, _ := New("https://relay.example", "tok", Options{Proxy: addr, Getenv: envMap(nil)})
	_, err := c.Status(context.Background(), "AAAAAAAAAAAAAAAAAAAAAA")
	if !errors.Is(err, ErrProxyAuth) || !IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{addr, "NTLM, Negotiate, Basic", "no credentials are configured"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

func TestCredentialsNeverLogged(t *testing.T) {
	addr := fakeConnectProxy(t, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := New("https://relay.example", "tok-SECRET", Options{Proxy: "http://bob:PW-SECRET@" + addr, Getenv: envMap(nil), Logger: log})
	_, err := c.Status(context.Background(), "AAAAAAAAAAAAAAAAAAAAAA")
	if !errors.Is(err, ErrProxyAuth) || !strings.Contains(err.Error(), `user "bob"`) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(logs.String()+err.Error(), "SECRET") {
		t.Fatalf("secret leaked:\n%s\n%v", logs.String(), err)
	}
}

func TestPickScheme(t *testing.T) {
	for _, tc := range []struct {
		offered []string
		want    string
	}{
		{[]string{"Basic"}, "Basic"},
		{[]string{"Basic", "NTLM"}, "NTLM"},
		{[]string{"Negotiate", "Basic"}, "Negotiate"},
		{[]string{"Digest"}, ""},
		{nil, ""},
	} {
		if got := pickScheme(tc.offered); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.offered, got, tc.want)
		}
	}
}

func TestPadChallenge(t *testing.T) {
	// A challenge as squid's ntlm_fake_auth sends it: target name offset
	// garbage, message cut short.
	b := []byte("NTLMSSP\x00\x02\x00\x00\x00\x09\x00\x09\x00\xae\xaa\xaa\xaa\x01\x82\x88\xa0" +
		"\x2d\x60\x86\x1e\x94\x7a\x21\x1d\x00\x00\x00\x00\x00\x00\x3a\x00WORKGROUP")
	p := padChallenge(b)
	if len(p) != 56 || !bytes.Equal(p[12:20], make([]byte, 8)) || !bytes.Equal(p[:12], b[:12]) {
		t.Fatalf("%x", p)
	}
}
