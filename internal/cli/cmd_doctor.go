package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/internal/keystore"
	"github.com/sealprint/sealprint/printer"
	"github.com/sealprint/sealprint/uploader"
)

const doctorUsage = `sealprint doctor [--timeout DURATION]

Checks what delivery needs and prints a fix for each failure: the config,
the sender key and keyring, the relay reached directly and through each
configured proxy (with the proxy's answer), the TLS chain, the clock, the
enrolment token, and the printer queues registered with CUPS.
Exits 1 when a check fails.`

// maxClockSkew is the clock difference with the relay that fails the check.
const maxClockSkew = 5 * time.Minute

// probeDropID is a well-formed drop id that no relay has: a status call on
// it answers 404 to a valid token and 401 to a bad one.
const probeDropID = "doctorAAAAAAAAAAAAAAAA"

func runDoctor(ctx context.Context, e *env, args []string) error {
	fs := newFlags("doctor", doctorUsage, e.stderr)
	timeout := fs.Duration("timeout", 15*time.Second, "time allowed to each network check")
	_, err := parsePositional(fs, args, 0, 0, doctorUsage)
	if err != nil {
		return err
	}
	d := &doctor{w: e.stdout, timeout: *timeout}
	d.run(ctx, e)
	if d.failed > 0 {
		return fmt.Errorf("%d check(s) failed; see the fixes above", d.failed)
	}
	fmt.Fprintln(e.stdout, "all checks passed")
	return nil
}

// doctor runs the checks and prints one line per result.
type doctor struct {
	creds   *uploader.Credentials // proxy credentials from the keyring, if configured
	w       io.Writer
	timeout time.Duration
	failed  int
}

func (d *doctor) report(status, name, detail, fix string) {
	fmt.Fprintf(d.w, "%-5s %-28s %s\n", status, name, oneLine(detail))
	if fix != "" {
		fmt.Fprintf(d.w, "      fix: %s\n", oneLine(fix))
	}
	if status == "FAIL" {
		d.failed++
	}
}

func (d *doctor) ok(name, detail string)        { d.report("ok", name, detail, "") }
func (d *doctor) info(name, detail string)      { d.report("info", name, detail, "") }
func (d *doctor) warn(name, detail, fix string) { d.report("warn", name, detail, fix) }
func (d *doctor) fail(name, detail, fix string) { d.report("FAIL", name, detail, fix) }

func (d *doctor) run(ctx context.Context, e *env) {
	home, err := config.Home(e.getenv)
	if err != nil {
		d.fail("config", err.Error(), "set SEALPRINT_HOME to sealprint's directory")
		return
	}
	cfg, err := config.Load(home, e.getenv)
	if err != nil {
		d.fail("config", err.Error(), "repair or remove the file, then run 'sealprint enroll'")
		return
	}
	d.ok("config", filepath.Join(home, config.FileName))
	d.checkKeys(home, e)
	d.checkPDFSign(ctx, e, cfg)
	if cfg.ProxyUser != "" {
		ks, err := keystore.Open(home, keystoreOptions(e.getenv, nil))
		if err == nil {
			d.creds, err = proxyCredentials(cfg, ks)
		}
		if err != nil {
			d.fail("proxy credentials", err.Error(), "run 'sealprint enroll --proxy-user USER' with SEALPRINT_PROXY_PASSWORD set")
		} else {
			d.ok("proxy credentials", "user "+cfg.ProxyUser+", password in the secret store")
		}
	}
	if cfg.Relay == "" {
		d.fail("relay", "no relay configured", "run 'sealprint enroll --relay URL --token TOKEN' (or set SEALPRINT_RELAY)")
	} else {
		d.checkRelay(ctx, cfg, e.getenv)
	}
	d.checkQueues(ctx, cfg)
}

func (d *doctor) checkKeys(home string, e *env) {
	ks, err := keystore.Open(home, keystoreOptions(e.getenv, nil))
	if err != nil {
		d.fail("keys", err.Error(), "check the permissions of "+home)
		return
	}
	k, err := ks.SenderPublic()
	if err != nil {
		if errors.Is(err, keystore.ErrNoSenderKey) {
			d.fail("sender key", "none generated or imported", "run 'sealprint keys generate --name NAME --email EMAIL'")
			return
		}
		d.fail("sender key", err.Error(), "restore the sender key, or generate a new one with 'sealprint keys generate'")
		return
	}
	where := map[string]string{"keyring": "OS keyring", "file": "0600 file (no OS keyring)"}[ks.Secrets().Where("sender-key")]
	if where == "" {
		d.fail("sender key", "public key "+k.Fingerprint()+" present but its secret key is missing",
			"import the secret key again with 'sealprint keys import' or generate a new one")
		return
	}
	d.ok("sender key", k.Fingerprint()+", secret in the "+where)
}

