package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sealprint/sealprint/relay"
)

const relayTokenUsage = `sealrelay token COMMAND

Commands:
  create --data DIR --org ORG [--uses N] [--expires 30d] [--json]
                     create an organisation token: each PC enrolled with it
                     ('sealprint enroll --token TOKEN') becomes a sender of its own
  create --data DIR --sender NAME [--email ADDR] [--expires 30d] [--json]
                     create a single sender's credential (--name is an alias)
  list --data DIR [--json]     list tokens and senders (never the tokens themselves)
  revoke --data DIR ID         revoke a token or sender credential (at once, also on a running relay)`

func runRelayToken(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, relayTokenUsage)
		if len(args) == 0 {
			return usageError("token: missing command")
		}
		return errHelp
	}
	switch args[0] {
	case "create":
		return runRelayTokenCreate(ctx, e, args[1:])
	case "list":
		return runRelaySenderList(ctx, e, "token list", args[1:], false)
	case "revoke":
		return runRelaySenderSet(ctx, e, "token revoke", args[1:], relayRevoke)
	}
	return usageError("token: unknown command %q (try sealrelay token --help)", args[0])
}

func runRelayTokenCreate(ctx context.Context, e *env, args []string) error {
	const usage = "sealrelay token create --data DIR (--org ORG [--uses N] | --sender NAME [--email ADDR]) [--expires 30d] [--json]"
	fs := newFlags("token create", usage+"\n\nPrints a new token once; the relay keeps only its hash.", e.stderr)
	storage := addRelayStorageFlags(fs)
	org := fs.String("org", "", "organisation that vouches for the senders it enrols (e.g. \"CHU de Lyon — UMJ\")")
	uses := fs.Int("uses", 0, "enrolments an organisation token allows (0: no limit)")
	name := fs.String("sender", "", "a single sender's name, shown to recipients")
	fs.StringVar(name, "name", "", "alias of --sender (older spelling)")
	email := fs.String("email", "", "sender's address, for notifications (opened, locked, expired)")
	expires := fs.String("expires", "", "validity, e.g. 30d, 12h (default: no expiry)")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	if _, err := parsePositional(fs, args, 0, 0, usage); err != nil {
		return err
	}
	if err := storage.check("token create"); err != nil {
		return err
	}
	if *name == "" && *org == "" {
		return usageError("token create needs --name (or --org)")
	}
	if *name != "" && *org != "" && *uses != 0 {
		return usageError("--uses applies to organisation tokens (--org without --name)")
	}
	for _, v := range []string{*name, *org} {
		if len(v) > 200 {
			return usageError("--name/--org is too long")
		}
	}
	if *uses < 0 {
		return usageError("--uses must be positive")
	}
	if *email != "" {
		a, err := mail.ParseAddress(*email)
		if err != nil || a.Address != *email {
			return usageError("--email: %q is not a bare email address", *email)
		}
	}
	now := time.Now()
	spec := relay.TokenSpec{Name: *name, Email: *email, Org: *org, Uses: *uses}
	if *name == "" {
		spec.Kind, spec.Name = relay.KindOrg, *org
	}
	if *expires != "" {
		d, err := parseDays(*expires)
		if err != nil {
			return usageError("--expires: %v", err)
		}
		spec.ExpiresAt = now.Add(d)
	}
	st, err := storage.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	snd, token, err := relay.CreateToken(ctx, st, spec, now)
	if err != nil {
		return err
	}
	if *jsonOut {
		out := map[string]any{"token": token, "sender_id": snd.ID, "id": snd.ID, "kind": snd.Kind, "name": snd.Name,
			"email": snd.Email, "org": snd.Org}
		if !snd.ExpiresAt.IsZero() {
			out["expires_at"] = snd.ExpiresAt
		}
		return json.NewEncoder(e.stdout).Encode(out)
	}
	fmt.Fprintln(e.stdout, token)
	return nil
}

// parseDays reads a duration that also accepts days ("30d").
func parseDays(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 3650 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			return 0, fmt.Errorf("%q is not a duration like 30d or 12h", s)
		}
	}
	return d, nil
}

