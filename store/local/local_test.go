package local_test

import (
	"testing"

	"github.com/ragd/ragd/store/local"
	"github.com/ragd/ragd/store/storetest"
)

var _ storetest.Store = (*local.DB)(nil)

func mustOpen(tb testing.TB, dir string) *local.DB {
	tb.Helper()
	db, err := local.Open(dir, local.Options{})
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return mustOpen(t, t.TempDir())
	})
}
