package cli

// The pieces 'sealprint serve' joins: the relay client from the config
// file, the printer-to-spooler adapter, the config's queues and the
// address book for the jobs page.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/printer"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/uploader"
	"github.com/sealprint/sealprint/web/jobs"
)

// relayClients gives the delivery stages a client for the relay in the
// current config file, re-reading it on each call so that 'sealprint
// enroll' takes effect without a restart; the client is rebuilt only when
// the relay settings change.
type relayClients struct {
	p   *pc
	log *slog.Logger

	mu     sync.Mutex
	client *uploader.Client
	key    string
}

func (r *relayClients) get() (*uploader.Client, error) {
	cfg, err := config.Load(r.p.home, r.p.getenv)
	if err != nil {
		return nil, err
	}
	if cfg.Relay == "" || cfg.Token == "" {
		return nil, errors.New("no relay or enrolment token configured: run 'sealprint enroll --relay URL --token TOKEN', then retry the job")
	}
	key := strings.Join([]string{cfg.Relay, cfg.Token, cfg.Proxy, cfg.PAC, cfg.CA, cfg.ProxyUser}, "\x00")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil && r.key == key {
		return r.client, nil
	}
	creds, err := proxyCredentials(cfg, r.p.keys)
	if err != nil {
		return nil, err
	}
	c, err := uploader.New(cfg.Relay, cfg.Token, uploader.Options{Proxy: cfg.Proxy, PAC: cfg.PAC, CA: cfg.CA,
		ProxyCredentials: creds, Getenv: r.p.getenv, Logger: r.log})
	if err != nil {
		return nil, err
	}
	r.client, r.key = c, key
	return c, nil
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
	_, err := a.sp.Accept(ctx, spooler.Incoming{
		PrinterID: job.ID, Queue: job.Queue, Name: job.Name, User: job.User, Format: job.Format,
		Attrs: job.Attrs, Created: job.Created, Recipients: job.Recipients,
	}, doc)
	return err
}

// printerQueues adapts the config file's queues to the printer's.
func printerQueues(queues func() []config.Queue) func() []printer.Queue {
	return func() []printer.Queue {
		var out []printer.Queue
		for _, q := range queues() {
			out = append(out, printer.Queue{Name: q.Name, Recipients: q.Recipients})
		}
		return out
	}
}

// addressBook lists the address book for the jobs page.
func addressBook(p *pc, log *slog.Logger) []jobs.Contact {
	keys, err := p.keys.Recipients()
	if err != nil {
		log.Warn("cannot read the address book", "err", err)
		return nil
	}
	var out []jobs.Contact
	for _, k := range keys {
		if k.Check(time.Now()) != nil {
			continue
		}
		for _, em := range k.Emails() {
			out = append(out, jobs.Contact{Name: k.Name(), Email: em, Fingerprint: k.Fingerprint()})
		}
	}
	return out
}
