package spooler

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Delivery modes of a released job.
const (
	ModeKey  = "key"  // encrypted to each recipient's key (the default)
	ModeLink = "link" // encrypted to a secret carried in the link's fragment
)

// Bounds of the send options.
const (
	MaxExpiry       = 366 * 24 * time.Hour
	MaxDownloadsCap = 1000
	maxReference    = 200
)

// SendOptions say how a released job leaves: mode, access code, expiry,
// download limit, and the cover (deadline, reference) sealed with it. The
// zero value is key mode with the relay's defaults.
type SendOptions struct {
	// Mode is ModeKey ("" means ModeKey) or ModeLink.
	Mode string `json:"mode,omitempty"`
	// Code asks the relay to require an access code (link mode only).
	Code bool `json:"code,omitempty"`
	// CodeTo is where the code goes: "" (shown to the sender, who passes
	// it on), "sms:+33612345678" or "mail:ADDRESS".
	CodeTo string `json:"code_to,omitempty"`
	// ExpiresIn is the drop's lifetime on the relay; 0: the relay's default.
	ExpiresIn time.Duration `json:"expires_in,omitempty"`
	// MaxDownloads bounds the downloads; nil: the relay's default.
	MaxDownloads *int `json:"max_downloads,omitempty"`
	// Deadline is the custody deadline ("échéance"); zero when none.
	Deadline time.Time `json:"deadline,omitzero"`
	// Reference is the procedure reference.
	Reference string `json:"reference,omitempty"`
}

// Link reports whether o is link mode.
func (o SendOptions) Link() bool { return o.Mode == ModeLink }

var phonePattern = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// Check validates o.
func (o SendOptions) Check() error {
	switch o.Mode {
	case "", ModeKey, ModeLink:
	default:
		return fmt.Errorf("unknown delivery mode %q", Clip(o.Mode, 20))
	}
	if o.Code && !o.Link() {
		return errors.New("an access code goes with link mode")
	}
	if o.CodeTo != "" {
		if !o.Code {
			return errors.New("a code channel needs an access code")
		}
		kind, dest, _ := strings.Cut(o.CodeTo, ":")
		switch kind {
		case "sms":
			if !phonePattern.MatchString(dest) {
				return fmt.Errorf("%q is not an international phone number (+33…)", Clip(dest, 30))
			}
		case "mail":
			if err := checkEmail(dest); err != nil {
				return err
			}
		default:
			return fmt.Errorf("code channel %q: use sms:+33… or mail:ADDRESS", Clip(o.CodeTo, 40))
		}
	}
	if o.ExpiresIn < 0 || o.ExpiresIn > MaxExpiry {
		return fmt.Errorf("expiry must be between 0 and %d days", MaxExpiry/(24*time.Hour))
	}
	if o.MaxDownloads != nil && (*o.MaxDownloads < 0 || *o.MaxDownloads > MaxDownloadsCap) {
		return fmt.Errorf("download limit must be between 0 and %d", MaxDownloadsCap)
	}
	if len(o.Reference) > maxReference || !utf8.ValidString(o.Reference) {
		return fmt.Errorf("procedure reference: at most %d characters", maxReference)
	}
	for _, r := range o.Reference {
		if r < 0x20 || r == 0x7f {
			return errors.New("procedure reference: no control characters")
		}
	}
	return nil
}

// clone returns a deep copy of o.
func (o *SendOptions) clone() *SendOptions {
	if o == nil {
		return nil
	}
	c := *o
	if o.MaxDownloads != nil {
		n := *o.MaxDownloads
		c.MaxDownloads = &n
	}
	return &c
}

