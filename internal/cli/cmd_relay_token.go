package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"time"

	"github.com/sealprint/sealprint/relay"
)

const relayTokenUsage = `sealrelay token COMMAND

Commands:
  create --data DIR --name NAME [--email ADDR] [--json]   create an enrolment token for a sender`

func runRelayToken(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, relayTokenUsage)
		if len(args) == 0 {
			return usageError("token: missing command")
		}
		return errHelp
	}
	if args[0] != "create" {
		return usageError("token: unknown command %q (try sealrelay token --help)", args[0])
	}
	return runRelayTokenCreate(ctx, e, args[1:])
}

func runRelayTokenCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags("token create", "sealrelay token create --data DIR --name NAME [--email ADDR] [--json]\n\nPrints a new enrolment token once; the relay keeps only its hash.", e.stderr)
	data := fs.String("data", "", "relay data directory")
	name := fs.String("name", "", "sender's name, shown to recipients (e.g. \"Dr Durand, CHU Lyon\")")
	email := fs.String("email", "", "sender's address, for notifications (opened, locked, expired)")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	_, err := parsePositional(fs, args, 0, 0, "sealrelay token create --data DIR --name NAME")
	if err != nil {
		return err
	}
	if *data == "" || *name == "" {
		return usageError("token create needs --data and --name")
	}
	if len(*name) > 200 {
		return usageError("--name is too long")
	}
	if *email != "" {
		a, err := mail.ParseAddress(*email)
		if err != nil || a.Address != *email {
			return usageError("--email: %q is not a bare email address", *email)
		}
	}
	st, err := relay.DataDir{Root: *data}.OpenStore()
	if err != nil {
		return err
	}
	defer st.Close()
	snd, token, err := relay.CreateSender(ctx, st, *name, *email, time.Now())
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(e.stdout).Encode(map[string]string{"token": token, "sender_id": snd.ID, "name": snd.Name, "email": snd.Email})
	}
	fmt.Fprintln(e.stdout, token)
	return nil
}
