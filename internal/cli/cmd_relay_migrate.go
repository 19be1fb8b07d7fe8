package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/sealprint/sealprint/keyserver"
	"github.com/sealprint/sealprint/relay"
)

const relayMigrateUsage = `sealrelay migrate --data DIR --db postgres://… --blobs s3://BUCKET?endpoint=URL&region=R [--json]

Moves an embedded relay's drops, senders, receipts and audit chain from DIR
into PostgreSQL and the bucket (credentials from AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY). Every stored blob is read back from the bucket and
its SHA-256 checked; the audit chain is verified before and after. The
database must be empty; stop the embedded relay first. The key
directory's keys and allowed domains move too.`

func runRelayMigrate(ctx context.Context, e *env, args []string) error {
	fs := newFlags("migrate", relayMigrateUsage, e.stderr)
	storage := addRelayStorageFlags(fs)
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	if _, err := parsePositional(fs, args, 0, 0, relayMigrateUsage); err != nil {
		return err
	}
	if *storage.data == "" || *storage.db == "" || *storage.blobs == "" {
		return usageError("migrate needs --data DIR (from) and --db and --blobs (to)")
	}
	if err := storage.check("migrate"); err != nil {
		return err
	}
	db, err := relay.OpenPostgres(ctx, *storage.db, relay.PGOptions{MaxConns: 4})
	if err != nil {
		return err
	}
	defer db.Close()
	blobs, err := storage.openBlobs(e, relay.DataDir{Root: *storage.data}.Uploads())
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	rep, err := relay.Migrate(ctx, relay.DataDir{Root: *storage.data}, db, blobs, log)
	if err != nil {
		return err
	}
	keys, err := migrateKeyDirectory(ctx, *storage.data, *storage.db)
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"relay": rep, "keys": keys})
	}
	fmt.Fprintf(e.stdout, "migrated %d senders, %d drops (%d blobs, %d bytes, each read back and checked), %d receipts, %d audit records (chain verified)\n",
		rep.Senders, rep.Drops, rep.Blobs, rep.BlobBytes, rep.Receipts, rep.AuditEvents)
	fmt.Fprintf(e.stdout, "migrated %d keys of the key directory\n", keys)
	return nil
}

// migrateKeyDirectory copies every key record (with its published
// addresses) and the allowed domains from DIR/keys into PostgreSQL;
// pending verification tokens are not copied (their mails can be asked
// for again). It returns how many keys it copied.
func migrateKeyDirectory(ctx context.Context, data, db string) (int, error) {
	if _, err := os.Stat(keyStoreDir(data)); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	from, err := keyserver.OpenFileStore(keyStoreDir(data))
	if err != nil {
		return 0, err
	}
	to, err := keyserver.OpenPGStore(ctx, db)
	if err != nil {
		return 0, err
	}
	defer to.Close()
	fprs, err := from.List(ctx)
	if err != nil {
		return 0, err
	}
	for _, f := range fprs {
		rec, err := from.Get(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("key %s: %w", f, err)
		}
		if err := to.Put(ctx, rec); err != nil {
			return 0, fmt.Errorf("key %s: %w", f, err)
		}
	}
	domains, err := from.AllowedDomains()
	if err != nil {
		return 0, err
	}
	if len(domains) > 0 {
		if err := to.SetAllowedDomains(domains); err != nil {
			return 0, err
		}
	}
	return len(fprs), nil
}
