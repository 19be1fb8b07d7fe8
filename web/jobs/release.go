package jobs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
)

// SendDefaults are the release form's defaults (from the configuration)
// and bounds (from the relay's policy, when it has one).
type SendDefaults struct {
	// Expiry is the default lifetime of a drop; 0 means 7 days.
	Expiry time.Duration
	// MaxDownloads is the default download limit; 0: the relay's default.
	MaxDownloads int
	// MaxExpiry bounds the expiry offered; 0 means spooler.MaxExpiry.
	MaxExpiry time.Duration
}

// ExpiryDays is the default expiry in whole days.
func (d SendDefaults) ExpiryDays() int {
	if d.Expiry <= 0 {
		return 7
	}
	return int((d.Expiry + 24*time.Hour - 1) / (24 * time.Hour))
}

// MaxExpiryDays is the longest expiry offered, in days.
func (d SendDefaults) MaxExpiryDays() int {
	m := d.MaxExpiry
	if m <= 0 || m > spooler.MaxExpiry {
		m = spooler.MaxExpiry
	}
	return int(m / (24 * time.Hour))
}

// ActionRequest is the body of POST /jobs/api/ID/release (and empty for
// cancel and retry). Without Mode it is key mode with the relay's defaults.
type ActionRequest struct {
	To []string `json:"to,omitempty"`
	// Mode is "key" (default) or "link".
	Mode string `json:"mode,omitempty"`
	// Code asks for an access code (link mode); the answer carries it once.
	Code bool `json:"code,omitempty"`
	// CodeTo is "", "sms:+33…" or "mail:ADDRESS".
	CodeTo           string    `json:"code_to,omitempty"`
	ExpiresInSeconds int64     `json:"expires_in_seconds,omitempty"`
	MaxDownloads     *int      `json:"max_downloads,omitempty"`
	Deadline         time.Time `json:"deadline,omitzero"`
	Reference        string    `json:"reference,omitempty"`
}

// ActionResult is the answer to an action: the job, and for a release
// with an access code shown to the sender, the code (given only here,
// once).
type ActionResult struct {
	JobView
	AccessCode string `json:"access_code,omitempty"`
}

// release builds the spooler release for req, making the link secret and
// the access code it needs.
func (w *web) release(req ActionRequest, l Lang) (spooler.Release, error) {
	return PrepareRelease(req, w.opt.Defaults, w.policy(context.Background()), l)
}

// PrepareRelease checks req against the configured bounds d and the
// relay's policy p (the zero Policy when unknown: the relay enforces it
// again), and builds the spooler release, with the link secrets (one per
// recipient) and the access code (one for the drop) it needs. Refusals are worded in l. The page and 'sealprint
// jobs release' both use it.
func PrepareRelease(req ActionRequest, d SendDefaults, p relayapi.Policy, l Lang) (spooler.Release, error) {
	rel := spooler.Release{To: req.To, Options: spooler.SendOptions{
		Mode: req.Mode, Code: req.Code, CodeTo: req.CodeTo,
		ExpiresIn:    time.Duration(req.ExpiresInSeconds) * time.Second,
		MaxDownloads: req.MaxDownloads, Deadline: req.Deadline, Reference: strings.TrimSpace(req.Reference),
	}}
	if req.ExpiresInSeconds < 0 || req.ExpiresInSeconds > int64(spooler.MaxExpiry/time.Second) {
		return rel, errors.New(l.T("err.expiry.range"))
	}
	if max := d.MaxExpiry; max > 0 && rel.Options.ExpiresIn > max {
		return rel, errors.New(l.T("err.expiry.config", d.MaxExpiryDays()))
	}
	if err := rel.Options.Check(); err != nil {
		return rel, err
	}
	if err := checkPolicy(p, rel, l); err != nil {
		return rel, err
	}
	var err error
	if rel.Options.Link() {
		// Each recipient gets a link of its own, so that its receipt
		// says who opened; the access code is one for the drop.
		rel.LinkSecrets = map[string]string{}
		for _, to := range rel.To {
			to = strings.ToLower(strings.TrimSpace(to))
			if to == "" || rel.LinkSecrets[to] != "" {
				continue
			}
			if rel.LinkSecrets[to], err = envelope.NewLinkSecret(); err != nil {
				return rel, err
			}
		}
	}
	if rel.Options.Code {
		if rel.AccessCode, err = newAccessCode(); err != nil {
			return rel, err
		}
	}
	return rel, nil
}

// policy returns the relay's policy, empty when unknown (the relay
// enforces it at drop creation anyway).
func (w *web) policy(ctx context.Context) relayapi.Policy {
	if w.opt.Policy == nil {
		return relayapi.Policy{}
	}
	p, err := w.opt.Policy(ctx)
	if err != nil {
		w.opt.Logger.Warn("cannot read the relay's policy", "err", err)
		return relayapi.Policy{}
	}
	return p
}