func runRelaySenders(ctx context.Context, e *env, args []string) error {
	const usage = `sealrelay senders COMMAND

Commands:
  list --data DIR [--json]    list senders: bound key, verified identity, organisation
  approve --data DIR ID       vouch for a sender's identity (the address in its bound key)
  revoke --data DIR ID        revoke a sender's credential`
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, usage)
		if len(args) == 0 {
			return usageError("senders: missing command")
		}
		return errHelp
	}
	switch args[0] {
	case "list":
		return runRelaySenderList(ctx, e, "senders list", args[1:], true)
	case "approve":
		return runRelaySenderSet(ctx, e, "senders approve", args[1:], relay.ApproveSender)
	case "revoke":
		return runRelaySenderSet(ctx, e, "senders revoke", args[1:], relayRevoke)
	}
	return usageError("senders: unknown command %q (try sealrelay senders --help)", args[0])
}

func relayRevoke(ctx context.Context, st relay.Store, id string) (*relay.Sender, error) {
	return relay.RevokeToken(ctx, st, id, time.Now())
}

func runRelaySenderSet(ctx context.Context, e *env, name string, args []string,
	f func(context.Context, relay.Store, string) (*relay.Sender, error)) error {
	usage := "sealrelay " + name + " --data DIR ID"
	fs := newFlags(name, usage, e.stderr)
	storage := addRelayStorageFlags(fs)
	data := storage.data
	pos, err := parsePositional(fs, args, 1, 1, usage)
	if err != nil {
		return err
	}
	if *data == "" && *storage.db == "" {
		return usageError("%s needs --data DIR", name)
	}
	st, err := storage.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	snd, err := f(ctx, st, pos[0])
	if errors.Is(err, relay.ErrNotFound) {
		return fmt.Errorf("no token or sender %s (see 'sealrelay token list')", pos[0])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", snd.ID, senderState(snd, time.Now()))
	return nil
}

func senderState(s *relay.Sender, now time.Time) string {
	if p := s.TokenProblem(now); p != "" {
		return p
	}
	if s.Kind == relay.KindOrg {
		return "active"
	}
	if s.Verified {
		return "verified"
	}
	return "unverified"
}

func runRelaySenderList(ctx context.Context, e *env, name string, args []string, sendersOnly bool) error {
	usage := "sealrelay " + name + " --data DIR [--json]"
	fs := newFlags(name, usage, e.stderr)
	storage := addRelayStorageFlags(fs)
	data := storage.data
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := parsePositional(fs, args, 0, 0, usage); err != nil {
		return err
	}
	if *data == "" && *storage.db == "" {
		return usageError("%s needs --data DIR", name)
	}
	st, err := storage.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	all, err := st.Senders(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	type row struct {
		ID        string     `json:"id"`
		Kind      string     `json:"kind"`
		Name      string     `json:"name"`
		Email     string     `json:"email,omitempty"`
		Org       string     `json:"org,omitempty"`
		State     string     `json:"state"`
		Key       string     `json:"key_fingerprint,omitempty"`
		Verified  bool       `json:"verified"`
		UsesLeft  *int       `json:"uses_left,omitempty"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
		Parent    string     `json:"enrolled_by,omitempty"`
	}
	rows := []row{}
	for _, s := range all {
		if sendersOnly && s.Kind == relay.KindOrg {
			continue
		}
		r := row{ID: s.ID, Kind: s.Kind, Name: s.Name, Email: s.Email, Org: s.Org, State: senderState(s, now),
			Key: s.KeyFPR, Verified: s.Verified, Parent: s.Parent}
		if s.Kind == relay.KindOrg && s.UsesLeft >= 0 {
			n := s.UsesLeft
			r.UsesLeft = &n
		}
		if !s.ExpiresAt.IsZero() {
			t := s.ExpiresAt
			r.ExpiresAt = &t
		}
		rows = append(rows, r)
	}
	if *jsonOut {
		return writeJSON(e, rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tNAME\tORG\tKEY")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.State, r.Name, r.Org, r.Key)
	}
	return tw.Flush()
}
