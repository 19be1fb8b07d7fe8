package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/web/jobs"
)

const releaseUsage = "sealprint jobs release ID --to EMAIL [--to …] [--link [--code [--code-to sms:+33…|mail:ADDRESS|phone]]] [--expires 7d] [--max-downloads N] [--deadline 'YYYY-MM-DD HH:MM'] [--reference TEXT] [--json]"

// runJobRelease releases a held job as the page's release form does: key
// or link mode, an access code (generated here, printed once) and how it
// travels, expiry, download limit, the custody deadline and procedure
// reference; bounded by the configuration and the relay's policy.
func runJobRelease(ctx context.Context, e *env, args []string) error {
	lang := jobs.LangFromEnv(e.getenv)
	fs := newFlags("jobs release", releaseUsage+`

Sends a held print job. Key mode (default) encrypts to each recipient's
key; --link encrypts to a secret carried only in the link, for a recipient
without a key (the link is shown by 'sealprint jobs' once uploaded).
--code also requires an access code, printed here once; --code-to has the
relay send it by SMS or to another mail address than the link's, or
'phone' when you read it out yourself.`, e.stderr)
	var to listFlag
	fs.Var(&to, "to", "recipient email (repeatable, or comma separated)")
	link := fs.Bool("link", false, "link mode, for a recipient without a key")
	code := fs.Bool("code", false, "with --link: require an access code")
	codeTo := fs.String("code-to", "", "with --code: sms:NUMBER, mail:ADDRESS (not a --to address) or phone (default: printed here)")
	expires := fs.String("expires", "", "time until the relay deletes the document (e.g. 2d; default: the configuration's send.expires within the relay's policy, else the relay's)")
	maxDownloads := fs.Int("max-downloads", -1, "downloads allowed (0: no limit; default: the configuration's send.max_downloads within the relay's policy, else the relay's)")
	deadline := fs.String("deadline", "", "custody deadline ('échéance'), local time 'YYYY-MM-DD HH:MM' or RFC 3339")
	reference := fs.String("reference", "", "procedure reference, sealed with the document")
	jsonOut := fs.Bool("json", false, "print the job (and the access code) as JSON")
	pos, err := parsePositional(fs, args, 1, 1, releaseUsage)
	if err != nil {
		return err
	}
	id := pos[0]
	if !spooler.ValidID(id) {
		return usageError("%q is not a job id (see 'sealprint jobs')", id)
	}
	req, err := releaseRequest(lang, to, *link, *code, *codeTo, *expires, *maxDownloads, *deadline, *reference)
	if err != nil {
		return err
	}
	if err := releaseDefaults(ctx, e, &req, *expires == "", *maxDownloads < 0); err != nil {
		return err
	}
	var res jobs.ActionResult
	err = withJobs(ctx, e, func(c jobController) error {
		var err error
		res, err = c.ReleaseWith(ctx, id, req)
		return err
	})
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", res.ID, res.Message)
	if res.AccessCode != "" {
		if req.CodeTo != "" {
			fmt.Fprintln(e.stdout, lang.T("cli.code.channel", req.CodeTo))
		}
		fmt.Fprintf(e.stdout, "%s %s\n", lang.T("code.once"), res.AccessCode)
	}
	return nil
}

// releaseRequest checks the flags of 'jobs release' and builds the
// request the page's form would post.
func releaseRequest(lang jobs.Lang, to []string, link, code bool, codeTo, expires string, maxDownloads int, deadline, reference string) (jobs.ActionRequest, error) {
	req := jobs.ActionRequest{To: to, Reference: reference}
	if len(to) == 0 {
		return req, usageError("%s", lang.T("cli.release.to"))
	}
	if link {
		req.Mode = spooler.ModeLink
	}
	if code && !link {
		return req, usageError("%s", lang.T("cli.release.code"))
	}
	req.Code = code
	if codeTo != "" {
		if !code {
			return req, usageError("%s", lang.T("cli.release.codeto"))
		}
		req.CodeTo = jobs.NormalizeCodeTo(codeTo)
		if err := (spooler.SendOptions{Mode: spooler.ModeLink, Code: true, CodeTo: req.CodeTo}).Check(); err != nil {
			return req, usageError("--code-to: %v", err)
		}
	}
	if expires != "" {
		ttl, err := parseDuration(expires)
		if err != nil {
			return req, usageError("--expires: %v", err)
		}
		req.ExpiresInSeconds = int64(ttl / time.Second)
	}
	if maxDownloads >= 0 {
		n := maxDownloads
		req.MaxDownloads = &n
	}
	if deadline != "" {
		t, err := parseDeadline(deadline)
		if err != nil {
			return req, usageError("--deadline: %s", lang.T("cli.release.deadline", deadline))
		}
		req.Deadline = t
	}
	return req, nil
}

// parseDeadline reads a local date and time ("2026-12-02 18:30",
// "2026-12-02T18:30") or RFC 3339.
func parseDeadline(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad deadline %q", spooler.Clip(s, 40))
}

// releaseDefaults fills what the flags left out as the release form does:
// the configuration's expiry and download limit ("send" in config.json),
// lowered to the relay's policy maxima.
func releaseDefaults(ctx context.Context, e *env, req *jobs.ActionRequest, expiry, downloads bool) error {
	p, err := openPC(e)
	if err != nil {
		return err
	}
	d, err := sendDefaults(p)
	if err != nil {
		return err
	}
	expiry = expiry && d.Expiry > 0
	downloads = downloads && d.MaxDownloads > 0
	if !expiry && !downloads {
		return nil
	}
	pol := p.relayPolicy(ctx)
	if expiry {
		ttl := d.Expiry
		if m := time.Duration(pol.MaxExpirySeconds) * time.Second; m > 0 && ttl > m {
			ttl = m
		}
		req.ExpiresInSeconds = int64(ttl / time.Second)
	}
	if downloads {
		n := d.MaxDownloads
		if m := pol.MaxDownloads; m > 0 && n > m {
			n = m
		}
		req.MaxDownloads = &n
	}
	return nil
}
