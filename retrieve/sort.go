package retrieve

import (
	"cmp"
	"slices"

	"github.com/ragd/ragd"
)

// sortHits orders hits best first, ties by chunk ID.
func sortHits(hits []ragd.Hit) {
	slices.SortStableFunc(hits, func(a, b ragd.Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ChunkID, b.ChunkID)
	})
}
