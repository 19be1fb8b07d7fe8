package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sealprint/sealprint/keyserver"
)

const relayKeysUsage = `sealrelay keys COMMAND (--data DIR | --db URL)

Commands:
  import --verified FILE...       preload keys (e.g. a police unit's), publishing their addresses without mail
  import FILE...                  store keys unpublished (their owners verify by mail)
  list [--json]                   list keys and their published addresses
  unpublish EMAIL                 stop publishing an address
  domains [--set D1,D2 | --clear] show or restrict the domains allowed to publish`

// keyStoreDir is where the key directory lives inside the relay's data
// directory.
func keyStoreDir(data string) string { return filepath.Join(data, "keys") }

// keyDirectoryHandler opens the key directory of a relay data directory
// for `sealrelay serve`.
func keyDirectoryHandler(p relayParts, opts keyserver.Options) http.Handler {
	opts.PublicURL = p.publicURL
	opts.Logger = p.logger
	if p.db != nil {
		return keyserver.NewHandler(p.db, opts)
	}
	if p.dataDir == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "this relay serves no key directory (start it with --data DIR)", http.StatusNotFound)
		})
	}
	st, err := keyserver.OpenFileStore(keyStoreDir(p.dataDir))
	if err != nil {
		p.logger.Error("key directory unavailable", "err", err)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "key directory unavailable", http.StatusServiceUnavailable)
		})
	}
	opts.PublicURL = p.publicURL
	opts.Logger = p.logger
	// Who may publish: --publish-domains, else what 'sealrelay keys
	// domains' saved, else the relay's own organisation (the domain it
	// mails from), so that it does not mail verification links to anyone.
	opts.AllowedDomains = p.publishDomains
	if at := strings.LastIndexByte(p.mailFrom, '@'); at >= 0 {
		opts.DefaultDomains = []string{strings.ToLower(strings.Trim(p.mailFrom[at+1:], "> "))}
	}
	h := keyserver.NewHandler(st, opts)
	if p.ctx != nil {
		go sweepUnverifiedKeys(p.ctx, h, p.logger)
	}
	return h
}

