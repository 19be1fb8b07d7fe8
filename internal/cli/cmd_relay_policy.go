package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/relayapi"
)

const relayPolicyUsage = `sealrelay policy COMMAND

Commands:
  set --data DIR [--allowed-domains LIST] [--max-expiry DUR] [--max-downloads N] [--link-needs-code] [--archive-key FILE]
      set the organisation's sending policy (only the options given change;
      an empty value clears one: --allowed-domains "" --max-expiry 0 --archive-key "")
  show --data DIR [--json]
      print the policy, as served at GET /api/v1/policy

A running relay reads the policy again when it changes.`

func runRelayPolicy(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, relayPolicyUsage)
		if len(args) == 0 {
			return usageError("policy: missing command")
		}
		return errHelp
	}
	switch args[0] {
	case "set":
		return runRelayPolicySet(e, args[1:])
	case "show":
		return runRelayPolicyShow(e, args[1:])
	}
	return usageError("policy: unknown command %q (try sealrelay policy --help)", args[0])
}

func runRelayPolicySet(e *env, args []string) error {
	const usage = "sealrelay policy set --data DIR [--allowed-domains LIST] [--max-expiry DUR] [--max-downloads N] [--link-needs-code] [--archive-key FILE] [--max-reply-size BYTES]"
	fs := newFlags("policy set", usage, e.stderr)
	data := fs.String("data", "", "relay data directory")
	domains := fs.String("allowed-domains", "", `recipient domains allowed, comma separated: "justice.fr" exactly, "*.interieur.gouv.fr" its subdomains`)
	maxExpiry := fs.String("max-expiry", "", "longest drop lifetime, e.g. 3d (0: the relay's maximum)")
	maxDownloads := fs.Int("max-downloads", -1, "largest download limit; drops must then have one (0: no bound)")
	needsCode := fs.Bool("link-needs-code", false, "refuse link-mode drops without an access code (=false to allow)")
	archive := fs.String("archive-key", "", "the organisation's archive public key (armored file): every document must be encrypted to it")
	maxReply := fs.Int64("max-reply-size", -1, "largest secure reply a recipient may send, in bytes of ciphertext (0: the relay's default, 64 MiB)")
	if _, err := parsePositional(fs, args, 0, 0, usage); err != nil {
		return err
	}
	if *data == "" {
		return usageError("policy set needs --data")
	}
	dd := relay.DataDir{Root: *data}
	p, err := relay.LoadPolicy(dd.PolicyFile())
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["allowed-domains"] {
		p.AllowedDomains = nil
		for _, d := range strings.Split(*domains, ",") {
			if d = strings.TrimSpace(d); d != "" {
				p.AllowedDomains = append(p.AllowedDomains, d)
			}
		}
	}
	if given["max-expiry"] {
		p.MaxExpirySeconds = 0
		if *maxExpiry != "0" && *maxExpiry != "" {
			d, err := parseDuration(*maxExpiry)
			if err != nil {
				return usageError("--max-expiry: %v", err)
			}
			p.MaxExpirySeconds = int64(d / time.Second)
		}
	}
	if given["max-downloads"] {
		if *maxDownloads < 0 {
			return usageError("--max-downloads must be 0 or more")
		}
		p.MaxDownloads = *maxDownloads
	}
	if given["max-reply-size"] {
		if *maxReply < 0 {
			return usageError("--max-reply-size must be 0 or more")
		}
		p.MaxReplySize = *maxReply
	}
	if given["link-needs-code"] {
		p.LinkNeedsCode = *needsCode
	}
	if given["archive-key"] {
		p.ArchiveKey = ""
		if *archive != "" {
			b, err := os.ReadFile(*archive)
			if err != nil {
				return fmt.Errorf("--archive-key: %w", err)
			}
			p.ArchiveKey = string(b)
		}
	}
	if err := relay.SavePolicy(dd.PolicyFile(), p); err != nil {
		return err
	}
	p, _ = relay.LoadPolicy(dd.PolicyFile())
	printPolicy(e, p)
	return nil
}

func runRelayPolicyShow(e *env, args []string) error {
	fs := newFlags("policy show", "sealrelay policy show --data DIR [--json]", e.stderr)
	data := fs.String("data", "", "relay data directory")
	jsonOut := fs.Bool("json", false, "print the policy as JSON")
	if _, err := parsePositional(fs, args, 0, 0, "sealrelay policy show --data DIR"); err != nil {
		return err
	}
	if *data == "" {
		return usageError("policy show needs --data")
	}
	p, err := relay.LoadPolicy(relay.DataDir{Root: *data}.PolicyFile())
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	printPolicy(e, p)
	return nil
}

func printPolicy(e *env, p relayapi.Policy) {
	dom := "any"
	if len(p.AllowedDomains) > 0 {
		dom = strings.Join(p.AllowedDomains, ", ")
	}
	exp := "relay maximum"
	if p.MaxExpirySeconds > 0 {
		exp = (time.Duration(p.MaxExpirySeconds) * time.Second).String()
	}
	dl := "no bound"
	if p.MaxDownloads > 0 {
		dl = fmt.Sprint(p.MaxDownloads)
	}
	arch := "none"
	if p.ArchiveFingerprint != "" {
		arch = p.ArchiveFingerprint
	}
	reply := "relay default (64 MiB)"
	if p.MaxReplySize > 0 {
		reply = fmt.Sprintf("%d bytes", p.MaxReplySize)
	}
	fmt.Fprintf(e.stdout, "allowed domains:  %s\nmax expiry:       %s\nmax downloads:    %s\nlink needs code:  %v\narchive key:      %s\nmax reply size:   %s\n",
		dom, exp, dl, p.LinkNeedsCode, arch, reply)
}
