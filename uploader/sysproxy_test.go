package uploader

import (
	"testing"
)

func TestSystemProxySettings(t *testing.T) {
	p := parseSystemProxy("http=web:8080;https=secure:3128;ftp=f:21", "<local>;*.intranet.example;10.*")
	for target, want := range map[string]string{
		"https://relay.example":         "http://secure:3128",
		"http://relay.example":          "http://web:8080",
		"https://printer":               "DIRECT",
		"https://a.intranet.example":    "DIRECT",
		"https://10.2.3.4:8443":         "DIRECT",
		"https://intranet.example.evil": "http://secure:3128",
	} {
		if got := redact(p.proxyFor(mustURL(t, target))); got != want {
			t.Errorf("%s: %s, want %s", target, got, want)
		}
	}
	one := parseSystemProxy("proxy.hospital:3128", "")
	if got := redact(one.proxyFor(mustURL(t, "https://relay.example"))); got != "http://proxy.hospital:3128" {
		t.Error(got)
	}
	if parseSystemProxy("", "<local>") != nil || parseSystemProxy("ftp=x:21", "") != nil {
		t.Error("no usable proxy must give nil")
	}
	s, _ := newProxySelector("", nil, envMap(nil))
	s.system = one
	if list, _ := s.Proxies(t.Context(), mustURL(t, "https://relay.example")); redact(list[0]) != "http://proxy.hospital:3128" {
		t.Error("system settings not used")
	}
	s, _ = newProxySelector("", nil, envMap(map[string]string{"HTTPS_PROXY": "http://env:1"}))
	s.system = one
	if list, _ := s.Proxies(t.Context(), mustURL(t, "https://relay.example")); redact(list[0]) != "http://env:1" {
		t.Error("environment must win over system settings")
	}
}
