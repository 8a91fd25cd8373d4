package beir_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/ragd/ragd/beir"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestMeasures(t *testing.T) {
	rels := map[string]int{"a": 1, "b": 2, "z": 0}
	ranked := []string{"x", "b", "y", "a"}
	// DCG = 2/log2(3) + 1/log2(5); IDCG = 2/log2(2) + 1/log2(3).
	want := (2/math.Log2(3) + 1/math.Log2(5)) / (2 + 1/math.Log2(3))
	if got := beir.NDCG(ranked, rels, 10); !near(got, want) {
		t.Errorf("NDCG = %v, want %v", got, want)
	}
	if got := beir.NDCG(ranked, rels, 1); got != 0 {
		t.Errorf("NDCG@1 = %v, want 0", got)
	}
	if got := beir.Recall(ranked, rels, 2); !near(got, 0.5) {
		t.Errorf("Recall@2 = %v", got)
	}
	if got := beir.Recall(ranked, rels, 100); !near(got, 1) {
		t.Errorf("Recall@100 = %v", got)
	}
	if got := beir.MRR(ranked, rels, 10); !near(got, 0.5) {
		t.Errorf("MRR = %v", got)
	}
	if got := beir.MRR(ranked, rels, 1); got != 0 {
		t.Errorf("MRR@1 = %v", got)
	}
	var s beir.Scores
	s.Add(ranked, rels)
	s.Add([]string{"a", "b"}, rels)
	if m := s.Mean(); m.Queries != 2 || !near(m.MRR10, 0.75) {
		t.Errorf("mean = %+v", m)
	}
}

func TestLoadSciFact(t *testing.T) {
	d, err := beir.Load(filepath.Join("..", "..", "shared", "eval", "scifact"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Corpus) != 5183 || len(d.Queries) != 300 || d.Name != "scifact" {
		t.Errorf("loaded %d docs, %d queries, name %q", len(d.Corpus), len(d.Queries), d.Name)
	}
}
