package installer

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Queue is one printer the system shows, bound to one queue of the
// sealprint printer.
type Queue struct {
	// Name is the system's printer name ("OPJ-Lyon", "Sealed print").
	Name string
	// URI is the sealprint queue's address, ipp://127.0.0.1:8632/ipp/print/Q
	// (CUPS) or http://127.0.0.1:8632/ipp/print/Q (Windows).
	URI string
	// Info is the human description shown next to the name.
	Info string
}

// Printers registers queues with the operating system's print system.
type Printers interface {
	// List returns the registered printers and their device URIs.
	List(ctx context.Context) (map[string]string, error)
	// Add registers q, replacing a printer of the same name.
	Add(ctx context.Context, q Queue) error
	// Remove deletes the printer named name.
	Remove(ctx context.Context, name string) error
}

// Ensure registers every queue that is missing or points elsewhere and
// returns the names it added or repaired. A service calls it on each start,
// so that a printer deleted by hand comes back.
func Ensure(ctx context.Context, p Printers, queues []Queue) ([]string, error) {
	have, err := p.List(ctx)
	if err != nil {
		return nil, err
	}
	var added []string
	var errs []error
	for _, q := range queues {
		if uri, ok := have[q.Name]; ok && sameURI(uri, q.URI) {
			continue
		}
		if err := p.Add(ctx, q); err != nil {
			errs = append(errs, err)
			continue
		}
		added = append(added, q.Name)
	}
	return added, errors.Join(errs...)
}

// sameURI compares device URIs ignoring the scheme's case and a trailing
// slash, which print systems may add.
func sameURI(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
}

// validPrinterName refuses names a print system would reject or a shell
// or PowerShell quoting could be confused by.
func validPrinterName(name string) error {
	if name == "" || len(name) > 127 {
		return fmt.Errorf("printer name %q: 1 to 127 characters", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`'"\/#`+"`$", r) {
			return fmt.Errorf("printer name %q: character %q not allowed", name, r)
		}
	}
	return nil
}

// RemoveOwn deletes the printers among queues that are registered and still
// point at their sealprint queue, and returns their names. A printer of the
// same name bound elsewhere, and every other printer, is left alone.
func RemoveOwn(ctx context.Context, p Printers, queues []Queue) ([]string, error) {
	have, err := p.List(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, q := range queues {
		if uri, ok := have[q.Name]; !ok || !sameURI(uri, q.URI) {
			continue
		}
		if err := p.Remove(ctx, q.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, q.Name)
	}
	return removed, errors.Join(errs...)
}
