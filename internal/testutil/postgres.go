package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pgBinDir is where Debian's postgresql-15 keeps initdb and pg_ctl.
const pgBinDir = "/usr/lib/postgresql/15/bin"

// Postgres is a throwaway PostgreSQL cluster on a loopback port, owned by
// user postgres, with its data and socket in a temp dir.
type Postgres struct {
	// Port is the TCP port on 127.0.0.1.
	Port    int
	dir     string
	ctl     string
	next    atomic.Int64
	stopper func()
}

var (
	pgOnce   sync.Once
	pgShared *Postgres
	pgErr    error
	pgSkip   string
)

// SharedPostgres returns the test process's PostgreSQL cluster, starting
// it on first use. Each test should take its own database with NewDB. The
// caller's TestMain stops it with StopSharedPostgres. Without the
// binaries the test fails under SEALPRINT_INTEGRATION=1 and is skipped
// otherwise.
func SharedPostgres(t testing.TB) *Postgres {
	t.Helper()
	pgOnce.Do(func() {
		// A port taken between its pick and the server's bind: again on
		// another.
		for attempt := 1; attempt <= 3; attempt++ {
			pgShared, pgSkip, pgErr = startPostgres()
			if pgErr == nil || !strings.Contains(pgErr.Error(), "already in use") {
				break
			}
		}
	})
	if pgSkip != "" {
		if Integration() {
			t.Fatalf("PostgreSQL: %s (scripts/test installs it)", pgSkip)
		}
		t.Skipf("PostgreSQL: %s; set SEALPRINT_INTEGRATION=1 to make this a failure", pgSkip)
	}
	if pgErr != nil {
		t.Fatalf("start PostgreSQL: %v", pgErr)
	}
	return pgShared
}

// StopSharedPostgres stops the cluster SharedPostgres started, if any,
// and removes its files.
func StopSharedPostgres() {
	if pgShared != nil {
		pgShared.stop()
	}
}

func startPostgres() (*Postgres, string, error) {
	initdb := filepath.Join(pgBinDir, "initdb")
	ctl := filepath.Join(pgBinDir, "pg_ctl")
	if _, err := os.Stat(initdb); err != nil {
		return nil, "initdb not found in " + pgBinDir + " (apt postgresql)", nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, "no user postgres (apt postgresql)", nil
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "sealprint-pg-")
	if err != nil {
		return nil, "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, "", err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, "", err
	}
	if err := os.Chown(data, uid, gid); err != nil {
		return nil, "", err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, "", err
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	p := &Postgres{Port: port, dir: dir, ctl: ctl}
	asPG := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		if os.Geteuid() == 0 {
			cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
		}
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", filepath.Base(name), err, out)
		}
		return nil
	}
	if err := asPG(initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", port, dir)
	if err := asPG(ctl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("%v\n%s", err, log)
	}
	p.stopper = func() {
		asPG(ctl, "-D", data, "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	}
	return p, "", nil
}

func (p *Postgres) stop() {
	if p.stopper != nil {
		p.stopper()
	}
}

// URL returns the connection URL of database db as user postgres.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// NewDB creates an empty database for this test and returns its URL.
func (p *Postgres) NewDB(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), p.next.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	psql := filepath.Join(pgBinDir, "psql")
	out, err := exec.CommandContext(ctx, psql, "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", "postgres",
		"-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE "+name).CombinedOutput()
	if err != nil {
		t.Fatalf("create database: %v\n%s", err, out)
	}
	return p.URL(name)
}

func freePort() (int, error) { return pickPort() }
