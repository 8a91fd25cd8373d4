package local

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/ragd/ragd/store/storetest"
)

// BenchmarkScan measures the in-memory vector scan alone (no store, no
// hit loading) over 100,000 x 384 vectors, with one and two workers.
func BenchmarkScan(b *testing.B) {
	const n, dim = 100_000, 384
	ix := newIndex(dim)
	rng := rand.New(rand.NewPCG(1, 2))
	d := &docState{id: "d"}
	for i := 0; i < n; i++ {
		ix.addSlot(d, "c", uint32(i), nil, storetest.RandomUnitVector(rng, dim, false), nil)
	}
	q := storetest.RandomUnitVector(rng, dim, false)
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "1worker", 2: "2workers"}[workers], func(b *testing.B) {
			b.SetBytes(n * dim * 4)
			for b.Loop() {
				if _, err := ix.searchVector(context.Background(), q, nil, 10, workers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
