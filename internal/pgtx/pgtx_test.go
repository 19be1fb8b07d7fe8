package pgtx

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sealprint/sealprint/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.StopSharedPostgres()
	os.Exit(code)
}

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Calls made inside InTx, nested ones included, commit or roll back
// together; another pool's calls never join the transaction.
func TestInTx(t *testing.T) {
	testutil.NeedIntegration(t)
	url := testutil.SharedPostgres(t).NewDB(t)
	pool, other := openPool(t, url), openPool(t, url)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE t (v int)`); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	insert := func(ctx context.Context) error {
		_, err := DB(ctx, pool).Exec(ctx, `INSERT INTO t VALUES (1)`)
		return err
	}
	boom := errors.New("boom")
	err := InTx(ctx, pool, func(ctx context.Context) error {
		if !Active(ctx, pool) || Active(ctx, other) {
			t.Error("the transaction is not the pool's alone")
		}
		if err := insert(ctx); err != nil {
			return err
		}
		if err := InTx(ctx, pool, insert); err != nil { // joins
			return err
		}
		// Another pool sees nothing uncommitted.
		var n int
		if err := DB(ctx, other).QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 0 {
			t.Errorf("another pool saw %d rows (%v)", n, err)
		}
		return boom
	})
	if !errors.Is(err, boom) || count() != 0 {
		t.Fatalf("rolled back: %v, %d rows left", err, count())
	}
	if err := InTx(ctx, pool, func(ctx context.Context) error {
		if err := insert(ctx); err != nil {
			return err
		}
		return InTx(ctx, pool, insert)
	}); err != nil || count() != 2 {
		t.Fatalf("committed: %v, %d rows", err, count())
	}
	if Active(ctx, pool) {
		t.Fatal("a plain context carries a transaction")
	}
}