// Release is what a held job is released with.
type Release struct {
	// To are the recipients' addresses.
	To []string
	// Options say how the job leaves.
	Options SendOptions
	// LinkSecrets (link mode) are each recipient's own link secret, by
	// address as in To; LinkSecret is one secret for all the recipients
	// (as jobs were released before each had its own): one of the two.
	// They and AccessCode (with Options.Code; one for the drop) are made by
	// the caller, kept only in the job's encrypted record, never shown by
	// List or Get's JSON, never logged.
	LinkSecret, AccessCode string
	LinkSecrets            map[string]string
}

// linkSecrets returns rel's secrets by normalized recipient address, each
// of to having one and no other; nil for a release with one LinkSecret.
func (rel Release) linkSecrets(to []string) (map[string]string, error) {
	if len(rel.LinkSecrets) == 0 {
		return nil, nil
	}
	if rel.LinkSecret != "" {
		return nil, errors.New("a link secret for all recipients and one each: choose")
	}
	out := make(map[string]string, len(rel.LinkSecrets))
	seen := map[string]bool{}
	for addr, secret := range rel.LinkSecrets {
		addr = strings.ToLower(strings.TrimSpace(addr))
		if secret == "" || seen[secret] {
			return nil, errors.New("each recipient needs a link secret of its own")
		}
		seen[secret] = true
		out[addr] = secret
	}
	for _, r := range to {
		if out[r] == "" {
			return nil, fmt.Errorf("recipient %s has no link secret", r)
		}
	}
	if len(out) != len(to) {
		return nil, errors.New("a link secret for an address that is not a recipient")
	}
	return out, nil
}

// ReleaseWith is Release with send options: link mode (no recipient key
// needed), access code, expiry, download limit, deadline and reference.
func (s *Spooler) ReleaseWith(ctx context.Context, id string, rel Release) (*Job, error) {
	to, err := normalizeRecipients(rel.To)
	if err != nil {
		return nil, err
	}
	opt := rel.Options
	if opt.Mode == "" {
		opt.Mode = ModeKey
	}
	if err := opt.Check(); err != nil {
		return nil, err
	}
	if opt.Link() != (rel.LinkSecret != "" || len(rel.LinkSecrets) > 0) {
		return nil, errors.New("link mode needs a link secret, and only link mode")
	}
	secrets, err := rel.linkSecrets(to)
	if err != nil {
		return nil, err
	}
	if opt.Code != (rel.AccessCode != "") {
		return nil, errors.New("an access code was asked for but not given, or the reverse")
	}
	if s.opt.CheckRecipient != nil && !opt.Link() {
		for _, r := range to {
			if err := s.opt.CheckRecipient(ctx, r); err != nil {
				return nil, fmt.Errorf("recipient %s: %w", r, err)
			}
		}
	}
	now := s.clock.Now()
	j, from, err := s.update(id, func(j *Job) error {
		ok := j.State == Held || (j.State == Failed && j.Stage == Rendered)
		if !ok {
			return &StateError{ID: id, State: j.State, Action: "release"}
		}
		j.Recipients = to
		j.Send = opt.clone()
		j.LinkSecret, j.LinkSecrets, j.AccessCode = rel.LinkSecret, secrets, rel.AccessCode
		j.moveTo(Rendered, now, "released ("+opt.Mode+") to "+strings.Join(to, ", "))
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("job released", "job", id, "recipients", len(to), "mode", opt.Mode)
	s.emit(j, from)
	s.kick()
	return j, nil
}

// RecipientLinkSecrets returns the link secrets of a job whose recipients
// each have their own, in the order of j.Recipients; nil otherwise.
func (j *Job) RecipientLinkSecrets() []string {
	if len(j.LinkSecrets) == 0 {
		return nil
	}
	out := make([]string, 0, len(j.Recipients))
	for _, r := range j.Recipients {
		out = append(out, j.LinkSecrets[r])
	}
	return out
}

// SendOptionsOf returns j's send options (the zero value for a job
// released with Release).
func (j *Job) SendOptionsOf() SendOptions {
	if j.Send == nil {
		return SendOptions{Mode: ModeKey}
	}
	return *j.Send
}