// checkRelay checks each route to the relay, TLS, the clock and the token.
func (d *doctor) checkRelay(ctx context.Context, cfg *config.Config, getenv func(string) string) {
	opts := uploader.Options{Proxy: cfg.Proxy, PAC: cfg.PAC, CA: cfg.CA, Getenv: getenv, ProxyCredentials: d.creds}
	c, err := uploader.New(cfg.Relay, cfg.Token, opts)
	if err != nil {
		d.fail("network settings", err.Error(), "fix the proxy URL or CA file with 'sealprint enroll --proxy URL --ca FILE'")
		return
	}
	pctx, cancel := context.WithTimeout(ctx, d.timeout)
	source, route, err := c.ProxyRoute(pctx)
	cancel()
	if err != nil {
		d.fail("proxy selection", err.Error(), "check the PAC file or URL ('sealprint enroll --pac URL|FILE'), or set an explicit proxy with --proxy")
		route = nil
	} else {
		d.info("proxy selection", source+" → "+routeString(route))
	}

	// Direct, then every proxy of the route: say what each one answers.
	var health *uploader.Health
	routeOK := false
	tried := map[string]bool{}
	for _, p := range append([]*url.URL{nil}, route...) {
		key := "DIRECT"
		if p != nil {
			key = p.String()
		}
		if tried[key] {
			continue
		}
		tried[key] = true
		inRoute := p != nil || containsDirect(route)
		h, err := d.probe(ctx, cfg, getenv, p)
		name := "relay direct"
		if p != nil {
			name = "relay via " + p.Redacted()
		}
		switch {
		case err == nil && h.Status == 200:
			d.ok(name, describeHealth(h, p))
			if inRoute && !routeOK {
				health, routeOK = h, true
			}
		case err == nil:
			d.fail(name, fmt.Sprintf("relay answered HTTP %d to /healthz", h.Status), "the relay is not ready: check its logs ('sealrelay serve')")
		case !inRoute:
			d.info(name, "not reachable ("+err.Error()+"); not used: the route goes through a proxy")
		default:
			d.fail(name, err.Error(), fixFor(err, p, cfg))
		}
	}
	if !routeOK {
		msg := "TLS, clock and enrolment token not checked: no configured route reaches the relay"
		if ok := tried["DIRECT"] && !containsDirect(route) && health == nil; ok {
			msg += " (see the direct check above: if it works, the proxy setting may be wrong or unneeded)"
		}
		d.info("relay checks", msg)
		return
	}
	d.checkTLS(cfg, health)
	d.checkClock(health)
	d.checkToken(ctx, c, cfg)
}

// probe calls /healthz through p (nil: direct) with the configured CA.
func (d *doctor) probe(ctx context.Context, cfg *config.Config, getenv func(string) string, p *url.URL) (*uploader.Health, error) {
	proxy := "direct"
	if p != nil {
		proxy = p.String()
	}
	c, err := uploader.New(cfg.Relay, cfg.Token, uploader.Options{Proxy: proxy, CA: cfg.CA, Getenv: getenv, ProxyCredentials: d.creds})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	return c.Health(ctx)
}

func (d *doctor) checkTLS(cfg *config.Config, h *uploader.Health) {
	if h.TLS == nil {
		d.warn("tls", "the relay URL is plain http: documents are sealed, but tokens travel in clear", "use an https:// relay URL")
		return
	}
	chain := h.TLS.PeerCertificates
	if len(chain) == 0 {
		d.fail("tls", "no certificate", "")
		return
	}
	leaf := chain[0]
	detail := fmt.Sprintf("%s, %s, certificate %q issued by %q, valid until %s",
		tls.VersionName(h.TLS.Version), tls.CipherSuiteName(h.TLS.CipherSuite), leaf.Subject.CommonName,
		leaf.Issuer.String(), leaf.NotAfter.Format("2006-01-02"))
	if cfg.CA != "" {
		detail += "; extra CA bundle " + cfg.CA + " in use (TLS-inspecting proxy)"
	}
	if left := time.Until(leaf.NotAfter); left < 14*24*time.Hour {
		d.warn("tls", detail, "the certificate expires soon: tell the relay's operator")
		return
	}
	d.ok("tls", detail)
}

func (d *doctor) checkClock(h *uploader.Health) {
	if h.Date.IsZero() {
		d.warn("clock", "the relay sent no Date header", "")
		return
	}
	skew := h.Local.Sub(h.Date)
	if skew < 0 {
		skew = -skew
	}
	detail := fmt.Sprintf("differs from the relay's by %s", skew.Round(time.Second))
	if skew > maxClockSkew {
		d.fail("clock", detail, "set this computer's clock (enable NTP / Windows time sync): expiry dates and certificates depend on it")
		return
	}
	d.ok("clock", detail)
}

