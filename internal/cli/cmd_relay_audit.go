package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sealprint/sealprint/relay"
)

const relayAuditUsage = `sealrelay audit COMMAND

Commands:
  verify --data DIR [--json]   check the audit log's hash chain`

func runRelayAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, relayAuditUsage)
		if len(args) == 0 {
			return usageError("audit: missing command")
		}
		return errHelp
	}
	if args[0] != "verify" {
		return usageError("audit: unknown command %q (try sealrelay audit --help)", args[0])
	}
	flags := newFlags("audit verify", "sealrelay audit verify --data DIR [--json]\n\nChecks that no line of DIR/audit.log was edited, removed or reordered.", e.stderr)
	data := flags.String("data", "", "relay data directory")
	jsonOut := flags.Bool("json", false, "print the result as JSON")
	if _, err := parsePositional(flags, args[1:], 0, 0, "sealrelay audit verify --data DIR"); err != nil {
		return err
	}
	if *data == "" {
		return usageError("audit verify needs --data DIR")
	}
	path := relay.DataDir{Root: *data}.AuditLog()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no audit log at %s (the relay creates it when it first starts)", path)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := relay.VerifyAudit(f)
	if err != nil {
		return fmt.Errorf("audit log: %w (after %d good lines)", err, n)
	}
	if *jsonOut {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"ok": true, "lines": n})
	}
	fmt.Fprintf(e.stdout, "audit log intact: %d lines\n", n)
	return nil
}
