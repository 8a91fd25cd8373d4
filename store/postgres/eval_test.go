package postgres_test

import (
	"context"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/lexical"
	"github.com/ragd/ragd/store/postgres"
	"github.com/ragd/ragd/store/storetest"
)

// loadSciFact puts every SciFact document into a lexical-only collection as
// one chunk (title, newline, text), as BEIR's flat BM25 runs index it.
func loadSciFact(tb testing.TB, db *postgres.DB, d *storetest.Dataset) {
	tb.Helper()
	ctx := context.Background()
	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: "scifact", Chunking: ragd.Chunking{MaxTokens: 300}}); err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, doc := range d.Docs {
		g.Go(func() error {
			text := doc.Content()
			return db.PutDocument(ctx, ragd.Document{ID: doc.ID, Collection: "scifact", Title: doc.Title},
				[]ragd.Chunk{{ID: doc.ID, Text: text, End: len(text)}})
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("loaded %d SciFact documents in %v", len(d.Docs), time.Since(start).Round(time.Millisecond))
	// PGlite runs no autovacuum, which on a real server would analyze the
	// tables after such a load.
	if _, err := db.Pool().Exec(context.Background(), `ANALYZE `+db.Schema()+`.postings, `+db.Schema()+`.chunks, `+db.Schema()+`.documents`); err != nil {
		tb.Fatal(err)
	}
}

// referenceBM25 ranks SciFact in memory with lexical.Terms and
// lexical.Score, as the local store and the conformance suite's reference
// ranker do.
type referenceBM25 struct {
	ids      []string
	lens     []int
	avg      float64
	postings map[string]map[int]int
}

func newReferenceBM25(docs []storetest.DatasetDoc) *referenceBM25 {
	r := &referenceBM25{postings: map[string]map[int]int{}}
	total := 0
	for i, d := range docs {
		terms := lexical.Terms(d.Content())
		for _, t := range terms {
			if r.postings[t] == nil {
				r.postings[t] = map[int]int{}
			}
			r.postings[t][i]++
		}
		r.ids = append(r.ids, d.ID)
		r.lens = append(r.lens, len(terms))
		total += len(terms)
	}
	r.avg = float64(total) / float64(len(docs))
	return r
}

func (r *referenceBM25) search(query string, k int) ([]string, []float64) {
	scores := map[int]float64{}
	for _, t := range lexical.QueryTerms(query) {
		for doc, tf := range r.postings[t] {
			scores[doc] += lexical.Score(tf, r.lens[doc], r.avg, len(r.postings[t]), len(r.ids))
		}
	}
	docs := make([]int, 0, len(scores))
	for d := range scores {
		docs = append(docs, d)
	}
	sort.Slice(docs, func(i, j int) bool {
		a, b := docs[i], docs[j]
		if scores[a] != scores[b] {
			return scores[a] > scores[b]
		}
		return r.ids[a] < r.ids[b]
	})
	docs = docs[:min(k, len(docs))]
	ids := make([]string, len(docs))
	ss := make([]float64, len(docs))
	for i, d := range docs {
		ids[i], ss[i] = r.ids[d], scores[d]
	}
	return ids, ss
}

// TestSciFactLexical: lexical search on Postgres reaches BEIR's BM25 figure
// on SciFact (nDCG@10 >= 0.665) and ranks as the in-memory BM25 of every
// other store does: the same nDCG@10 (within 0.01) and, query by query,
// the same top 10 with the same scores.
func TestSciFactLexical(t *testing.T) {
	db := mustOpenDB(t, postgres.Options{})
	dir, err := storetest.EvalDir("../..", "scifact")
	if err != nil {
		t.Fatal(err)
	}
	d, err := storetest.LoadDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	loadSciFact(t, db, d)
	ref := newReferenceBM25(d.Docs)
	ctx := context.Background()

	mismatches := 0
	start := time.Now()
	pg, err := d.Evaluate(func(q storetest.DatasetQuery) ([]string, error) {
		hits, err := db.Search(ctx, ragd.SearchQuery{Collection: "scifact", Mode: ragd.ModeLexical, Text: q.Text, TopK: 100})
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.DocumentID
		}
		wantIDs, wantScores := ref.search(q.Text, 10)
		for i := range min(10, len(wantIDs)) {
			if i >= len(hits) || hits[i].DocumentID != wantIDs[i] || math.Abs(hits[i].Score-wantScores[i]) > 1e-9 {
				mismatches++
				if mismatches <= 3 {
					t.Errorf("query %s: rank %d differs from the reference: got %v, want %v", q.ID, i+1, topIDs(hits, 10), wantIDs)
				}
				break
			}
		}
		return ids, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	pg.Description = "scifact BM25 on Postgres"
	refM, err := d.Evaluate(func(q storetest.DatasetQuery) ([]string, error) {
		ids, _ := ref.search(q.Text, 100)
		return ids, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	refM.Description = "scifact BM25 in memory"
	t.Logf("%v (%d queries in %v)", pg, pg.Queries, took.Round(time.Millisecond))
	t.Logf("%v", refM)
	if pg.NDCG10 < 0.665 {
		t.Errorf("nDCG@10 = %.4f, want at least 0.665", pg.NDCG10)
	}
	if math.Abs(pg.NDCG10-refM.NDCG10) > 0.01 {
		t.Errorf("nDCG@10 = %.4f on Postgres, %.4f in memory: want within 0.01", pg.NDCG10, refM.NDCG10)
	}
	if mismatches > 0 {
		t.Errorf("%d of %d queries ranked differently from the reference", mismatches, pg.Queries)
	}
}

func topIDs(hits []ragd.Hit, k int) []string {
	var out []string
	for i := range min(k, len(hits)) {
		out = append(out, fmt.Sprintf("%s", hits[i].DocumentID))
	}
	return out
}
