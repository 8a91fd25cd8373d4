package qdrant_test

import (
	"testing"

	"github.com/ragd/ragd/store/qdrant"
	"github.com/ragd/ragd/store/storetest"
)

// TestConformance runs the store contract's suite against the stand-in, or
// against the real Qdrant at RAGD_TEST_QDRANT_ADDR.
func TestConformance(t *testing.T) {
	b := newBackend(t)
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return b.open(t, qdrant.Options{})
	})
}
