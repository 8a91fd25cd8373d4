package qdrant_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/lexical"
	"github.com/ragd/ragd/store/qdrant"
	"github.com/ragd/ragd/store/storetest"
)

// bm25Index is a brute-force BM25 over a corpus, written out from package
// lexical's definition, to check the store's ranking against.
type bm25Index struct {
	ids  []string
	tfs  []map[string]int
	lens []int
	df   map[string]int
	avg  float64
}

func newBM25Index(ids, texts []string) *bm25Index {
	x := &bm25Index{ids: ids, df: map[string]int{}}
	total := 0
	for _, text := range texts {
		tf := map[string]int{}
		terms := lexical.Terms(text)
		for _, t := range terms {
			tf[t]++
		}
		for t := range tf {
			x.df[t]++
		}
		x.tfs = append(x.tfs, tf)
		x.lens = append(x.lens, len(terms))
		total += len(terms)
	}
	x.avg = float64(total) / float64(len(texts))
	return x
}

type idScore struct {
	ID    string
	Score float64
}

func (x *bm25Index) rank(query string, k int) []idScore {
	var out []idScore
	terms := lexical.QueryTerms(query)
	for i, tf := range x.tfs {
		var score float64
		found := false
		for _, t := range terms {
			if tf[t] > 0 {
				score += lexical.Score(tf[t], x.lens[i], x.avg, x.df[t], len(x.tfs))
				found = true
			}
		}
		if found {
			out = append(out, idScore{x.ids[i], score})
		}
	}
	slices.SortFunc(out, func(a, b idScore) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out[:min(k, len(out))]
}

// loadSciFact indexes the first n SciFact abstracts, one chunk each (title
// and text, as BEIR's flat BM25 runs index them), and returns the data set
// and a brute-force index of the same documents.
func loadSciFact(tb testing.TB, s *qdrant.Store, n int) (*storetest.Dataset, *bm25Index) {
	tb.Helper()
	dir, err := storetest.EvalDir("../..", "scifact")
	if err != nil {
		tb.Fatal(err)
	}
	ds, err := storetest.LoadDataset(dir)
	if err != nil {
		tb.Fatal(err)
	}
	docs := ds.Docs[:min(n, len(ds.Docs))]
	if _, err := s.CreateCollection(context.Background(), ragd.Collection{Name: "scifact"}); err != nil {
		tb.Fatal(err)
	}
	var ids, texts []string
	for _, d := range docs {
		text := d.Content()
		mustPut(tb, s, ragd.Document{ID: d.ID, Collection: "scifact", Title: d.Title},
			[]ragd.Chunk{{ID: d.ID, Text: text, End: len(text)}})
		ids, texts = append(ids, d.ID), append(texts, text)
	}
	return ds, newBM25Index(ids, texts)
}

// TestSciFactLexicalExact checks, on real abstracts, that the store's
// lexical ranking and scores are brute-force BM25's (part of SciFact by
// default; BenchmarkSciFactLexical runs all of it).
func TestSciFactLexicalExact(t *testing.T) {
	b := newBackend(t)
	s := b.open(t, qdrant.Options{})
	ds, idx := loadSciFact(t, s, 600)
	for _, q := range ds.Queries[:40] {
		want := idx.rank(q.Text, 10)
		hits, err := s.Search(context.Background(), ragd.SearchQuery{Collection: "scifact", Mode: ragd.ModeLexical, Text: q.Text, TopK: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []idScore
		for _, h := range hits {
			got = append(got, idScore{h.DocumentID, h.Score})
		}
		if len(got) != len(want) {
			t.Fatalf("query %s: %d hits, want %d", q.ID, len(got), len(want))
		}
		for i := range want {
			if got[i].ID != want[i].ID || math.Abs(got[i].Score-want[i].Score) > 1e-9 {
				t.Errorf("query %s %q: hit %d is %v, want %v", q.ID, q.Text, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkSciFactLexical indexes all of SciFact in the store (on the
// stand-in unless RAGD_TEST_QDRANT_ADDR is set), runs the 300 test queries
// in lexical mode and reports nDCG@10 and how many queries matched
// brute-force BM25 exactly.
func BenchmarkSciFactLexical(b *testing.B) {
	be := newBackend(b)
	s := be.open(b, qdrant.Options{})
	start := time.Now()
	ds, idx := loadSciFact(b, s, math.MaxInt)
	b.Logf("indexed %d abstracts in %v", len(ds.Docs), time.Since(start).Round(time.Millisecond))
	b.ResetTimer()
	var ndcg float64
	exact := 0
	for b.Loop() {
		ndcg, exact = 0, 0
		for _, q := range ds.Queries {
			hits, err := s.Search(context.Background(), ragd.SearchQuery{Collection: "scifact", Mode: ragd.ModeLexical, Text: q.Text, TopK: 10})
			if err != nil {
				b.Fatal(err)
			}
			var ranked []string
			for _, h := range hits {
				ranked = append(ranked, h.DocumentID)
			}
			ndcg += storetest.NDCG(10, ranked, ds.Qrels[q.ID])
			want := idx.rank(q.Text, 10)
			same := len(want) == len(hits)
			for i := 0; same && i < len(want); i++ {
				same = want[i].ID == hits[i].DocumentID && math.Abs(want[i].Score-hits[i].Score) < 1e-9
			}
			if same {
				exact++
			}
		}
	}
	b.ReportMetric(ndcg/float64(len(ds.Queries)), "nDCG@10")
	b.ReportMetric(float64(exact), "exact-queries")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(ds.Queries)), "µs/query")
}
