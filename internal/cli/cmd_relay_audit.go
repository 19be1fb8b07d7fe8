package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/relay"
)

const relayAuditUsage = `sealrelay audit COMMAND

Commands:
  verify --data DIR [--key FILE] [--witness FILE] [--json]
                                  check the audit log's hash chain and signed checkpoints
  key (--data DIR | --db URL)     print the relay's audit public key
  export (--data DIR | --db URL) --drop ID [-o FILE] [--public-url URL]
                                  write the signed proof of delivery of a drop

Each takes --db postgres://… (with --blobs s3://…, as for serve) to read
the replicas' shared database instead of a data directory.`

func runRelayAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, relayAuditUsage)
		if len(args) == 0 {
			return usageError("audit: missing command")
		}
		return errHelp
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(e, args[1:])
	case "key":
		return runAuditKey(ctx, e, args[1:])
	case "export":
		return runAuditExport(ctx, e, args[1:])
	}
	return usageError("audit: unknown command %q (try sealrelay audit --help)", args[0])
}

func runAuditVerify(e *env, args []string) error {
	const usage = "sealrelay audit verify --data DIR [--key FILE] [--witness FILE] [--json]"
	flags := newFlags("audit verify", usage+`

Checks that no line of DIR/audit.log was edited, removed or reordered, and
that every signed checkpoint holds. --key checks against an audit public key
kept elsewhere (as served at /.well-known/sealrelay/audit-key), so that a
replaced DIR/audit.key is noticed too; --witness checks that the log still
holds the checkpoints a sender was shown (a JSON checkpoint or list).`, e.stderr)
	storage := addRelayStorageFlags(flags)
	data := storage.data
	keyFile := flags.String("key", "", "audit public key to check against (default: DIR/audit.key)")
	witness := flags.String("witness", "", "checkpoints kept by a sender, to check against the log")
	jsonOut := flags.Bool("json", false, "print the result as JSON")
	if _, err := parsePositional(flags, args, 0, 0, usage); err != nil {
		return err
	}
	if *data == "" && *storage.db == "" {
		return usageError("audit verify needs --data DIR")
	}
	if err := storage.check("audit verify"); err != nil {
		return err
	}
	var pub ed25519.PublicKey
	var err error
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		if pub, err = relay.ParseAuditPublicKey(b); err != nil {
			return err
		}
	}
	if storage.shared() {
		return verifySharedAudit(e, *storage.db, pub, *jsonOut)
	}
	dd := relay.DataDir{Root: *data}
	if pub == nil {
		pub, err = relay.LoadAuditPublicKey(dd.AuditKey())
		if errors.Is(err, fs.ErrNotExist) {
			return verifyUnsignedAudit(e, dd.AuditLog(), *jsonOut)
		}
		if err != nil {
			return fmt.Errorf("%w (give the relay's published key with --key FILE)", err)
		}
	}
	f, err := os.Open(dd.AuditLog())
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no audit log at %s (the relay creates it when it first starts)", dd.AuditLog())
	}
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := relay.VerifySignedAudit(f, pub)
	if err != nil {
		return fmt.Errorf("audit log: %w (first bad record: line %d)", err, rep.FirstBad)
	}
	if *witness != "" {
		if err := checkWitness(dd.AuditLog(), *witness); err != nil {
			return err
		}
	}
	if *jsonOut {
		return writeJSON(e, map[string]any{"ok": true, "lines": rep.Records, "checkpoints": rep.Checkpoints,
			"unsigned_tail": rep.Unsigned, "last_checkpoint": rep.LastCheckpoint, "key_id": relay.AuditKeyID(pub),
			"partial_line_bytes": rep.Partial})
	}
	fmt.Fprintf(e.stdout, "audit log intact: %d lines, %d signed checkpoints (audit key %s)\n", rep.Records, rep.Checkpoints, relay.AuditKeyID(pub))
	if rep.Unsigned > 0 {
		fmt.Fprintf(e.stdout, "  the last %d lines are not yet covered by a checkpoint\n", rep.Unsigned)
	}
	if rep.Partial > 0 {
		fmt.Fprintf(e.stdout, "  after them, %d bytes of an unfinished line were not checked: the running relay is writing it, or a crash cut it (the relay removes it when it next starts)\n", rep.Partial)
	}
	return nil
}

