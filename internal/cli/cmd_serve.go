package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/printer"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/render"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/uploader"
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
	_, err := parsePositional(fs, args, 0, 0, usage)
	if err != nil {
		return err
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
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	signer, err := p.senderKey()
	if err != nil {
		return err
	}
	spoolKey, err := spooler.LoadSpoolKey(p.keys.Secrets())
	if err != nil {
		return err
	}
	st := &stages{p: p, signer: signer, log: log}
	notify := spooler.DesktopNotifier(log)
	var prt *printer.Server
	var prtMu sync.Mutex
	opts := spooler.Options{
		Dir:            filepath.Join(p.home, "spool"),
		Key:            spoolKey,
		Renderer:       st,
		Sealer:         st,
		Deliverer:      st,
		CheckRecipient: st.checkRecipient,
		CheckReceipt:   envelope.CheckReceipt,
		OnChange: func(ev spooler.Event) {
			prtMu.Lock()
			if prt != nil && ev.Job.PrinterID != "" {
				prt.SetJobMessage(ev.Job.PrinterID, ev.Message())
			}
			prtMu.Unlock()
			if title, body, ok := spooler.Notification(ev); ok {
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

	srv, err := printer.New(printer.Config{
		Listen:           addr,
		MaxDocumentBytes: p.cfg.Printer.MaxDocumentBytes,
		Queues:           printer.QueuesFromFile(p.home),
		Logger:           log,
	}, printerSpool{sp})
	if err != nil {
		return err
	}
	prtMu.Lock()
	prt = srv
	prtMu.Unlock()
	token := spooler.NewAPIToken()
	page := sp.Handler(spooler.WebOptions{APIToken: token, AddressBook: st.addressBook, Logger: log})
	srv.Handle("/jobs", page)
	srv.Handle("/jobs/", page)

	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	url := localURL(l.Addr())
	sp.SetPageURL(url + "/jobs")
	if err := spooler.WriteServiceInfo(filepath.Join(p.home, "spool"), spooler.ServiceInfo{URL: url, Token: token, PID: os.Getpid()}); err != nil {
		l.Close()
		return err
	}
	log.Info("sealprint serving", "printer", "ipp://"+strings.TrimPrefix(url, "http://")+"/ipp/print/"+printer.DefaultQueue, "jobs", url+"/jobs")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	spDone := make(chan error, 1)
	go func() { spDone <- sp.Run(ctx) }()
	err = srv.Serve(ctx, l)
	cancel()
	<-spDone
	os.Remove(filepath.Join(p.home, "spool", "service.json"))
	return err
}

// localURL is the http URL at which this machine reaches a listener on
// addr: a listener on every address (0.0.0.0, ::) is named by its loopback
// address, which the jobs page requires.
func localURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// printerSpool adapts the spooler to the printer's Spooler interface.
type printerSpool struct{ sp *spooler.Spooler }

func (a printerSpool) Accept(ctx context.Context, job printer.JobInfo, doc io.Reader) error {
	var to []string
	for _, r := range strings.Split(job.Attrs["recipients"], ",") {
		if r = strings.TrimSpace(r); r != "" {
			to = append(to, r)
		}
	}
	_, err := a.sp.Accept(ctx, spooler.Incoming{
		PrinterID: job.ID, Queue: job.Queue, Name: job.Name, User: job.User, Format: job.Format,
		Attrs: job.Attrs, Created: job.Created, Recipients: to,
	}, doc)
	return err
}

// stages joins render, envelope and uploader for the spooler.
type stages struct {
	p      *pc
	signer *envelope.Key
	log    *slog.Logger

	mu      sync.Mutex
	client  *uploader.Client
	clientK string
}

// Render turns the spooled document into a PDF.
func (s *stages) Render(ctx context.Context, job *spooler.Job, in io.Reader, out io.Writer) (int, error) {
	copies, _ := strconv.Atoi(job.Attrs["copies"])
	info, err := render.ToPDF(ctx, job.Format, in, out, render.Meta{
		Title: job.Name, Author: s.signer.Identity(), Created: job.Created,
		PageRanges: job.Attrs["page-ranges"], Copies: copies, Sides: job.Attrs["sides"],
	})
	if err != nil {
		var fe *render.FormatError
		var le *render.LimitError
		if errors.As(err, &fe) || errors.As(err, &le) || errors.Is(err, render.ErrUnsupported) {
			return 0, spooler.Permanent(err)
		}
		return 0, err
	}
	return info.Pages, nil
}

// Seal signs with the sender key and encrypts to the recipients' keys.
func (s *stages) Seal(ctx context.Context, job *spooler.Job, dst io.Writer) (io.WriteCloser, error) {
	keys, err := s.p.resolveAll(job.Recipients)
	if err != nil {
		return nil, spooler.Permanent(err)
	}
	name := strings.TrimSuffix(job.Name, ".pdf") + ".pdf"
	return envelope.Seal(dst, envelope.SealOptions{Signer: s.signer, Recipients: keys, FileName: name, ModTime: job.Created})
}

// relay returns a client for the relay in the current config, so that
// 'sealprint enroll' takes effect without a restart.
func (s *stages) relay() (*uploader.Client, error) {
	cfg, err := config.Load(s.p.home, s.p.getenv)
	if err != nil {
		return nil, spooler.Permanent(err)
	}
	if cfg.Relay == "" || cfg.Token == "" {
		return nil, spooler.Permanent(errors.New("no relay or enrolment token configured: run 'sealprint enroll --relay URL --token TOKEN', then retry the job"))
	}
	key := strings.Join([]string{cfg.Relay, cfg.Token, cfg.Proxy, cfg.PAC, cfg.CA, cfg.ProxyUser}, "\x00")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil && s.clientK == key {
		return s.client, nil
	}
	creds, err := proxyCredentials(cfg, s.p.keys)
	if err != nil {
		return nil, spooler.Permanent(err)
	}
	c, err := uploader.New(cfg.Relay, cfg.Token, uploader.Options{Proxy: cfg.Proxy, PAC: cfg.PAC, CA: cfg.CA,
		ProxyCredentials: creds, Getenv: s.p.getenv, Logger: s.log})
	if err != nil {
		return nil, spooler.Permanent(err)
	}
	s.client, s.clientK = c, key
	return c, nil
}

func relayErr(err error) error {
	if uploader.IsPermanent(err) {
		return spooler.Permanent(err)
	}
	return err
}

// Deliver creates the drop (idempotent on the job id), uploads and
// completes it.
func (s *stages) Deliver(ctx context.Context, d spooler.Delivery, body io.ReaderAt) (spooler.Drop, error) {
	c, err := s.relay()
	if err != nil {
		return spooler.Drop{}, err
	}
	var pub strings.Builder
	if err := s.signer.Public().WritePublic(&pub, true); err != nil {
		return spooler.Drop{}, err
	}
	drop, err := c.Send(ctx, relayapi.CreateDropRequest{
		IdempotencyKey: d.JobID, Size: d.Size, SHA256: d.SHA256, Recipients: d.Recipients,
		Mode: "key", SenderKey: pub.String(), Notify: true,
	}, body, nil)
	if err != nil {
		return spooler.Drop{}, relayErr(err)
	}
	return spooler.Drop{ID: drop.ID, Link: drop.Link, ExpiresAt: drop.ExpiresAt}, nil
}

// Status reads whether the drop was downloaded.
func (s *stages) Status(ctx context.Context, dropID string) (spooler.DropStatus, error) {
	c, err := s.relay()
	if err != nil {
		return spooler.DropStatus{}, err
	}
	st, err := c.Status(ctx, dropID)
	var ae *uploader.APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusGone || ae.Status == http.StatusNotFound) {
		// The relay has deleted the drop (expired, revoked, exhausted).
		state := ae.State
		if state == "" {
			state = "expired"
		}
		downloads := 0
		if state == "exhausted" {
			downloads = 1 // the download limit was reached: it was downloaded
		}
		return spooler.DropStatus{State: state, Downloads: downloads}, nil
	}
	if err != nil {
		return spooler.DropStatus{}, err
	}
	var proofs []string
	for _, r := range st.Receipts {
		proofs = append(proofs, r.Proof)
	}
	return spooler.DropStatus{State: st.State, Downloads: st.Downloads, Receipts: proofs, ExpiresAt: st.ExpiresAt}, nil
}

// Revoke deletes the drop on the relay.
func (s *stages) Revoke(ctx context.Context, dropID string) error {
	c, err := s.relay()
	if err != nil {
		return err
	}
	return c.Revoke(ctx, dropID)
}

// checkRecipient refuses an address without a usable key.
func (s *stages) checkRecipient(ctx context.Context, email string) error {
	_, err := s.p.resolveRecipient(email)
	return err
}

// addressBook lists the address book for the jobs page.
func (s *stages) addressBook() []spooler.Contact {
	keys, err := s.p.keys.Recipients()
	if err != nil {
		s.log.Warn("cannot read the address book", "err", err)
		return nil
	}
	var out []spooler.Contact
	for _, k := range keys {
		if k.Check(time.Now()) != nil {
			continue
		}
		for _, em := range k.Emails() {
			out = append(out, spooler.Contact{Name: k.Name(), Email: em, Fingerprint: k.Fingerprint()})
		}
	}
	return out
}
