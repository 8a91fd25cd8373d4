// Package pgtest gives tests a PostgreSQL database with pgvector: the DSN
// from RAGD_TEST_DATABASE_URL and a schema of their own.
//
// Without RAGD_TEST_DATABASE_URL a test is skipped, unless CI is set: CI
// starts a database (.ci/pglite/start.sh), so there a missing URL is a
// failure, never a silent skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the variable that holds the test database's URL.
const EnvDSN = "RAGD_TEST_DATABASE_URL"

// DSN returns the test database's URL, or skips the test (fails it when
// the CI variable is set) when there is none.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s is not set, but CI is: .ci/run must start the test database (.ci/pglite/start.sh)", EnvDSN)
		}
		tb.Skipf("set %s to a PostgreSQL database with pgvector to run this test (.ci/pglite/start.sh PORT DIR prints one)", EnvDSN)
	}
	return dsn
}

// Schema returns the name of a new, unused schema for the test and drops it
// (with everything in it) when the test ends. The schema itself is created
// by whoever uses it (migrations create theirs).
func Schema(tb testing.TB, dsn string) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	name := "ragd_test_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop test schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop test schema %s: %v", name, err)
		}
	})
	return name
}
