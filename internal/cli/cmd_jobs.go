package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sealprint/sealprint/printer"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/web/jobs"
)

func runJobs(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "release":
			return runJobRelease(ctx, e, args[1:])
		case "cancel", "retry":
			return runJobAction(ctx, e, args[0], args[1:])
		case "proof":
			return runJobProof(ctx, e, args[1:])
		case "pin":
			return runJobsPIN(ctx, e, args[1:])
		}
	}
	const usage = "sealprint jobs [--json] [--open] [--all] | jobs release ID --to EMAIL [--link …] | jobs cancel ID | jobs retry ID | jobs proof ID [-o FILE] | jobs pin [--stdin]"
	fs := newFlags("jobs", usage+`

Lists your print jobs with their state, recipients and link, as the jobs
page does. While 'sealprint serve' runs, the command asks it (loopback API,
your secret from your state dir); otherwise it reads the spool itself.
--open opens the jobs page in your browser, signed in with that secret.
--all lists every user's jobs (root or an administrator only).`, e.stderr)
	jsonOut := fs.Bool("json", false, "print a JSON array of jobs")
	open := fs.Bool("open", false, "open the jobs page in the browser")
	all := fs.Bool("all", false, "every user's jobs (root or an administrator only)")
	_, err := parsePositional(fs, args, 0, 0, usage)
	if err != nil {
		return err
	}
	if *open {
		return openJobsPage(e)
	}
	lang := jobs.LangFromEnv(e.getenv)
	if *all && !isAdmin() {
		return usageError("%s", lang.T("cli.all.admin"))
	}
	var list []jobs.JobView
	err = withJobs(ctx, e, func(c jobController) error {
		var err error
		if *all {
			list, err = c.ListAll(ctx)
		} else {
			list, err = c.List(ctx)
		}
		return err
	})
	if err != nil {
		return err
	}
	if *jsonOut {
		if list == nil {
			list = []jobs.JobView{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, lang.T("cli.none"))
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, lang.T("cli.header"))
	for _, j := range list {
		detail := j.Link
		if j.SecretLink != "" {
			detail = j.SecretLink
		}
		if detail == "" || j.State == spooler.Failed {
			detail = j.Message
		} else if j.Downloads > 0 {
			detail += " " + lang.T("cli.downloaded", j.Downloads)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, lang.Date(j.Created), lang.State(j.State),
			j.Name, strings.Join(j.Recipients, ","), detail)
		if j.SecretLink == "" && j.State != spooler.Failed {
			// Link mode, several recipients: each has a link of its own.
			for _, d := range j.Deliveries {
				if d.SecretLink != "" {
					fmt.Fprintln(tw, lang.T("cli.link.recipient", d.Recipient, d.SecretLink))
				}
			}
		}
		for _, r := range j.Replies {
			fmt.Fprintln(tw, lang.T("cli.reply", r.ID, lang.Date(r.CreatedAt), r.Size, r.ID))
		}
	}
	return tw.Flush()
}

func runJobAction(ctx context.Context, e *env, action string, args []string) error {
	usage := "sealprint jobs " + action + " ID"
	fs := newFlags("jobs "+action, usage, e.stderr)
	jsonOut := fs.Bool("json", false, "print the job as JSON")
	pos, err := parsePositional(fs, args, 1, 1, usage)
	if err != nil {
		return err
	}
	id := pos[0]
	if !spooler.ValidID(id) {
		return usageError("%q is not a job id (see 'sealprint jobs')", id)
	}
	var j jobs.JobView
	err = withJobs(ctx, e, func(c jobController) error {
		var err error
		switch action {
		case "cancel":
			j, err = c.Cancel(ctx, id)
		default:
			j, err = c.Retry(ctx, id)
		}
		return err
	})
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(e.stdout).Encode(j)
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", j.ID, j.Message)
	return nil
}

// jobController is what 'sealprint jobs' needs: the running service's API
// client, or the spool opened directly. Both show and act on the jobs of
// the page's user only (printer.jobs_user, else this account); ListAll is
// for root and administrators.
type jobController interface {
	List(ctx context.Context) ([]jobs.JobView, error)
	ListAll(ctx context.Context) ([]jobs.JobView, error)
	Release(ctx context.Context, id string, to []string) (jobs.JobView, error)
	ReleaseWith(ctx context.Context, id string, req jobs.ActionRequest) (jobs.ActionResult, error)
	Cancel(ctx context.Context, id string) (jobs.JobView, error)
	Retry(ctx context.Context, id string) (jobs.JobView, error)
}

