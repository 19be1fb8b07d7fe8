package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealprint/sealprint/relay"
)

// relayStorage is where a relay keeps its data: the embedded data dir
// (--data: SQLite, files, audit log) or the scale-out pair (--db
// postgres://…, --blobs s3://…). serve and every admin command take the
// same three flags.
type relayStorage struct {
	data  *string
	db    *string
	blobs *string
}

func addRelayStorageFlags(fs *flag.FlagSet) *relayStorage {
	return &relayStorage{
		data:  fs.String("data", "", "relay data directory (embedded storage; with --db only the key directory and temp files)"),
		db:    fs.String("db", "", "PostgreSQL URL, postgres://user@host/db (shared by relay replicas)"),
		blobs: fs.String("blobs", "", "object storage, s3://BUCKET?endpoint=URL&region=R (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"),
	}
}

// check validates the flag combination.
func (s *relayStorage) check(cmd string) error {
	if *s.blobs != "" && *s.db == "" {
		return usageError("--blobs needs --db (the metadata of S3-stored drops lives in PostgreSQL)")
	}
	if *s.db == "" && *s.data == "" {
		return usageError("%s needs --data DIR, or --db postgres://… with --blobs s3://…", cmd)
	}
	if *s.db != "" && !strings.HasPrefix(*s.db, "postgres://") && !strings.HasPrefix(*s.db, "postgresql://") {
		return usageError("--db must be a postgres:// URL")
	}
	if *s.db != "" && *s.blobs == "" && *s.data == "" {
		return usageError("--db needs --blobs s3://… (or --data DIR for blob files on this machine)")
	}
	if *s.blobs != "" {
		if _, err := relay.ParseS3URL(*s.blobs); err != nil {
			return usageError("--blobs: %v", err)
		}
	}
	return nil
}

// shared reports whether the scale-out storage is used.
func (s *relayStorage) shared() bool { return *s.db != "" }

// openStore opens only the metadata store (admin commands).
func (s *relayStorage) openStore(ctx context.Context) (relay.Store, error) {
	if s.shared() {
		return relay.OpenPostgres(ctx, *s.db, relay.PGOptions{MaxConns: 4})
	}
	return relay.DataDir{Root: *s.data}.OpenStore()
}

// openBlobs opens the blob storage of the scale-out mode.
func (s *relayStorage) openBlobs(e *env, tmp string) (relay.Blobs, error) {
	if *s.blobs == "" {
		return relay.NewFileBlobs(relay.DataDir{Root: *s.data}.Blobs())
	}
	o, err := relay.ParseS3URL(*s.blobs)
	if err != nil {
		return nil, usageError("--blobs: %v", err)
	}
	o.AccessKey, o.SecretKey = e.getenv("AWS_ACCESS_KEY_ID"), e.getenv("AWS_SECRET_ACCESS_KEY")
	return relay.NewS3Blobs(o, tmp)
}

// tmpDir is where uploads in progress (embedded) or tusd's part files
// (S3) live.
func (s *relayStorage) tmpDir() string {
	if *s.data != "" {
		return relay.DataDir{Root: *s.data}.Uploads()
	}
	return filepath.Join(os.TempDir(), "sealrelay-uploads")
}

// openServe opens everything `sealrelay serve` needs.
func (s *relayStorage) openServe(ctx context.Context, e *env, logger *slog.Logger) (relay.Config, io.Closer, error) {
	if !s.shared() {
		return relay.DataDir{Root: *s.data}.Open()
	}
	st, err := relay.OpenPostgres(ctx, *s.db, relay.PGOptions{})
	if err != nil {
		return relay.Config{}, nil, err
	}
	fail := func(err error) (relay.Config, io.Closer, error) {
		st.Close()
		return relay.Config{}, nil, err
	}
	key, err := st.SharedSecret(ctx, "grant-key")
	if err != nil {
		return fail(err)
	}
	auditKey, err := st.AuditKey(ctx)
	if err != nil {
		return fail(err)
	}
	st.SetAuditKey(auditKey, 0)
	tmp := s.tmpDir()
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return fail(fmt.Errorf("upload dir: %w", err))
	}
	blobs, err := s.openBlobs(e, filepath.Join(tmp, "put"))
	if err != nil {
		return fail(err)
	}
	// Each upload in flight holds one lock connection.
	locker, err := relay.NewPGLocker(ctx, *s.db, 256, logger)
	if err != nil {
		return fail(err)
	}
	cfg := relay.Config{Store: st, Blobs: blobs, Audit: st, AuditKey: auditKey, UploadDir: tmp, GrantKey: key, Locker: locker}
	return cfg, closerFunc(func() error { return errors.Join(locker.Close(), st.Close()) }), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
