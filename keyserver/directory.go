package keyserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// directory holds the operations on keys shared by the HTTP handler and the
// admin commands. mu serializes every change so that moving an address
// from one key to another is atomic within the process.
type directory struct {
	store    Store
	domains  []string // when the store's DomainPolicy has none
	defaults []string // when neither says: these ("*" or empty: any)
	now      func() time.Time
	mu       sync.Mutex
}

// ErrDomainNotAllowed is returned when an address's domain may not publish
// in this directory.
var ErrDomainNotAllowed = errors.New("domain not allowed in this key directory")

// allowedDomain reports whether addresses of email's domain may be
// published.
func (d *directory) allowedDomain(email string) (bool, error) {
	// The list saved at run time ('sealrelay keys domains') first, then
	// the configured one, then the default.
	var list []string
	if p, ok := d.store.(DomainPolicy); ok {
		var err error
		if list, err = p.AllowedDomains(); err != nil {
			return false, err
		}
	}
	if len(list) == 0 {
		list = d.domains
	}
	if len(list) == 0 {
		list = d.defaults
	}
	if len(list) == 0 {
		return true, nil
	}
	_, domain := splitEmail(email)
	for _, a := range list {
		if a == "*" || strings.EqualFold(a, domain) {
			return true, nil
		}
	}
	return false, nil
}

