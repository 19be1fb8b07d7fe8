// Package pgtx carries a PostgreSQL transaction in a context: the store
// calls made with a context that InTx gave out run in that transaction
// and commit together, or not at all. Transactions belong to one pool, so
// that two stores that happen to share a context never share one.
package pgtx

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Querier is what a store's queries need: its pool, or the transaction in
// progress.
type Querier interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// key names the transaction of one pool in a context.
type key struct{ pool *pgxpool.Pool }

// DB returns the transaction of pool that ctx carries, or pool itself.
func DB(ctx context.Context, pool *pgxpool.Pool) Querier {
	if tx, ok := ctx.Value(key{pool}).(pgx.Tx); ok {
		return tx
	}
	return pool
}

// Active reports whether ctx carries a transaction of pool.
func Active(ctx context.Context, pool *pgxpool.Pool) bool {
	_, ok := ctx.Value(key{pool}).(pgx.Tx)
	return ok
}

// InTx runs fn in one transaction of pool, committed when fn returns nil
// and rolled back otherwise; the context fn is given carries it. Called
// with a context that already carries one, fn joins it.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(ctx context.Context) error) error {
	if Active(ctx, pool) {
		return fn(ctx)
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return fn(context.WithValue(ctx, key{pool}, tx))
	})
}