// checkPolicy refuses a release the relay's policy would refuse, with
// the rule's name, before anything is sealed.
func checkPolicy(p relayapi.Policy, rel spooler.Release, l Lang) error {
	if len(p.AllowedDomains) > 0 {
		for _, to := range rel.To {
			if !domainAllowed(p.AllowedDomains, to) {
				return errors.New(l.T("err.policy.domain", spooler.Clip(to, 80), strings.Join(p.AllowedDomains, ", "), relayapi.RuleAllowedDomains))
			}
		}
	}
	if m := p.MaxExpirySeconds; m > 0 && rel.Options.ExpiresIn > time.Duration(m)*time.Second {
		return errors.New(l.T("err.policy.expiry", relayapi.RuleMaxExpiry))
	}
	if m := p.MaxDownloads; m > 0 && rel.Options.MaxDownloads != nil && (*rel.Options.MaxDownloads == 0 || *rel.Options.MaxDownloads > m) {
		return errors.New(l.T("err.policy.downloads", m, relayapi.RuleMaxDownloads))
	}
	if p.LinkNeedsCode && rel.Options.Link() && !rel.Options.Code {
		return errors.New(l.T("err.policy.code", relayapi.RuleLinkNeedsCode))
	}
	return nil
}

// domainAllowed matches an address's domain against "x.fr" (exactly) and
// "*.x.fr" (subdomains) patterns, as the relay does.
func domainAllowed(patterns []string, addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	dom := strings.ToLower(strings.TrimSpace(addr[at+1:]))
	for _, p := range patterns {
		if sub, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(dom, "."+sub) {
				return true
			}
		} else if dom == p {
			return true
		}
	}
	return false
}

// NormalizeCodeTo writes a code channel as the relay takes it: "sms:"
// with the number in international form (a French "06 12 34 56 78"
// becomes "+33612345678"), "mail:" with the address in lower case;
// "phone" (the sender reads it out) and "" become "".
func NormalizeCodeTo(codeTo string) string {
	kind, dest, _ := strings.Cut(strings.TrimSpace(codeTo), ":")
	switch strings.ToLower(kind) {
	case "", "phone", "tel":
		return ""
	case "sms":
		return "sms:" + frenchNumber(strings.TrimSpace(dest))
	case "mail":
		return "mail:" + strings.ToLower(strings.TrimSpace(dest))
	}
	return codeTo
}

// frenchNumber writes a number typed the French way ("06 12 34 56 78")
// in international form ("+33612345678"); other forms are left as typed
// (without spaces, dots and dashes).
func frenchNumber(s string) string {
	s = strings.NewReplacer(" ", "", ".", "", "-", "", "\u00a0", "").Replace(s)
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if len(s) == 10 && s[0] == '0' && s[1] != '0' {
		s = "+33" + s[1:]
	}
	return s
}

// newAccessCode returns 8 random decimal digits.
func newAccessCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", fmt.Errorf("access code: %w", err)
	}
	return fmt.Sprintf("%08d", n.Int64()), nil
}

// formRelease reads the release form.
func formRelease(f url.Values) (ActionRequest, error) {
	req := ActionRequest{Mode: f.Get("mode")}
	req.To = append(req.To, f["to"]...)
	req.To = append(req.To, strings.FieldsFunc(f.Get("other"), func(c rune) bool {
		return c == ',' || c == ';' || c == ' ' || c == '\n' || c == '\r'
	})...)
	req.Code = req.Mode == spooler.ModeLink && f.Get("code") == "on"
	if req.Code {
		dest := strings.TrimSpace(f.Get("code_dest"))
		switch f.Get("code_via") {
		case "sms":
			req.CodeTo = "sms:" + frenchNumber(dest)
		case "mail":
			req.CodeTo = "mail:" + strings.ToLower(dest)
		}
	}
	if v := strings.TrimSpace(f.Get("expires_days")); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 1 || days > 366 {
			return req, errors.New("expiry: a number of days from 1 to 366")
		}
		req.ExpiresInSeconds = int64(days) * 24 * 3600
	}
	if v := strings.TrimSpace(f.Get("max_downloads")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > spooler.MaxDownloadsCap {
			return req, fmt.Errorf("download limit: a number from 0 to %d", spooler.MaxDownloadsCap)
		}
		req.MaxDownloads = &n
	}
	if v := strings.TrimSpace(f.Get("deadline")); v != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", v, time.Local)
		if err != nil {
			return req, errors.New("deadline: a date and time")
		}
		req.Deadline = t
	}
	req.Reference = f.Get("reference")
	return req, nil
}