// withJobs runs f against the running service if there is one, else
// against the spool opened directly (the spool lock tells which).
func withJobs(ctx context.Context, e *env, f func(jobController) error) error {
	p, err := openPC(e)
	if err != nil {
		return err
	}
	dir := filepath.Join(p.home, "spool")
	key, err := spooler.LoadSpoolKey(p.keys.Secrets())
	if err != nil {
		return err
	}
	var idle idleStages
	sp, err := spooler.Open(spooler.Options{Dir: dir, Key: key, Renderer: idle, Sealer: idle, Deliverer: idle,
		CheckRecipient: func(_ context.Context, addr string) error {
			_, err := p.resolveRecipient(addr)
			return err
		}, Logger: discardLogger()})
	if errors.Is(err, spooler.ErrLocked) {
		info, err := jobs.ReadServiceInfo(dir)
		if err != nil {
			return fmt.Errorf("the service is running but its address is unknown: %w", err)
		}
		return f(&jobs.Client{Info: info, Lang: jobs.LangFromEnv(e.getenv)})
	}
	if err != nil {
		return err
	}
	defer sp.Close()
	// Messages name the page where the service would serve it.
	listen := p.cfg.Printer.Listen
	if listen == "" {
		listen = printer.DefaultListen
	}
	sp.SetPageURL("http://" + listen + "/jobs")
	return f(localJobs{sp: sp, lang: jobs.LangFromEnv(e.getenv), owner: jobsOwner(p.cfg.Printer.JobsUser), p: p})
}

// idleStages stand in for the delivery stages on a spool opened while the
// service is down: the spool is read and changed, never run, so they are
// never called; if they were, they would say why nothing happens.
type idleStages struct{}

var errNotServing = errors.New("the service is not running: start 'sealprint serve'")

func (idleStages) Render(context.Context, *spooler.Job, io.Reader, io.Writer) (spooler.RenderResult, error) {
	return spooler.RenderResult{}, errNotServing
}

func (idleStages) Seal(context.Context, *spooler.Job, io.Writer) (io.WriteCloser, error) {
	return nil, errNotServing
}

func (idleStages) Deliver(context.Context, spooler.Delivery, io.ReaderAt) (spooler.Drop, error) {
	return spooler.Drop{}, errNotServing
}

func (idleStages) Status(context.Context, string) (spooler.DropStatus, error) {
	return spooler.DropStatus{}, errNotServing
}

func (idleStages) Revoke(context.Context, string) error { return errNotServing }

// localJobs runs job commands on a spool opened directly, on the jobs of
// owner only (every job when owner is ""), as the page would.
type localJobs struct {
	sp    *spooler.Spooler
	lang  jobs.Lang
	owner string
	p     *pc
}

func (l localJobs) List(ctx context.Context) ([]jobs.JobView, error) {
	var out []jobs.JobView
	for _, j := range l.sp.List() {
		if jobs.Owns(l.owner, j) {
			out = append(out, jobs.ViewIn(j, l.sp.PageURL(), l.lang))
		}
	}
	return out, nil
}

func (l localJobs) ListAll(ctx context.Context) ([]jobs.JobView, error) {
	var out []jobs.JobView
	for _, j := range l.sp.List() {
		out = append(out, jobs.ViewIn(j, l.sp.PageURL(), l.lang))
	}
	return out, nil
}

// mine refuses another user's job as unknown, as the page does.
func (l localJobs) mine(id string) error {
	j, err := l.sp.Get(id)
	if err != nil {
		return err
	}
	if !jobs.Owns(l.owner, j) {
		return spooler.ErrNotFound
	}
	return nil
}

func (l localJobs) view(j *spooler.Job, err error) (jobs.JobView, error) {
	if j == nil {
		return jobs.JobView{}, err
	}
	return jobs.ViewIn(j, l.sp.PageURL(), l.lang), err
}

func (l localJobs) Release(ctx context.Context, id string, to []string) (jobs.JobView, error) {
	if err := l.mine(id); err != nil {
		return jobs.JobView{}, err
	}
	return l.view(l.sp.Release(ctx, id, to))
}

func (l localJobs) ReleaseWith(ctx context.Context, id string, req jobs.ActionRequest) (jobs.ActionResult, error) {
	if err := l.mine(id); err != nil {
		return jobs.ActionResult{}, err
	}
	d, err := sendDefaults(l.p)
	if err != nil {
		return jobs.ActionResult{}, err
	}
	rel, err := jobs.PrepareRelease(req, d, l.p.relayPolicy(ctx), l.lang)
	if err != nil {
		return jobs.ActionResult{}, err
	}
	v, err := l.view(l.sp.ReleaseWith(ctx, id, rel))
	if err != nil {
		return jobs.ActionResult{}, err
	}
	return jobs.ActionResult{JobView: v, AccessCode: rel.AccessCode}, nil
}

func (l localJobs) Cancel(ctx context.Context, id string) (jobs.JobView, error) {
	if err := l.mine(id); err != nil {
		return jobs.JobView{}, err
	}
	return l.view(l.sp.Cancel(ctx, id))
}

func (l localJobs) Retry(ctx context.Context, id string) (jobs.JobView, error) {
	if err := l.mine(id); err != nil {
		return jobs.JobView{}, err
	}
	return l.view(l.sp.Retry(ctx, id))
}

// relayPolicy reads the relay's sending policy for a release made while
// the service is down; the zero Policy when it cannot be read (the relay
// enforces it again when the job is uploaded).
func (p *pc) relayPolicy(ctx context.Context) relayapi.Policy {
	c, err := p.relayClient(false)
	if err != nil {
		return relayapi.Policy{}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pol, err := c.Policy(ctx)
	if err != nil {
		return relayapi.Policy{}
	}
	return pol
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
