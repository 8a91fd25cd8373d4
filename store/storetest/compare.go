package storetest

import (
	"fmt"
	"math"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ragd/ragd"
)

// CompareHits checks a store's result against the reference ranking of the
// same query: ranked is [Reference.Rank]'s complete list and topK the
// query's TopK. It returns nil when got holds the first topK hits of ranked
// in order, with the same fields and scores within ScoreTolerance. Hits
// with exactly equal reference scores must come in chunk ID order; hits
// whose scores differ by less than ScoreTolerance may come in either order
// (and, at the cut, either may be the one returned).
func CompareHits(got, ranked []ragd.Hit, topK int) error {
	want := min(topK, len(ranked))
	if len(got) != want {
		return fmt.Errorf("got %d hits, want %d\ngot:  %s\nwant: %s", len(got), want, hitIDs(got), hitIDs(ranked[:want]))
	}
	byID := make(map[string]ragd.Hit, len(ranked))
	for _, h := range ranked {
		byID[h.ChunkID] = h
	}
	for i := 0; i < want; {
		j := i + 1
		exact := true
		for j < len(ranked) && math.Abs(ranked[j].Score-ranked[j-1].Score) <= ScoreTolerance {
			if ranked[j].Score != ranked[j-1].Score {
				exact = false
			}
			j++
		}
		end := min(j, want)
		if exact {
			for k := i; k < end; k++ {
				if got[k].ChunkID != ranked[k].ChunkID {
					return fmt.Errorf("hit %d is %s, want %s (ties go by chunk ID)\ngot:  %s\nwant: %s", k, got[k].ChunkID, ranked[k].ChunkID, hitIDs(got), hitIDs(ranked[:want]))
				}
			}
		} else {
			group := map[string]bool{}
			for _, h := range ranked[i:j] {
				group[h.ChunkID] = true
			}
			for k := i; k < end; k++ {
				if !group[got[k].ChunkID] {
					return fmt.Errorf("hit %d is %s, want one of the near-tied %s\ngot:  %s\nwant: %s", k, got[k].ChunkID, hitIDs(ranked[i:j]), hitIDs(got), hitIDs(ranked[:want]))
				}
				delete(group, got[k].ChunkID)
			}
		}
		i = j
	}
	for k, g := range got {
		w := byID[g.ChunkID]
		if math.Abs(g.Score-w.Score) > ScoreTolerance {
			return fmt.Errorf("hit %d (%s) scores %.7f, want %.7f", k, g.ChunkID, g.Score, w.Score)
		}
		g.Score = w.Score
		if diff := cmp.Diff(w, g, cmpopts.EquateEmpty()); diff != "" {
			return fmt.Errorf("hit %d (%s) differs (-want +got):\n%s", k, g.ChunkID, diff)
		}
	}
	return nil
}

func hitIDs(hits []ragd.Hit) string {
	parts := make([]string, len(hits))
	for i, h := range hits {
		parts[i] = fmt.Sprintf("%s(%.5f)", h.ChunkID, h.Score)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
