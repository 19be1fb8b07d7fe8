package cli

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/internal/keystore"
	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/relayapi"
)

func runEnroll(ctx context.Context, e *env, args []string) error {
	const usage = "sealprint enroll --relay URL --token TOKEN [--proxy URL] [--proxy-user USER] [--pac URL|FILE] [--ca FILE]"
	fs := newFlags("enroll", usage+`

Saves the relay address, the enrolment token and network settings in the
config. A proxy password (from SEALPRINT_PROXY_PASSWORD, or in the --proxy
URL) goes to the OS keyring, never into the config file.`, e.stderr)
	relayURL := fs.String("relay", "", "relay base URL, e.g. https://relay.example.org")
	token := fs.String("token", "", "enrolment token (from 'sealrelay token create')")
	proxy := fs.String("proxy", "", "explicit proxy URL, used for every relay address (http://[user:pass@]host:port)")
	pac := fs.String("pac", "", "proxy auto-config file: URL or path")
	ca := fs.String("ca", "", "PEM file of extra trusted CAs (TLS-inspecting proxy)")
	proxyUser := fs.String("proxy-user", "", "user name for proxy authentication; password from SEALPRINT_PROXY_PASSWORD")
	_, err := parsePositional(fs, args, 0, 0, usage)
	if err != nil {
		return err
	}
	home, err := config.Home(e.getenv)
	if err != nil {
		return err
	}
	cfg, err := config.LoadFile(home)
	if err != nil {
		return err
	}
	if *relayURL == "" && cfg.Relay == "" {
		return usageError("enroll needs --relay URL")
	}
	if *relayURL != "" {
		u, err := checkRelayURL(*relayURL)
		if err != nil {
			return err
		}
		cfg.Relay = u
	}
	if *token != "" {
		if strings.ContainsAny(*token, " \t\r\n") || len(*token) > 256 {
			return usageError("--token: malformed token")
		}
		cfg.Token = *token
	}
	if *proxy != "" {
		u, err := url.Parse(*proxy)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
			return usageError("--proxy must be a URL like http://proxy.example:3128")
		}
		// Credentials in the URL move to the keyring.
		if u.User != nil {
			if pw, ok := u.User.Password(); ok {
				if err := saveProxyPassword(e, home, pw); err != nil {
					return err
				}
			}
			cfg.ProxyUser = u.User.Username()
			u.User = nil
		}
		cfg.Proxy = u.String()
	}
	if *proxyUser != "" {
		pw := e.getenv("SEALPRINT_PROXY_PASSWORD")
		if pw == "" {
			return usageError("--proxy-user needs the password in SEALPRINT_PROXY_PASSWORD")
		}
		if err := saveProxyPassword(e, home, pw); err != nil {
			return err
		}
		cfg.ProxyUser = *proxyUser
	}
	if *pac != "" {
		if !strings.Contains(*pac, "://") && !fileExists(*pac) {
			return fmt.Errorf("--pac %s: no such file", *pac)
		}
		cfg.PAC = *pac
	}
	if *ca != "" {
		b, err := os.ReadFile(*ca)
		if err != nil {
			return fmt.Errorf("--ca: %w", err)
		}
		if !strings.Contains(string(b), "-----BEGIN CERTIFICATE-----") {
			return fmt.Errorf("--ca %s holds no PEM certificate", *ca)
		}
		cfg.CA = *ca
	}
	if strings.HasPrefix(cfg.Token, relay.OrgTokenPrefix) {
		// An organisation token enrols this PC as one sender: it is
		// exchanged for a credential of its own, bound to our key.
		cred, err := exchangeOrgToken(ctx, e, cfg)
		if err != nil {
			return err
		}
		cfg.Token = cred.Token
		defer func() {
			fmt.Fprintf(e.stdout, "enrolled as %s for %s, key %s (sender %s)\n", cred.Email, cred.Org, cred.Fingerprint, cred.SenderID)
			if !cred.Verified {
				fmt.Fprintf(e.stdout, "note: your identity is not verified yet; recipients see \"identité non vérifiée\" until the relay's administrator approves it ('sealrelay senders approve %s')\n", cred.SenderID)
			}
		}()
	}
	if err := config.Save(home, cfg); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "enrolled with %s (config %s)\n", cfg.Relay, filepath.Join(home, config.FileName))
	if cfg.Token == "" {
		fmt.Fprintln(e.stdout, "note: no token saved yet; sending needs --token")
	}
	return nil
}

// exchangeOrgToken registers this PC's signing key with the relay under
// an organisation token and returns the sender credential it gets.
func exchangeOrgToken(ctx context.Context, e *env, cfg *config.Config) (*relayapi.EnrollResponse, error) {
	p, err := openPC(e)
	if err != nil {
		return nil, err
	}
	own, err := p.keys.SenderPublic()
	if err != nil {
		return nil, fmt.Errorf("enrolling needs your signing key first: 'sealprint keys generate --name NAME --email ADDRESS' (%w)", err)
	}
	var armored strings.Builder
	if err := own.WritePublic(&armored, true); err != nil {
		return nil, err
	}
	p.cfg.Relay, p.cfg.Proxy, p.cfg.PAC, p.cfg.CA, p.cfg.ProxyUser = cfg.Relay, cfg.Proxy, cfg.PAC, cfg.CA, cfg.ProxyUser
	c, err := p.clientFor(cfg.Relay, cfg.Token)
	if err != nil {
		return nil, err
	}
	return c.Enroll(ctx, armored.String())
}

// proxyPasswordSecret names the proxy password among the secrets.
const proxyPasswordSecret = "proxy-password"

func saveProxyPassword(e *env, home, pw string) error {
	ks, err := keystore.Open(home, keystoreOptions(e.getenv, e.stderr))
	if err != nil {
		return err
	}
	_, err = ks.Secrets().Set(proxyPasswordSecret, []byte(pw))
	return err
}

// checkRelayURL validates a relay base URL: https, or http on loopback.
func checkRelayURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(s), "/"))
	if err != nil || u.Host == "" {
		return "", usageError("relay URL %q is not a URL like https://relay.example.org", s)
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", usageError("relay URL must use https (plain http is allowed on loopback only)")
		}
	} else if u.Scheme != "https" {
		return "", usageError("relay URL must use https")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", usageError("relay URL must not carry a query, fragment or credentials")
	}
	return u.String(), nil
}