// verifyUnsignedAudit checks the chain of a log written before the relay
// had an audit key. A log that holds checkpoints needs their key.
func verifyUnsignedAudit(e *env, path string, jsonOut bool) error {
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
	f.Seek(0, 0)
	if cps, err := relay.ReadCheckpoints(f); err != nil || len(cps) > 0 {
		return errors.New("the audit log holds signed checkpoints but the audit key is missing from the data dir: give the relay's published key with --key FILE")
	}
	if jsonOut {
		return writeJSON(e, map[string]any{"ok": true, "lines": n, "checkpoints": 0, "signed": false})
	}
	fmt.Fprintf(e.stdout, "audit log intact: %d lines (no audit key yet: written before checkpoints were signed)\n", n)
	return nil
}

// checkWitness checks that every checkpoint in file is a line of the log.
func checkWitness(logPath, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var list []relay.Checkpoint
	if err := json.Unmarshal(b, &list); err != nil {
		var one relay.Checkpoint
		if err2 := json.Unmarshal(b, &one); err2 != nil {
			return fmt.Errorf("witness %s: %v", file, err)
		}
		list = []relay.Checkpoint{one}
	}
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := relay.ReadCheckpoints(f)
	if err != nil {
		return err
	}
	for _, c := range list {
		got, ok := have[c.Seq]
		if !ok || got.Head != c.Head || got.Sig != c.Sig || !got.At.Equal(c.At) {
			return fmt.Errorf("audit log contradicts a witnessed checkpoint: line %d (head %s) is not in the log as signed: history was rewritten", c.Seq, c.Head)
		}
	}
	return nil
}

func runAuditKey(ctx context.Context, e *env, args []string) error {
	const usage = "sealrelay audit key (--data DIR | --db postgres://… --blobs s3://…)"
	flags := newFlags("audit key", usage+"\n\nPrints the relay's audit public key (JSON, as served at /.well-known/sealrelay/audit-key).", e.stderr)
	storage := addRelayStorageFlags(flags)
	data := storage.data
	if _, err := parsePositional(flags, args, 0, 0, usage); err != nil {
		return err
	}
	if err := storage.check("audit key"); err != nil {
		return err
	}
	if storage.shared() {
		st, err := relay.OpenPostgres(ctx, *storage.db, relay.PGOptions{MaxConns: 2})
		if err != nil {
			return err
		}
		defer st.Close()
		key, err := st.AuditKey(ctx)
		if err != nil {
			return err
		}
		return writeJSON(e, relay.NewAuditPublicKey(key.Public().(ed25519.PublicKey)))
	}
	pub, err := relay.LoadAuditPublicKey(relay.DataDir{Root: *data}.AuditKey())
	if err != nil {
		return fmt.Errorf("%w (the relay creates it when it first starts)", err)
	}
	return writeJSON(e, relay.NewAuditPublicKey(pub))
}

func runAuditExport(ctx context.Context, e *env, args []string) error {
	const usage = "sealrelay audit export (--data DIR | --db postgres://… --blobs s3://…) --drop ID [-o FILE] [--public-url URL]"
	flags := newFlags("audit export", usage+"\n\nWrites the signed proof of delivery of a drop (JSON; check it with 'sealprint verify-proof FILE').", e.stderr)
	storage := addRelayStorageFlags(flags)
	drop := flags.String("drop", "", "drop id")
	out := flags.String("o", "", "output file (default: stdout)")
	publicURL := flags.String("public-url", "", "the relay's public URL, written into the proof")
	if _, err := parsePositional(flags, args, 0, 0, usage); err != nil {
		return err
	}
	if *drop == "" {
		return usageError("audit export needs --drop ID")
	}
	if err := storage.check("audit export"); err != nil {
		return err
	}
	var b []byte
	var err error
	if storage.shared() {
		b, err = sharedProof(ctx, *storage.db, *drop, *publicURL)
	} else {
		b, err = fileProof(ctx, storage, *drop, *publicURL)
	}
	if err != nil {
		return err
	}
	if *out == "" || *out == "-" {
		_, err = e.stdout.Write(b)
		return err
	}
	return atomicfile.WriteFile(*out, b, 0o644)
}

