package postgres_test

import (
	"testing"

	"github.com/ragd/ragd/store/postgres"
	"github.com/ragd/ragd/store/postgres/pgtest"
	"github.com/ragd/ragd/store/storetest"
)

var _ storetest.Store = (*postgres.DB)(nil)

// TestConformance runs the suite every store passes. The subtests share
// one schema (each uses collections of its own), each with a DB of its
// own, as several ragd processes would.
func TestConformance(t *testing.T) {
	schema := pgtest.Schema(t, pgtest.DSN(t))
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return mustOpenDB(t, postgres.Options{Schema: schema})
	})
}
