package uploader

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func proxyStrings(list []*url.URL) string {
	var out []string
	for _, u := range list {
		out = append(out, redact(u))
	}
	return strings.Join(out, " ")
}

const testPAC = `
function FindProxyForURL(url, host) {
	if (isPlainHostName(host)) return "DIRECT";
	if (dnsDomainIs(host, ".intranet.example") || localHostOrDomainIs(host, "www.hospital.example")) return "DIRECT";
	if (shExpMatch(host, "*.relay.example")) return "PROXY a.proxy:3128; PROXY b.proxy:8080; DIRECT";
	if (isInNet(host, "10.0.0.0", "255.0.0.0")) return "PROXY internal:3128";
	if (url.substring(0, 6) == "https:" && dnsDomainLevels(host) > 3) return "HTTPS secure.proxy:443";
	if (host == "socks.example") return "SOCKS s:1080; PROXY fallback:3128";
	if (host == "loop.example") { while (true) {} }
	if (host == "bad.example") return "SOCKS4 s:1080";
	if (host == "throw.example") throw new Error("boom");
	return "PROXY default.proxy";
}`

func TestPACEvaluation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "proxy.pac")
	os.WriteFile(p, []byte(testPAC), 0o644)
	src := newPACSource(p, http.DefaultClient, time.Now)
	src.resolver = offlineResolver
	for _, tc := range []struct{ url, want, err string }{
		{"https://relay/", "DIRECT", ""},
		{"https://x.intranet.example/", "DIRECT", ""},
		{"https://www/", "DIRECT", ""},
		{"https://eu.relay.example/api", "http://a.proxy:3128 http://b.proxy:8080 DIRECT", ""},
		{"https://10.1.2.3:8443/", "http://internal:3128", ""},
		{"https://a.b.c.d.example/", "https://secure.proxy:443", ""},
		{"https://socks.example/", "socks5://s:1080 http://fallback:3128", ""},
		{"https://other.example/", "http://default.proxy:80", ""},
		{"https://bad.example/", "", "no usable proxy"},
		{"https://throw.example/", "", "boom"},
		{"https://loop.example/", "", "took longer"},
	} {
		list, err := src.Proxies(context.Background(), mustURL(t, tc.url))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || proxyStrings(list) != tc.want {
			t.Errorf("%s: %s, %v; want %s", tc.url, proxyStrings(list), err, tc.want)
		}
	}
}

func TestPACHelpers(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`shExpMatch("a.b.example", "*.example")`, "true"},
		{`shExpMatch("a.b.example", "?.b.*")`, "true"},
		{`shExpMatch("ab.example", "?.example")`, "false"},
		{`shExpMatch("a+b(c)", "a+b(c)")`, "true"},
		{`dnsDomainLevels("a.b.c")`, "2"},
		{`isInNet("192.168.1.7", "192.168.0.0", "255.255.0.0")`, "true"},
		{`isInNet("192.169.1.7", "192.168.0.0", "255.255.0.0")`, "false"},
		{`isInNet("127.0.0.1", "127.0.0.0", "255.0.0.0")`, "true"},
		{`dnsResolve("127.0.0.1")`, "127.0.0.1"},
		{`isResolvable("no-such-host.invalid")`, "false"},
		{`typeof myIpAddress()`, "string"},
		{`weekdayRange("SUN", "SAT")`, "true"},
		{`weekdayRange("SUN", "SAT", "GMT")`, "true"},
		{`timeRange(0, 24)`, "true"},
		{`timeRange(0, 0, 0, 23, 59, 59)`, "true"},
		{`dateRange("JAN", "DEC")`, "true"},
		{`dateRange(1, 31)`, "true"},
		{`dateRange(1995, 2200)`, "true"},
		{`localHostOrDomainIs("www", "www.hospital.example")`, "true"},
		{`localHostOrDomainIs("mail.hospital.example", "www.hospital.example")`, "false"},
	} {
		s, err := compilePAC(`function FindProxyForURL(url, host) { return String(`+tc.expr+`); }`, offlineResolver)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.find(context.Background(), "https://x/", "x")
		if err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %s", tc.expr, got, err, tc.want)
		}
	}
}

func TestPACFromURLAndErrors(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		switch r.URL.Path {
		case "/proxy.pac":
			w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
			w.Write([]byte(`function FindProxyForURL(u, h) { return "PROXY p.example:3128"; }`))
		case "/big.pac":
			w.Write([]byte(strings.Repeat("/", maxPACSize+1)))
		case "/nofunc.pac":
			w.Write([]byte(`var x = 1;`))
		case "/syntax.pac":
			w.Write([]byte(`function FindProxyForURL(u, h) { return "DIRECT"`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	src := newPACSource(srv.URL+"/proxy.pac", srv.Client(), time.Now)
	for range 3 {
		list, err := src.Proxies(context.Background(), mustURL(t, "https://relay.example/"))
		if err != nil || proxyStrings(list) != "http://p.example:3128" {
			t.Fatal(proxyStrings(list), err)
		}
	}
	if hits != 1 {
		t.Fatalf("PAC fetched %d times", hits)
	}
	for path, want := range map[string]string{"/big.pac": "larger than", "/nofunc.pac": "no FindProxyForURL",
		"/syntax.pac": "SyntaxError", "/missing.pac": "404"} {
		_, err := newPACSource(srv.URL+path, srv.Client(), time.Now).Proxies(context.Background(), mustURL(t, "https://r/"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", path, err, want)
		}
	}
}

func TestProxySelection(t *testing.T) {
	env := envMap(map[string]string{"HTTPS_PROXY": "http://envproxy:3128", "no_proxy": "skip.example"})
	pacFile := filepath.Join(t.TempDir(), "p.pac")
	os.WriteFile(pacFile, []byte(`function FindProxyForURL(u, h) { return "PROXY pac.example:8080"; }`), 0o644)
	for _, tc := range []struct {
		name, proxy, pac, target, want string
	}{
		{"explicit covers loopback", "http://user:pw@px:3128", "", "https://127.0.0.1:8443", "http://user@px:3128"},
		{"explicit bare host:port", "px:3128", "", "https://relay.example", "http://px:3128"},
		{"explicit beats PAC", "px:3128", pacFile, "https://relay.example", "http://px:3128"},
		{"PAC beats env", "", pacFile, "https://relay.example", "http://pac.example:8080"},
		{"env", "", "", "https://relay.example", "http://envproxy:3128"},
		{"env no_proxy", "", "", "https://skip.example", "DIRECT"},
		{"env skips loopback", "", "", "https://127.0.0.1:8443", "DIRECT"},
		{"direct", "direct", pacFile, "https://relay.example", "DIRECT"},
	} {
		var pac *pacSource
		if tc.pac != "" {
			pac = newPACSource(tc.pac, http.DefaultClient, time.Now)
			pac.resolver = offlineResolver
		}
		s, err := newProxySelector(tc.proxy, pac, env)
		if err != nil {
			t.Fatal(tc.name, err)
		}
		list, err := s.Proxies(context.Background(), mustURL(t, tc.target))
		if err != nil || proxyStrings(list) != tc.want {
			t.Errorf("%s: %s, %v; want %s", tc.name, proxyStrings(list), err, tc.want)
		}
	}
	for _, bad := range []string{"socks4://x:1080", "http://", "ftp://x"} {
		if _, err := newProxySelector(bad, nil, env); err == nil {
			t.Errorf("proxy %q accepted", bad)
		}
	}
	// A password in a bad proxy URL never shows in the error.
	if _, err := newProxySelector("socks4://u:hunter2@x:1080", nil, env); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
}