// publishable returns the addresses of c that may be published here.
func (d *directory) publishable(c *Cert) ([]string, error) {
	var out []string
	for _, e := range c.Emails() {
		ok, err := d.allowedDomain(e)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// load returns the stored record and key for fpr.
func (d *directory) load(ctx context.Context, fpr string) (*Record, *Cert, error) {
	rec, err := d.store.Get(ctx, fpr)
	if err != nil {
		return nil, nil, err
	}
	c, err := parseStored(rec.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("stored key %s: %w", fpr, err)
	}
	return rec, c, nil
}

// add merges c into the directory and returns the resulting record and
// merged key. When verified is set, every publishable address of c is
// published (admin import).
func (d *directory) add(ctx context.Context, c *Cert, verified bool) (*Record, *Cert, error) {
	var rec *Record
	var merged *Cert
	err := d.serialized(ctx, func(ctx context.Context) error {
		var err error
		rec, merged, err = d.addLocked(ctx, c, verified)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return rec, merged, nil
}

func (d *directory) addLocked(ctx context.Context, c *Cert, verified bool) (*Record, *Cert, error) {
	fpr := c.Fingerprint()
	rec, merged, err := d.load(ctx, fpr)
	switch {
	case errors.Is(err, ErrNotFound):
		rec, merged = &Record{Fingerprint: fpr}, c
	case err != nil:
		return nil, nil, err
	default:
		if err := merged.Merge(c); err != nil {
			return nil, nil, err
		}
	}
	if len(merged.Bytes()) > MaxKeyBytes {
		return nil, nil, tooLarge("larger than %d bytes once merged", MaxKeyBytes)
	}
	rec.Key = merged.Bytes()
	rec.KeyIDs = append(merged.KeyIDs(), merged.Fingerprints()...)
	rec.Updated = d.now()
	// Drop addresses whose user IDs were revoked or removed.
	var keep []string
	for _, e := range rec.Verified {
		if slices.Contains(merged.Emails(), e) && !merged.EmailRevoked(e) {
			keep = append(keep, e)
		}
	}
	rec.Verified = keep
	if verified {
		emails, err := d.publishable(merged)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range emails {
			if !merged.EmailRevoked(e) {
				if err := d.unbindOthers(ctx, e, fpr); err != nil {
					return nil, nil, err
				}
				rec.Verified = addSorted(rec.Verified, e)
			}
		}
	}
	if err := d.store.Put(ctx, rec); err != nil {
		return nil, nil, err
	}
	return rec, merged, nil
}

// publish marks email as verified for fpr, taking it away from any other
// key (an address names one key).
func (d *directory) publish(ctx context.Context, fpr, email string) error {
	return d.serialized(ctx, func(ctx context.Context) error { return d.publishLocked(ctx, fpr, email) })
}

func (d *directory) publishLocked(ctx context.Context, fpr, email string) error {
	rec, c, err := d.load(ctx, fpr)
	if err != nil {
		return err
	}
	if !slices.Contains(c.Emails(), email) || c.EmailRevoked(email) {
		return fmt.Errorf("publish %s: the key no longer carries this address", fpr)
	}
	if ok, err := d.allowedDomain(email); err != nil || !ok {
		return ErrDomainNotAllowed
	}
	if err := d.unbindOthers(ctx, email, fpr); err != nil {
		return err
	}
	rec.Verified = addSorted(rec.Verified, email)
	rec.Updated = d.now()
	return d.store.Put(ctx, rec)
}

// serialized runs a change under the directory's lock: the process's
// mutex, and the store's own serialization when it is shared.
func (d *directory) serialized(ctx context.Context, fn func(ctx context.Context) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.store.(Serializer); ok {
		return s.Serialize(ctx, fn)
	}
	return fn(ctx)
}

// unpublish removes email from every key that publishes it.
func (d *directory) unpublish(ctx context.Context, email string) error {
	return d.serialized(ctx, func(ctx context.Context) error { return d.unbindOthers(ctx, email, "") })
}

func (d *directory) unbindOthers(ctx context.Context, email, except string) error {
	fprs, err := d.store.ByEmail(ctx, email)
	if err != nil {
		return err
	}
	for _, f := range fprs {
		if f == except {
			continue
		}
		rec, err := d.store.Get(ctx, f)
		if err != nil {
			continue
		}
		rec.Verified = slices.DeleteFunc(rec.Verified, func(e string) bool { return e == email })
		rec.Updated = d.now()
		if err := d.store.Put(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

func addSorted(list []string, s string) []string {
	if i, found := slices.BinarySearch(list, s); !found {
		list = slices.Insert(list, i, s)
	}
	return list
}

// published returns the key of fpr restricted to its verified addresses.
func (d *directory) published(ctx context.Context, fpr string) (*Cert, func(string) bool, error) {
	rec, c, err := d.load(ctx, fpr)
	if err != nil {
		return nil, nil, err
	}
	verified := rec.Verified
	return c, func(e string) bool { return slices.Contains(verified, e) }, nil
}

// status returns the publication state of each publishable address of c,
// in the words of the VKS API.
func (d *directory) status(rec *Record, c *Cert, pending []string) (map[string]string, error) {
	emails, err := d.publishable(c)
	if err != nil {
		return nil, err
	}
	st := map[string]string{}
	for _, e := range emails {
		switch {
		case c.Revoked() || c.EmailRevoked(e):
			st[e] = "revoked"
		case slices.Contains(rec.Verified, e):
			st[e] = "published"
		case slices.Contains(pending, e):
			st[e] = "pending"
		default:
			st[e] = "unpublished"
		}
	}
	return st, nil
}

// Import adds keys to the directory behind store, as an administrator
// preloading an organisation's keys does. With verified set, every address
// in an allowed domain is published without mail. It returns the imported
// fingerprints.
func Import(ctx context.Context, store Store, keys []*Cert, verified bool, now time.Time) ([]string, error) {
	d := &directory{store: store, now: func() time.Time { return now }}
	var fprs []string
	for _, c := range keys {
		if _, _, err := d.add(ctx, c, verified); err != nil {
			return fprs, fmt.Errorf("import %s: %w", c.Fingerprint(), err)
		}
		fprs = append(fprs, c.Fingerprint())
	}
	return fprs, nil
}

// Unpublish removes an address from the directory (administrator action).
func Unpublish(ctx context.Context, store Store, email string) error {
	e := NormalizeEmail(email)
	if e == "" {
		return fmt.Errorf("unpublish: %q is not an email address", email)
	}
	d := &directory{store: store, now: time.Now}
	return d.unpublish(ctx, e)
}
