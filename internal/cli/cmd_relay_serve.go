package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/sealprint/sealprint/internal/mail"
	"github.com/sealprint/sealprint/internal/redact"
	"github.com/sealprint/sealprint/keyserver"
	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/web/recipient"
)

const relayServeUsage = `sealrelay serve (--data DIR | --db postgres://… --blobs s3://BUCKET?endpoint=URL&region=R) [--listen ADDR] [--tls-cert FILE --tls-key FILE] [--public-url URL] [--max-size BYTES] [--smtp URL --mail-from ADDR]
       [--memory-limit SIZE] [--gc-percent N]
       [--sms-gateway URL --sms-body TEMPLATE [--sms-auth bearer:TOKEN|basic:USER:PASS]]

Runs the relay: drops API, resumable uploads, downloads, /healthz, /metrics.
Everything lives in DIR (SQLite database, ciphertext files, audit log),
or, for several replicas, in PostgreSQL (--db) and an S3 bucket (--blobs;
credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). /healthz
answers while the process runs, /readyz when the database and the bucket
answer.
With --smtp (or $SEALRELAY_SMTP) the relay mails recipients about new drops
and senders about downloads, receipts, locks and unopened expiry. With
--sms-gateway it sends access codes by SMS when a sender asks (the code is
checked against its hash, sent once and forgotten).`

// relayParts is what the components served by sealrelay may need when
// they mount themselves in relayMux.
type relayParts struct {
	relay     *relay.Server
	dataDir   string
	db        keyserver.Store // the key directory in PostgreSQL (with --db), else nil
	publicURL string
	logger    *slog.Logger
	mail      mail.Sender // nil without --smtp
	mailFrom  string
	// trustedProxies are --trusted-proxy.
	trustedProxies []netip.Prefix
	// publishDomains are --publish-domains (nil: the default).
	publishDomains []string
	// ctx, when set, runs the key directory's sweep of unverified
	// uploads until it is done.
	ctx context.Context
}

// relayMux assembles everything `sealrelay serve` answers, on one mux, and
// wraps it with the relay's middleware (security headers, request ids,
// body limits, request logs). Each component mounts its routes with one
// line here.
func relayMux(p relayParts) http.Handler {
	mux := http.NewServeMux()
	p.relay.Mount(mux) // /api/, /healthz, /metrics
	// Key directory: /vks/, /pks/, /.well-known/openpgpkey/, /verify/, /manage.
	keyserver.Mount(mux, keyDirectoryHandler(p, keyserver.Options{Mail: p.mail, MailFrom: p.mailFrom, TrustedProxies: p.trustedProxies}))
	mux.Handle("/d/", recipient.NewHandler(recipient.Options{Logger: p.logger})) // recipient page and its files (/d/static/)
	return p.relay.Wrap(mux)
}

func runRelayServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags("serve", relayServeUsage, e.stderr)
	storage := addRelayStorageFlags(fs)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	certFile := fs.String("tls-cert", "", "TLS certificate chain (PEM); serve HTTPS")
	keyFile := fs.String("tls-key", "", "TLS private key (PEM)")
	publicURL := fs.String("public-url", "", "external base URL for links, e.g. https://relay.example.org")
	maxSize := fs.Int64("max-size", relay.DefaultMaxSize, "largest document accepted, in bytes")
	sweep := fs.Duration("sweep-interval", time.Minute, "how often expired drops are deleted")
	jsonLogs := fs.Bool("log-json", false, "write logs as JSON lines")
	metricsListen := fs.String("metrics-listen", "127.0.0.1:9464", "address serving /metrics, unauthenticated (keep it private; empty: none)")
	metricsToken := fs.String("metrics-token", "", "also serve /metrics on the public address to 'Authorization: Bearer TOKEN' (or $SEALRELAY_METRICS_TOKEN)")
	memory := addRelayMemoryFlags(fs)
	perIP := fs.Int("max-conns-per-ip", 128, "most connections one client address may hold open (0: no limit)")
	var proxies listFlag
	fs.Var(&proxies, "trusted-proxy", "CIDR of a reverse proxy in front of the relay (repeatable): the key directory's limits then key on the client in X-Forwarded-For")
	var publishDomains listFlag
	fs.Var(&publishDomains, "publish-domains", "domain whose addresses may publish keys in the directory (repeatable or comma-separated; * for any; default: the domains of the relay's senders and of --mail-from)")
	smtpURL := fs.String("smtp", "", "mail server, smtp://[user:pass@]host:port (STARTTLS when offered) or smtps://… (implicit TLS)")
	mailFrom := fs.String("mail-from", "", "From address of the relay's mails (with --smtp)")
	smsGateway := fs.String("sms-gateway", "", "HTTP(S) endpoint of an SMS provider, to send access codes (see docs/code-delivery.md)")
	smsBody := fs.String("sms-body", "", "request body template with {to} {msisdn} {code} {sender} {expires}: JSON if it starts with {, else a form (or $SEALRELAY_SMS_BODY)")
	smsAuth := fs.String("sms-auth", "", "gateway authentication: bearer:TOKEN or basic:USER:PASS (or $SEALRELAY_SMS_AUTH)")
	_, err := parsePositional(fs, args, 0, 0, relayServeUsage)
	if err != nil {
		return err
	}
	if err := storage.check("serve"); err != nil {
		return err
	}
	if (*certFile == "") != (*keyFile == "") {
		return usageError("--tls-cert and --tls-key go together")
	}
	if *maxSize <= 0 {
		return usageError("--max-size must be positive")
	}
	if *sweep <= 0 {
		return usageError("--sweep-interval must be positive")
	}
	if err := memory.apply(e.getenv); err != nil {
		return err
	}
	trusted, err := parsePrefixes(proxies)
	if err != nil {
		return usageError("--trusted-proxy: %v", err)
	}
	if *publicURL == "" && !loopbackListen(*listen) {
		// Links in mails and answers would otherwise come from whatever
		// Host a client sends.
		return usageError("--public-url is required when listening on %s (not loopback): links and mails must name the relay's real address", *listen)
	}
	if *publicURL != "" {
		u, err := url.Parse(*publicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.RawQuery != "" {
			return usageError("--public-url must be an http(s) base URL")
		}
	}
	var h slog.Handler = slog.NewTextHandler(e.stderr, nil)
	if *jsonLogs {
		h = slog.NewJSONHandler(e.stderr, nil)
	}
	h = redact.Handler(h) // every line, also the HTTP server's own
	logger := slog.New(h)

	cfg, closer, err := storage.openServe(ctx, e, logger)
	if err != nil {
		return err
	}
	defer closer.Close()
	cfg.PublicURL = strings.TrimRight(*publicURL, "/")
	cfg.MaxSize = *maxSize
	cfg.Logger = logger
	if *metricsToken == "" {
		*metricsToken = e.getenv("SEALRELAY_METRICS_TOKEN")
	}
	cfg.MetricsToken = *metricsToken
	var sender mail.Sender
	if *smtpURL == "" {
		// Lets operators keep an SMTP password off the command line.
		*smtpURL = e.getenv("SEALRELAY_SMTP")
	}
	if *smtpURL != "" {
		if *mailFrom == "" {
			return usageError("--smtp needs --mail-from")
		}
		smtp, err := mail.NewSMTP(*smtpURL, *mailFrom)
		if err != nil {
			return usageError("%v", err)
		}
		sender, cfg.Mail, cfg.MailFrom = smtp, smtp, *mailFrom
	}
	if *smsAuth == "" {
		*smsAuth = e.getenv("SEALRELAY_SMS_AUTH")
	}
	if *smsBody == "" {
		// A body that carries the provider's password stays off the command line.
		*smsBody = e.getenv("SEALRELAY_SMS_BODY")
	}
	if *smsGateway != "" || *smsBody != "" {
		g := &relay.SMSGateway{URL: *smsGateway, Body: *smsBody, Auth: *smsAuth}
		if err := relay.CheckSMSGateway(g); err != nil {
			return usageError("%v", err)
		}
		cfg.SMS = g
	}
	var keyDB keyserver.Store
	if storage.shared() {
		kdb, err := keyserver.OpenPGStore(ctx, *storage.db)
		if err != nil {
			return err
		}
		defer kdb.Close()
		keyDB = kdb
	}
	rs, err := relay.New(cfg)
	if err != nil {
		return err
	}
	defer rs.Close()

	var tlsCfg *tls.Config
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = relay.LimitPerIP(ln, *perIP)
	scheme := "http"
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
		scheme = "https"
	}
	srv := &http.Server{
		Handler: relayMux(relayParts{relay: rs, dataDir: *storage.data, db: keyDB, publicURL: cfg.PublicURL, logger: logger, mail: sender, mailFrom: *mailFrom,
			trustedProxies: trusted, publishDomains: splitList(publishDomains), ctx: ctx}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(h, slog.LevelWarn),
	}
	if *metricsListen != "" {
		ml, err := net.Listen("tcp", *metricsListen)
		if err != nil {
			// Metrics are for the operator; the relay still serves.
			logger.Warn("metrics not served", "listen", *metricsListen, "err", err)
		} else {
			ms := &http.Server{Handler: rs.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute, IdleTimeout: time.Minute}
			go ms.Serve(ml)
			defer ms.Close()
			logger.Info("metrics", "listen", ml.Addr().String())
		}
	}
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go rs.RunSweeper(sweepCtx, *sweep)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	where := "data " + *storage.data
	if storage.shared() {
		where = "shared database and blobs"
	}
	fmt.Fprintf(e.stdout, "sealrelay: serving %s://%s (%s)\n", scheme, ln.Addr(), where)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// loopbackListen reports whether a listen address is on loopback only.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parsePrefixes parses CIDRs (a bare address is a /32 or /128).
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range splitList(list) {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR or an address", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// splitList splits repeated, comma-separated flag values.
func splitList(list []string) []string {
	var out []string
	for _, v := range list {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
