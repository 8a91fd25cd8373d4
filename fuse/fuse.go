// Package fuse combines and orders search results: reciprocal rank fusion
// of ranked hit lists, and the ordering every store returns hits in (score
// descending, then chunk ID ascending).
package fuse

import (
	"cmp"
	"slices"

	"github.com/ragd/ragd"
)

// RRF fuses ranked lists by reciprocal rank: a chunk's score is the sum,
// over the lists it appears in, of 1 / (ragd.RRFK + rank), with ranks from
// 1. A chunk listed twice in one list counts at its best rank. Each hit is
// taken from the first list it appears in, with Score replaced by the fused
// score. The result is ordered by [Compare]; it is never nil.
func RRF(lists ...[]ragd.Hit) []ragd.Hit {
	return RRFWith(ragd.RRFK, lists...)
}

// RRFWith is [RRF] with another constant k.
func RRFWith(k int, lists ...[]ragd.Hit) []ragd.Hit {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	index := make(map[string]int, n)
	out := make([]ragd.Hit, 0, n)
	for _, l := range lists {
		seen := make(map[string]bool, len(l))
		for i, h := range l {
			if seen[h.ChunkID] {
				continue
			}
			seen[h.ChunkID] = true
			s := 1 / float64(k+i+1)
			if j, ok := index[h.ChunkID]; ok {
				out[j].Score += s
				continue
			}
			index[h.ChunkID] = len(out)
			h.Score = s
			out = append(out, h)
		}
	}
	Sort(out)
	return out
}

// Compare orders hits best first: by score descending, then by chunk ID
// ascending. It is the order of every store's results.
func Compare(a, b ragd.Hit) int {
	if a.Score != b.Score {
		if a.Score > b.Score {
			return -1
		}
		return 1
	}
	return cmp.Compare(a.ChunkID, b.ChunkID)
}

// Sort orders hits by [Compare].
func Sort(hits []ragd.Hit) {
	slices.SortFunc(hits, Compare)
}

// Cut drops the hits scoring below minScore and keeps the first topK of
// the rest (all of them when topK <= 0). hits must already be sorted.
func Cut(hits []ragd.Hit, topK int, minScore float64) []ragd.Hit {
	n := 0
	for n < len(hits) && hits[n].Score >= minScore {
		n++
	}
	if topK > 0 && n > topK {
		n = topK
	}
	return hits[:n]
}