func (d *doctor) checkToken(ctx context.Context, c *uploader.Client, cfg *config.Config) {
	const fix = "ask the relay's operator for a new token ('sealrelay token create') and run 'sealprint enroll --token TOKEN'"
	if cfg.Token == "" {
		d.fail("enrolment token", "no token configured", fix)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	_, err := c.Status(ctx, probeDropID)
	var ae *uploader.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == 404:
		d.ok("enrolment token", "accepted by the relay")
	case errors.As(err, &ae) && ae.Status == 401:
		// The relay says why: unknown, revoked, expired, or an
		// organisation token that was never exchanged.
		d.fail("enrolment token", "refused by the relay (401): "+ae.Message, fix)
	case err == nil:
		d.fail("enrolment token", "the relay answered a status for a drop that cannot exist", "check the relay URL: it may not be a sealrelay")
	default:
		d.fail("enrolment token", err.Error(), "check the relay URL and that the relay runs")
	}
}

// checkQueues checks that the printer queues are registered with CUPS.
func (d *doctor) checkQueues(ctx context.Context, cfg *config.Config) {
	if runtime.GOOS == "windows" {
		d.info("printer queues", "check with Get-Printer in PowerShell (not checked here)")
		return
	}
	lpstat, err := exec.LookPath("lpstat")
	if err != nil {
		d.info("printer queues", "CUPS is not installed (no lpstat): not checked")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, lpstat, "-v").CombinedOutput()
	if err != nil {
		d.fail("printer queues", "lpstat -v: "+strings.TrimSpace(string(out))+" ("+err.Error()+")",
			"start CUPS (systemctl start cups), or point CUPS_SERVER at the print server")
		return
	}
	listen := cfg.Printer.Listen
	if listen == "" {
		listen = printer.DefaultListen
	}
	devices := parseLpstat(string(out))
	names := []string{printer.DefaultQueue}
	for _, q := range cfg.Queues {
		if q.Name != printer.DefaultQueue {
			names = append(names, q.Name)
		}
	}
	for _, name := range names {
		uri := printer.QueueURI(listen, name)
		if cups := devices[uri]; cups != "" {
			d.ok("queue "+name, "registered with CUPS as "+cups)
			continue
		}
		d.fail("queue "+name, "no CUPS queue prints to "+uri,
			fmt.Sprintf("lpadmin -p %s -E -v %s -m everywhere (with 'sealprint serve' running)", name, uri))
	}
}

// parseLpstat maps device URIs to CUPS queue names from "lpstat -v"
// ("device for NAME: URI").
func parseLpstat(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "device for ")
		if !ok {
			continue
		}
		name, uri, ok := strings.Cut(rest, ": ")
		if ok {
			m[strings.TrimSpace(uri)] = name
		}
	}
	return m
}

func routeString(route []*url.URL) string {
	var parts []string
	for _, p := range route {
		if p == nil {
			parts = append(parts, "DIRECT")
		} else {
			parts = append(parts, "PROXY "+p.Redacted())
		}
	}
	return strings.Join(parts, "; ")
}

func containsDirect(route []*url.URL) bool {
	for _, p := range route {
		if p == nil {
			return true
		}
	}
	return false
}

func describeHealth(h *uploader.Health, p *url.URL) string {
	s := "relay ready (HTTP 200)"
	if p != nil {
		s += "; proxy " + p.Host + " opened the tunnel"
		if h.Via != "" {
			s += ", Via: " + h.Via
		}
	}
	return s
}

// fixFor suggests what to change for a failed route.
func fixFor(err error, p *url.URL, cfg *config.Config) string {
	var pe *uploader.ProxyError
	var pin *uploader.PinError
	var opErr *net.OpError
	proxyName := "the proxy"
	if p != nil {
		proxyName = "proxy " + p.Host
	}
	switch {
	case errors.Is(err, uploader.ErrProxyAuth):
		return "give the proxy credentials: sealprint enroll --proxy http://USER:PASSWORD@HOST:PORT (DOMAIN\\user for NTLM)"
	case errors.As(err, &pe):
		return "ask IT to allow HTTPS (CONNECT) from " + proxyName + " to " + pe.Target
	case errors.As(err, &pin):
		return "if the relay's key changed, update the pin; if a proxy inspects TLS, exempt the relay from inspection"
	case uploader.IsPermanent(err) && strings.Contains(err.Error(), "certificate"):
		if cfg.CA == "" {
			return "the certificate is not trusted: if the network inspects TLS, get the proxy's CA certificate from IT and run 'sealprint enroll --ca FILE'"
		}
		return "the certificate is not trusted even with " + cfg.CA + ": check that the file holds the inspecting proxy's CA"
	case errors.Is(err, syscall.ECONNREFUSED) && p != nil:
		return proxyName + " refuses connections: check its address (--proxy, PAC) and that it runs"
	case errors.As(err, &opErr) && p != nil && strings.Contains(err.Error(), p.Host):
		return proxyName + " cannot be reached: check its address (--proxy, PAC) and the network"
	case p == nil:
		return "the relay cannot be reached directly: check the relay URL, or configure the hospital proxy ('sealprint enroll --proxy URL' or --pac)"
	}
	return "check the relay URL ('sealprint enroll --relay URL') and that the relay runs"
}
