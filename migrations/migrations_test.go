package migrations_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ragd/ragd/migrations"
	"github.com/ragd/ragd/store/postgres/pgtest"
)

func mustPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	dsn := pgtest.DSN(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func applied(t *testing.T, pool *pgxpool.Pool, schema string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT name FROM `+pgx.Identifier{schema}.Sanitize()+`.schema_migrations ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestAllNamesInOrder(t *testing.T) {
	ms, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Name != "0001_store.sql" {
		t.Fatalf("first migration = %v, want 0001_store.sql", ms)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i-1].Name >= ms[i].Name {
			t.Errorf("migrations out of order: %s before %s", ms[i-1].Name, ms[i].Name)
		}
	}
}

func TestBadFileNames(t *testing.T) {
	ctx := context.Background()
	for _, fsys := range []fstest.MapFS{
		{"1_x.sql": {Data: []byte("SELECT 1")}},
		{"0001_X.sql": {Data: []byte("SELECT 1")}},
		{"0001_a.sql": {Data: []byte("SELECT 1")}, "0001_b.sql": {Data: []byte("SELECT 1")}},
	} {
		if _, err := migrations.ApplyFS(ctx, nil, "x", fsys); err == nil {
			t.Errorf("ApplyFS(%v) succeeded, want an error about the file names", fsys)
		}
	}
	if err := migrations.ValidateSchema("Robert'); DROP TABLE x;--"); err == nil {
		t.Error("ValidateSchema accepted a name with quotes")
	}
}

func TestApplyTwiceIsNoOp(t *testing.T) {
	pool := mustPool(t)
	ctx := testContext(t)
	schema := pgtest.Schema(t, pgtest.DSN(t))
	ms, _ := migrations.All()
	pending, err := migrations.Pending(ctx, pool, schema)
	if err != nil || len(pending) != len(ms) {
		t.Fatalf("Pending on an empty schema = %v, %v; want all %d", pending, err, len(ms))
	}
	if err := migrations.ApplySchema(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	if pending, err := migrations.Pending(ctx, pool, schema); err != nil || len(pending) != 0 {
		t.Fatalf("Pending after ApplySchema = %v, %v; want none", pending, err)
	}
	first := applied(t, pool, schema)
	if len(first) != len(ms) {
		t.Fatalf("applied %v, want all %d migrations", first, len(ms))
	}
	if err := migrations.ApplySchema(ctx, pool, schema); err != nil {
		t.Fatalf("second ApplySchema: %v", err)
	}
	if got := applied(t, pool, schema); strings.Join(got, ",") != strings.Join(first, ",") {
		t.Errorf("after a second run applied = %v, want %v", got, first)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.chunks`).Scan(&n); err != nil {
		t.Fatalf("the schema's tables are missing: %v", err)
	}
}

// TestConcurrentApply starts several runners at once against one schema,
// each with a pool of its own, as ragd processes starting together do.
// Each file must be applied once and every runner must succeed.
func TestConcurrentApply(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := testContext(t)
	schema := pgtest.Schema(t, dsn)
	const runners = 4
	var wg sync.WaitGroup
	errs := make([]error, runners)
	for i := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := pgxpool.New(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			errs[i] = migrations.ApplySchema(ctx, pool, schema)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("runner %d: %v", i, err)
		}
	}
	ms, _ := migrations.All()
	if got := applied(t, mustPool(t), schema); len(got) != len(ms) {
		t.Errorf("applied = %v, want each of the %d migrations once", got, len(ms))
	}
}

// TestFailedMigrationLeavesNothing: a file that fails halfway is rolled
// back whole and not recorded, the files before it stay applied, and a
// fixed file applies on the next run (RELIABILITY.md D-8).
func TestFailedMigrationLeavesNothing(t *testing.T) {
	pool := mustPool(t)
	ctx := testContext(t)
	schema := pgtest.Schema(t, pgtest.DSN(t))
	good := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (x int);")},
		"0002_b.sql": {Data: []byte("CREATE TABLE b (x int); INSERT INTO b VALUES (1); SELECT 1/0;")},
	}
	done, err := migrations.ApplyFS(ctx, pool, schema, good)
	if err == nil {
		t.Fatal("a migration dividing by zero succeeded")
	}
	if len(done) != 1 || done[0] != "0001_a.sql" {
		t.Errorf("applied %v before the failure, want [0001_a.sql]", done)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, schema+".b").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Error("table b of the failed migration exists")
	}
	if got := applied(t, pool, schema); len(got) != 1 {
		t.Errorf("recorded %v, want only 0001_a.sql", got)
	}

	good["0002_b.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE b (x int); INSERT INTO b VALUES (1);")}
	done, err = migrations.ApplyFS(ctx, pool, schema, good)
	if err != nil || len(done) != 1 || done[0] != "0002_b.sql" {
		t.Fatalf("after the fix applied %v, %v; want [0002_b.sql]", done, err)
	}
}

func TestEditedMigrationIsRefused(t *testing.T) {
	pool := mustPool(t)
	ctx := testContext(t)
	schema := pgtest.Schema(t, pgtest.DSN(t))
	fsys := fstest.MapFS{"0001_a.sql": {Data: []byte("CREATE TABLE a (x int);")}}
	if _, err := migrations.ApplyFS(ctx, pool, schema, fsys); err != nil {
		t.Fatal(err)
	}
	fsys["0001_a.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE a (x bigint);")}
	fsys["0002_b.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE b (x int);")}
	_, err := migrations.ApplyFS(ctx, pool, schema, fsys)
	if err == nil || !strings.Contains(err.Error(), "edited") {
		t.Fatalf("ApplyFS after editing an applied file = %v, want an error saying it was edited", err)
	}
	if got := applied(t, pool, schema); len(got) != 1 {
		t.Errorf("recorded %v, want nothing applied after the edited file", got)
	}
}