// sharedProof builds a drop's proof of delivery from the chain in
// PostgreSQL, after checking the whole chain and its signatures, with the
// key every replica signs with.
func sharedProof(ctx context.Context, db, drop, publicURL string) ([]byte, error) {
	st, err := relay.OpenPostgres(ctx, db, relay.PGOptions{MaxConns: 2})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	d, err := st.Drop(ctx, drop)
	if err != nil {
		return nil, fmt.Errorf("drop %s: %w", drop, err)
	}
	key, err := st.AuditKey(ctx)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(st.WriteAudit(ctx, pw)) }()
	rep, err := relay.VerifySignedAudit(pr, key.Public().(ed25519.PublicKey))
	pr.Close()
	if err != nil {
		return nil, fmt.Errorf("audit chain: %w: no proof from a broken chain", err)
	}
	return relay.ProofFromLog(ctx, st, st, rep.LastCheckpoint, key, d, publicURL, time.Now())
}

// fileProof builds a drop's proof of delivery from a data directory.
func fileProof(ctx context.Context, storage *relayStorage, drop, publicURL string) ([]byte, error) {
	dd := relay.DataDir{Root: *storage.data}
	key, err := relay.LoadOrCreateAuditKey(dd.AuditKey())
	if err != nil {
		return nil, err
	}
	st, err := storage.openStore(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	d, err := st.Drop(ctx, drop)
	if err != nil {
		return nil, fmt.Errorf("drop %s: %w", drop, err)
	}
	f, err := os.Open(dd.AuditLog())
	if err != nil {
		return nil, err
	}
	rep, err := relay.VerifySignedAudit(f, key.Public().(ed25519.PublicKey))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("audit log: %w: no proof from a broken log", err)
	}
	return relay.ProofFromLog(ctx, st, auditFile(dd.AuditLog()), rep.LastCheckpoint, key, d, publicURL, time.Now())
}

// auditFile lists a drop's events from an audit log file.
type auditFile string

func (a auditFile) DropEvents(ctx context.Context, drop string) ([]relay.AuditEvent, error) {
	f, err := os.Open(string(a))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return relay.ReadDropEvents(f, drop)
}

// verifySharedAudit checks the audit chain kept in PostgreSQL: hashes and
// every checkpoint's signature, against pub or the key in the database.
func verifySharedAudit(e *env, db string, pub ed25519.PublicKey, jsonOut bool) error {
	ctx := context.Background()
	st, err := relay.OpenPostgres(ctx, db, relay.PGOptions{MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	if pub == nil {
		key, err := st.AuditKey(ctx)
		if err != nil {
			return err
		}
		pub = key.Public().(ed25519.PublicKey)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(st.WriteAudit(ctx, pw)) }()
	rep, err := relay.VerifySignedAudit(pr, pub)
	pr.Close()
	if err != nil {
		return fmt.Errorf("audit chain: %w (first bad record: %d)", err, rep.FirstBad)
	}
	if jsonOut {
		return writeJSON(e, map[string]any{"ok": true, "lines": rep.Records, "checkpoints": rep.Checkpoints,
			"unsigned_tail": rep.Unsigned, "last_checkpoint": rep.LastCheckpoint, "key_id": relay.AuditKeyID(pub)})
	}
	fmt.Fprintf(e.stdout, "audit chain intact: %d records, %d signed checkpoints (audit key %s)\n", rep.Records, rep.Checkpoints, relay.AuditKeyID(pub))
	return nil
}
