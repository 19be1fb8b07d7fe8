//go:build windows

package uploader

import (
	"golang.org/x/sys/windows/registry"
)

// loadSystemSettings reads the current user's Internet Options.
func loadSystemSettings() *systemSettings {
	k, err := registry.OpenKey(registry.CURRENT_USER,
		`Software\Microsoft\Windows\CurrentVersion\Internet Settings`, registry.QUERY_VALUE)
	if err != nil {
		return nil
	}
	defer k.Close()
	s := &systemSettings{}
	s.PAC, _, _ = k.GetStringValue("AutoConfigURL")
	if on, _, err := k.GetIntegerValue("ProxyEnable"); err == nil && on != 0 {
		s.Proxy, _, _ = k.GetStringValue("ProxyServer")
		s.Bypass, _, _ = k.GetStringValue("ProxyOverride")
	}
	if s.PAC == "" && s.Proxy == "" {
		return nil
	}
	return s
}
