package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/ragd/ragd/store/postgres"
	"github.com/ragd/ragd/store/postgres/pgtest"
)

// mustOpenDB opens a store in a schema of its own, closed and dropped when
// the test ends.
func mustOpenDB(tb testing.TB, opts postgres.Options) *postgres.DB {
	tb.Helper()
	dsn := pgtest.DSN(tb)
	if opts.Schema == "" {
		opts.Schema = pgtest.Schema(tb, dsn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, dsn, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func postgresOptions() postgres.Options { return postgres.Options{} }
