package installer

import (
	"context"
	"fmt"
	"strings"
)

// CUPS registers queues with CUPS (Linux, macOS) through lpadmin and lpstat.
// CUPS printer names cannot hold spaces: a Queue's Name is used as is, its
// Info becomes the description (-D).
type CUPS struct {
	Run Runner
}

// Add runs lpadmin -p NAME -E -v URI -m everywhere with the options the
// sealprint printer needs: never shared on the network, and a job the
// service could not take is retried rather than dropped.
func (c CUPS) Add(ctx context.Context, q Queue) error {
	if err := validCUPSName(q.Name); err != nil {
		return err
	}
	args := []string{"-p", q.Name, "-E", "-v", q.URI, "-m", "everywhere",
		"-o", "printer-is-shared=false", "-o", "printer-error-policy=retry-job"}
	if q.Info != "" {
		args = append(args, "-D", q.Info)
	}
	if _, err := c.Run.Run(ctx, "lpadmin", args...); err != nil {
		return fmt.Errorf("register printer %s: %w", q.Name, err)
	}
	return nil
}

// Remove runs lpadmin -x NAME.
func (c CUPS) Remove(ctx context.Context, name string) error {
	if err := validCUPSName(name); err != nil {
		return err
	}
	if _, err := c.Run.Run(ctx, "lpadmin", "-x", name); err != nil {
		return fmt.Errorf("remove printer %s: %w", name, err)
	}
	return nil
}

// List runs lpstat -v (with LC_ALL=C, set by the Runner's environment) and
// parses its "device for NAME: URI" lines. No printer at all is an empty
// map, not an error.
func (c CUPS) List(ctx context.Context) (map[string]string, error) {
	out, err := c.Run.Run(ctx, "lpstat", "-v")
	if err != nil {
		if strings.Contains(out, "No destinations added") {
			return map[string]string{}, nil
		}
		return nil, fmt.Errorf("list printers: %w", err)
	}
	return parseLpstatV(out), nil
}

// parseLpstatV reads lpstat -v output in the C locale.
func parseLpstatV(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "device for ")
		if !ok {
			continue
		}
		name, uri, ok := strings.Cut(rest, ": ")
		if !ok || name == "" {
			continue
		}
		m[name] = strings.TrimSpace(uri)
	}
	return m
}

// validCUPSName applies CUPS' rule for printer names: printable, no space,
// tab, slash, backslash, quote or #, at most 127 bytes.
func validCUPSName(name string) error {
	if err := validPrinterName(name); err != nil {
		return err
	}
	if strings.ContainsAny(name, " \t") {
		return fmt.Errorf("printer name %q: CUPS names cannot hold spaces", name)
	}
	return nil
}
