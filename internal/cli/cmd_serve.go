package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sealprint/sealprint/deliver"
	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/internal/redact"
	"github.com/sealprint/sealprint/keyserver"
	"github.com/sealprint/sealprint/printer"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/web/jobs"
)

func runServe(ctx context.Context, e *env, args []string) error {
	const usage = "sealprint serve [--listen ADDR]"
	fs := newFlags("serve", usage+`

Runs the printer and the delivery service: the IPP printer
(ipp://ADDR/ipp/print/QUEUE), the spool (encrypted at rest, crash-safe),
and the jobs page http://ADDR/jobs where held jobs get their recipients.
Stop it with Ctrl-C or SIGTERM; unfinished jobs resume on the next start.`, e.stderr)
	listen := fs.String("listen", "", "address of the printer and the jobs page (default 127.0.0.1:8632, or the config's printer.listen)")
	workers := fs.Int("workers", 2, "jobs rendered and sealed at once")
	uploads := fs.Int("uploads", 4, "jobs uploaded at once")
	retryMin := fs.Duration("retry-min", 2*time.Second, "first delay before retrying a failed job")
	retryMax := fs.Duration("retry-max", 30*time.Minute, "longest delay between retries")
	poll := fs.Duration("poll", time.Minute, "how often the relay is asked whether uploaded jobs were opened")
	keepSealed := fs.Bool("keep-sealed", false, "keep sealed copies after upload until the job record is removed")
	retention := fs.String("retention", "30d", "how long records of finished jobs are kept")
	maxJobs := fs.Int("max-jobs", 1000, "unfinished jobs the spool holds before the printer answers busy")
	asService := fs.Bool("service", false, "run as the system service: take the machine settings, answer the service manager, register the system printers once listening")
	_, err := parsePositional(fs, args, 0, 0, usage)
	if err != nil {
		return err
	}
	if *asService && ctx.Value(inServiceKey{}) == nil {
		return runServeService(ctx, e, args)
	}
	keepFor, err := parseDuration(*retention)
	if err != nil {
		return usageError("--retention: %v", err)
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	addr := *listen
	if addr == "" {
		addr = p.cfg.Printer.Listen
	}
	if addr == "" {
		addr = printer.DefaultListen
	}
	log := slog.New(redact.Handler(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))

	signer, err := p.senderKey()
	if err != nil {
		return err
	}
	spoolKey, err := spooler.LoadSpoolKey(p.keys.Secrets())
	if err != nil {
		return err
	}
	var pdfSigner deliver.PDFSigner
	var pinEntry jobs.PINEntry
	if p.cfg.PDFSign != nil {
		js := &jobPDFSigner{p: p, e: e}
		defer js.Close()
		pdfSigner = js
		if js.card() {
			pinEntry = js
		}
		log.Info("PDF signature on", "tsa", p.cfg.PDFSign.TSA != "", "card", js.card())
	}
	st, err := deliver.New(deliver.Options{
		PDFSigner: pdfSigner,
		Signer:    signer,
		Recipients: func(_ context.Context, addrs []string) ([]*envelope.Key, error) {
			keys, err := p.resolveAll(addrs)
			if errors.Is(err, keyserver.ErrNewKey) {
				// Held on the jobs page with the fingerprint to confirm.
				return nil, spooler.NeedsConfirmation(err)
			}
			return keys, err
		},
		Relay:  (&relayClients{p: p, log: log}).get,
		Logger: log,
	})
	if err != nil {
		return err
	}
	notify := jobs.DesktopNotifier(log)
	var prt *printer.Server
	var prtMu sync.Mutex
	opts := spooler.Options{
		Dir:              filepath.Join(p.home, "spool"),
		Key:              spoolKey,
		Renderer:         st,
		Sealer:           st,
		Deliverer:        st,
		CheckRecipient:   st.CheckRecipient,
		CheckReceipt:     envelope.CheckReceipt,
		CheckLinkReceipt: envelope.CheckLinkReceipt,
		// A receipt signed with a recipient's pinned key says who opened.
		CheckSignedReceipt: deliver.CheckSignedReceipt(p.keys.Recipients),
		OnChange: func(ev spooler.Event) {
			prtMu.Lock()
			if prt != nil && ev.Job.PrinterID != "" {
				msg := ev.Message()
				if jobs.NeedsPIN(ev.Job) {
					// Not "choose recipients": the job waits for the card.
					msg = jobs.English.T("pin.wait")
				}
				prt.SetJobMessage(ev.Job.PrinterID, msg)
			}
			prtMu.Unlock()
			if title, body, ok := jobs.NotificationIn(ev, jobs.LangFromEnv(e.getenv)); ok {
				notify(title, body)
			}
		},
		Workers: *workers, Uploads: *uploads, MaxJobs: *maxJobs,
		RetryMin: *retryMin, RetryMax: *retryMax, PollInterval: *poll,
		Retention: keepFor, KeepSealed: *keepSealed,
		Logger: log,
	}
	// A 'sealprint jobs' run may hold the spool for a moment.
	sp, err := spooler.Open(opts)
	for i := 0; i < 50 && errors.Is(err, spooler.ErrLocked); i++ {
		time.Sleep(100 * time.Millisecond)
		sp, err = spooler.Open(opts)
	}
	if errors.Is(err, spooler.ErrLocked) {
		return errors.New("another 'sealprint serve' is already running with this SEALPRINT_HOME")
	}
	if err != nil {
		return err
	}
	defer sp.Close()

	// The job's user is the local account behind the connection, not
	// what the client claims; a per-user service prints only for its user.
	ownOnly := !*asService
	if v := p.cfg.Printer.OwnAccountOnly; v != nil {
		ownOnly = *v
	}
	if ownOnly {
		log.Info("printing only for this account; jobs from other local accounts are refused", "account", currentAccountName())
	}
	srv, err := printer.New(printer.Config{
		Listen:           addr,
		MaxDocumentBytes: p.cfg.Printer.MaxDocumentBytes,
		HostNames:        p.cfg.Printer.HostNames,
		Peers:            printer.OSPeers(),
		OwnAccountOnly:   ownOnly,
		Queues:           printerQueues(config.QueueWatcher(p.home)),
		Logger:           log,
	}, printerSpool{sp})
	if err != nil {
		return err
	}
	prtMu.Lock()
	prt = srv
	prtMu.Unlock()
	// The user's secret, kept in the user's own state dir (0600): the page
	// and the API need it, so another account on a shared PC cannot read
	// or release this user's jobs.
	token, err := jobs.LoadOrCreateSecret(p.home)
	if err != nil {
		return err
	}
	chaser, err := newChaser(p, sp, st, jobs.LangFromEnv(e.getenv), jobs.NotifierFunc(notify), log)
	if err != nil {
		return err
	}
	defaults, err := sendDefaults(p)
	if err != nil {
		return err
	}
	page := jobs.Handler(sp, jobs.Options{APIToken: token, User: jobsOwner(p.cfg.Printer.JobsUser), AllowAll: isAdmin(),
		AddressBook: func() []jobs.Contact { return addressBook(p, log) },
		Defaults:    defaults, Chaser: chaser, Policy: st.Policy, ConfirmKey: p.confirmNewKey, PIN: pinEntry, Replies: pageReplies{p}, Logger: log})
	srv.Handle("/jobs", page)
	srv.Handle("/jobs/", page)

	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	url := localURL(l.Addr())
	sp.SetPageURL(url + "/jobs")
	if err := jobs.WriteServiceInfo(filepath.Join(p.home, "spool"), jobs.ServiceInfo{URL: url, Token: token, PID: os.Getpid()}); err != nil {
		l.Close()
		return err
	}
	if *asService {
		go ensureSystemPrinters(ctx, p.home, e.getenv, log)
	}
	log.Info("sealprint serving", "printer", "ipp://"+strings.TrimPrefix(url, "http://")+"/ipp/print/"+printer.DefaultQueue, "jobs", url+"/jobs")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	spDone := make(chan error, 1)
	go func() { spDone <- sp.Run(ctx) }()
	go chaser.Run(ctx, chaseInterval)
	err = srv.Serve(ctx, l)
	cancel()
	<-spDone
	os.Remove(filepath.Join(p.home, "spool", "service.json"))
	return err
}