// sweepUnverifiedKeys deletes expired unverified uploads every hour.
func sweepUnverifiedKeys(ctx context.Context, h *keyserver.Handler, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := h.SweepUnverified(ctx); err != nil && ctx.Err() == nil {
			log.Warn("key directory sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func runRelayKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, relayKeysUsage)
		if len(args) == 0 {
			return usageError("keys: missing command")
		}
		return errHelp
	}
	sub := map[string]func(context.Context, *env, []string) error{
		"import":    runRelayKeysImport,
		"list":      runRelayKeysList,
		"unpublish": runRelayKeysUnpublish,
		"domains":   runRelayKeysDomains,
	}[args[0]]
	if sub == nil {
		return usageError("keys: unknown command %q (try sealrelay keys --help)", args[0])
	}
	return sub(ctx, e, args[1:])
}

// keyAdminStore is what the keys commands need of a key directory store.
type keyAdminStore interface {
	keyserver.Store
	keyserver.DomainPolicy
	SetAllowedDomains(domains []string) error
}

// openKeyStore opens the key directory: in PostgreSQL with --db, else in
// the data directory. The caller calls close when done.
func openKeyStore(ctx context.Context, storage *relayStorage) (st keyAdminStore, close func(), err error) {
	if *storage.db != "" {
		pg, err := keyserver.OpenPGStore(ctx, *storage.db)
		if err != nil {
			return nil, nil, err
		}
		return pg, func() { pg.Close() }, nil
	}
	if *storage.data == "" {
		return nil, nil, usageError("needs --data DIR (the relay's data directory) or --db postgres://…")
	}
	fs, err := keyserver.OpenFileStore(keyStoreDir(*storage.data))
	if err != nil {
		return nil, nil, err
	}
	return fs, func() {}, nil
}

func runRelayKeysImport(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys import", "sealrelay keys import --data DIR [--verified] FILE...\n\nFILE holds one or more public keys, armored or binary (- for standard input).\nWith --verified every address in an allowed domain is published at once:\nuse it only for keys whose owners you have checked.", e.stderr)
	storage := addRelayStorageFlags(fs)
	verified := fs.Bool("verified", false, "publish the keys' addresses without mail verification")
	pos, err := parsePositional(fs, args, 1, -1, "sealrelay keys import --data DIR [--verified] FILE...")
	if err != nil {
		return err
	}
	st, closeStore, err := openKeyStore(ctx, storage)
	if err != nil {
		return err
	}
	defer closeStore()
	for _, name := range pos {
		in, err := openInput(e, name)
		if err != nil {
			return err
		}
		certs, err := keyserver.ParseCerts(in)
		in.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fprs, err := keyserver.Import(ctx, st, certs, *verified, time.Now())
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, f := range fprs {
			rec, err := st.Get(ctx, f)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s\t%s\n", f, publishedList(rec.Verified))
		}
	}
	return nil
}

func publishedList(v []string) string {
	if len(v) == 0 {
		return "(no address published)"
	}
	return strings.Join(v, ",")
}

func runRelayKeysList(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys list", "sealrelay keys list --data DIR [--json]", e.stderr)
	storage := addRelayStorageFlags(fs)
	jsonOut := fs.Bool("json", false, "print JSON lines")
	_, err := parsePositional(fs, args, 0, 0, "sealrelay keys list --data DIR")
	if err != nil {
		return err
	}
	st, closeStore, err := openKeyStore(ctx, storage)
	if err != nil {
		return err
	}
	defer closeStore()
	fprs, err := st.List(ctx)
	if err != nil {
		return err
	}
	sort.Strings(fprs)
	for _, f := range fprs {
		rec, err := st.Get(ctx, f)
		if err != nil {
			return err
		}
		if *jsonOut {
			json.NewEncoder(e.stdout).Encode(map[string]any{"fingerprint": f, "published": rec.Verified, "updated": rec.Updated})
			continue
		}
		fmt.Fprintf(e.stdout, "%s\t%s\n", f, publishedList(rec.Verified))
	}
	return nil
}

func runRelayKeysUnpublish(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys unpublish", "sealrelay keys unpublish --data DIR EMAIL", e.stderr)
	storage := addRelayStorageFlags(fs)
	pos, err := parsePositional(fs, args, 1, 1, "sealrelay keys unpublish --data DIR EMAIL")
	if err != nil {
		return err
	}
	st, closeStore, err := openKeyStore(ctx, storage)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := keyserver.Unpublish(ctx, st, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s is no longer published\n", strings.ToLower(pos[0]))
	return nil
}

func runRelayKeysDomains(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys domains", "sealrelay keys domains --data DIR [--set D1,D2 | --clear]\n\nWith a list set, only addresses in these domains can be published\n(uploads with none are refused). A running relay applies it at once.", e.stderr)
	storage := addRelayStorageFlags(fs)
	var set listFlag
	fs.Var(&set, "set", "allowed domains (repeatable or comma-separated)")
	clear := fs.Bool("clear", false, "allow every domain")
	_, err := parsePositional(fs, args, 0, 0, "sealrelay keys domains --data DIR [--set D1,D2 | --clear]")
	if err != nil {
		return err
	}
	if *clear && len(set) > 0 {
		return usageError("--set and --clear exclude each other")
	}
	st, closeStore, err := openKeyStore(ctx, storage)
	if err != nil {
		return err
	}
	defer closeStore()
	if *clear || len(set) > 0 {
		if err := st.SetAllowedDomains(set); err != nil {
			return usageError("%v", err)
		}
	}
	d, err := st.AllowedDomains()
	if err != nil {
		return err
	}
	if len(d) == 0 {
		fmt.Fprintln(e.stdout, "every domain may publish")
		return nil
	}
	fmt.Fprintln(e.stdout, strings.Join(d, "\n"))
	return nil
}
