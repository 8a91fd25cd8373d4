package storetest_test

import (
	"math"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/lexical"
	"github.com/ragd/ragd/store/storetest"
)

func hit(id string, score float64) ragd.Hit { return ragd.Hit{ChunkID: id, Score: score} }

func TestCompareHits(t *testing.T) {
	ranked := []ragd.Hit{hit("a", 0.9), hit("b", 0.5), hit("c", 0.5), hit("d", 0.3+4e-6), hit("e", 0.3), hit("f", 0.1)}
	for _, tc := range []struct {
		name string
		got  []ragd.Hit
		topK int
		ok   bool
	}{
		{"exact", ranked, 10, true},
		{"cut", ranked[:2], 2, true},
		{"too few", ranked[:2], 3, false},
		{"exact tie out of ID order", []ragd.Hit{hit("a", 0.9), hit("c", 0.5), hit("b", 0.5)}, 3, false},
		{"exact tie cut takes the lower ID", []ragd.Hit{hit("a", 0.9), hit("c", 0.5)}, 2, false},
		{"near tie either order", []ragd.Hit{hit("a", 0.9), hit("b", 0.5), hit("c", 0.5), hit("e", 0.3), hit("d", 0.3+4e-6)}, 5, true},
		{"near tie at the cut", []ragd.Hit{hit("a", 0.9), hit("b", 0.5), hit("c", 0.5), hit("e", 0.3)}, 4, true},
		{"wrong order", []ragd.Hit{hit("b", 0.5), hit("a", 0.9)}, 2, false},
		{"score off", []ragd.Hit{hit("a", 0.9+2e-5)}, 1, false},
		{"score within tolerance", []ragd.Hit{hit("a", 0.9+5e-6)}, 1, true},
		{"field differs", []ragd.Hit{{ChunkID: "a", Score: 0.9, Text: "x"}}, 1, false},
	} {
		err := storetest.CompareHits(tc.got, ranked, tc.topK)
		if (err == nil) != tc.ok {
			t.Errorf("%s: CompareHits = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestReferenceLexical(t *testing.T) {
	c := ragd.Collection{Name: "c", Dimension: 2}
	ref := storetest.NewReference(c)
	ref.Put(ragd.Document{ID: "d1", Title: "T1"}, []ragd.Chunk{
		{ID: "x", Text: "cells divide and cells grow", Vector: []float32{1, 0}},
		{ID: "y", Index: 1, Text: "proteins fold", Headings: []string{"Cells"}, Vector: []float32{0, 1}},
	})
	ref.Put(ragd.Document{ID: "d2", Title: "T2"}, []ragd.Chunk{{ID: "z", Text: "nothing here"}})
	hits, err := ref.Search(ragd.SearchQuery{Mode: ragd.ModeLexical, Text: "cell", TopK: 10})
	if err != nil {
		t.Fatal(err)
	}
	// N = 3 chunks, lengths 4, 3, 2 (nothing, here), avg 3; cell in 2.
	avg := 3.0
	want := []ragd.Hit{
		{ChunkID: "x", DocumentID: "d1", Title: "T1", Text: "cells divide and cells grow", Score: lexical.Score(2, 4, avg, 2, 3)},
		{ChunkID: "y", DocumentID: "d1", Title: "T1", Text: "proteins fold", Headings: []string{"Cells"}, Score: lexical.Score(1, 3, avg, 2, 3)},
	}
	if err := storetest.CompareHits(hits, want, 10); err != nil {
		t.Error(err)
	}
	// Hybrid: x is first in both lists.
	hits, _ = ref.Search(ragd.SearchQuery{Mode: ragd.ModeHybrid, Text: "cell", Vector: []float32{1, 0}, TopK: 1})
	if len(hits) != 1 || hits[0].ChunkID != "x" || math.Abs(hits[0].Score-2.0/61) > 1e-12 {
		t.Errorf("hybrid = %+v", hits)
	}
	if _, err := ref.Search(ragd.SearchQuery{Mode: ragd.ModeVector, Vector: []float32{1}, TopK: 1}); ragd.ErrorCode(err) != ragd.EInvalid {
		t.Errorf("wrong dimension: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	rels := map[string]int{"a": 2, "b": 1}
	// DCG = 1/log2(3) (b at rank 2) + 2/log2(4) (a at rank 3); IDCG = 2 + 1/log2(3).
	got := storetest.NDCG(10, []string{"x", "b", "a"}, rels)
	want := (1/math.Log2(3) + 2.0/2) / (2 + 1/math.Log2(3))
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("NDCG = %v, want %v", got, want)
	}
	if got := storetest.Recall(2, []string{"x", "b", "a"}, rels); got != 0.5 {
		t.Errorf("Recall@2 = %v, want 0.5", got)
	}
	if got := storetest.MRR(10, []string{"x", "b"}, rels); got != 0.5 {
		t.Errorf("MRR = %v, want 0.5", got)
	}
	if got := storetest.NDCG(1, []string{"a"}, rels); got != 1 {
		t.Errorf("NDCG@1 of the best = %v", got)
	}
}

func TestEvalDirMissing(t *testing.T) {
	_, err := storetest.EvalDir(t.TempDir(), "nope")
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("EvalDir of a missing set: %v", err)
	}
}
