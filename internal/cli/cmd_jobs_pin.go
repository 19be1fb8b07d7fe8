package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sealprint/sealprint/web/jobs"
)

// runJobsPIN gives the running service the PDF signing card's PIN for its
// session, as the jobs page's PIN form does: asked on the terminal (or
// read from standard input with --stdin), sent once over the loopback API,
// kept only in the service's memory.
func runJobsPIN(ctx context.Context, e *env, args []string) error {
	const usage = "sealprint jobs pin [--stdin]"
	lang := jobs.LangFromEnv(e.getenv)
	fs := newFlags("jobs pin", usage+`

Enters the PIN of the card that signs the PDFs, for the running service's
session: the jobs waiting for it ("PIN de la carte requis") are signed and
sent. The card is tried once; a wrong PIN is not tried again.`, e.stderr)
	stdin := fs.Bool("stdin", false, "read the PIN from the first line of standard input instead of the terminal")
	if _, err := parsePositional(fs, args, 0, 0, usage); err != nil {
		return err
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	info, err := jobs.ReadServiceInfo(filepath.Join(p.home, "spool"))
	if err != nil {
		return errors.New(lang.T("cli.pin.noservice"))
	}
	var pin string
	if *stdin {
		line, err := bufio.NewReader(io.LimitReader(e.stdin, 256)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the PIN: %w", err)
		}
		pin = strings.TrimRight(line, "\r\n")
	} else if pin, err = readSecret(e, lang.T("pin.label")+" : "); err != nil {
		return fmt.Errorf("PIN: %w (or give it with --stdin)", err)
	}
	res, err := (&jobs.Client{Info: info, Lang: lang}).EnterPIN(ctx, pin)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, lang.T("cli.pin.ok", res.Resumed))
	return nil
}
