package qdrant_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/local"
	"github.com/ragd/ragd/store/qdrant"
	"github.com/ragd/ragd/store/storetest"
)

// sciFactRun is the outcome of running SciFact's queries in lexical mode on
// Qdrant and on the local store.
type sciFactRun struct {
	qdrant, local storetest.Metrics
	mismatches    int           // queries whose top 10 differ (chunks or scores)
	perQuery      time.Duration // mean Search time on Qdrant
	batches       float64       // mean QueryBatch calls per Search (stand-in only)
	docs          int           // abstracts stored
	loaded        time.Duration // time to store the corpus in Qdrant
}

// runSciFact stores the first docs SciFact abstracts in Qdrant and in the
// local store (one chunk each, title and text, 100 chunks per stored
// document, as store/local's and store/postgres's evaluations do) and runs
// the first queries test queries, lexical, top 10, on both.
func runSciFact(tb testing.TB, docs, queries int) sciFactRun {
	tb.Helper()
	dir, err := storetest.EvalDir("../..", "scifact")
	if err != nil {
		tb.Fatal(err)
	}
	d, err := storetest.LoadDataset(dir)
	if err != nil {
		tb.Fatal(err)
	}
	d.Docs, d.Queries = d.Docs[:min(docs, len(d.Docs))], d.Queries[:min(queries, len(d.Queries))]
	b := newBackend(tb)
	qs := b.open(tb, qdrant.Options{})
	loc, err := local.Open(tb.TempDir(), local.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { loc.Close() })
	run := sciFactRun{docs: len(d.Docs)}
	start := time.Now()
	loadBatched(tb, qs, "scifact", d)
	run.loaded = time.Since(start)
	loadBatched(tb, loc, "scifact", d)

	ctx := context.Background()
	search := func(s storetest.Store, q storetest.DatasetQuery) ([]ragd.Hit, error) {
		return s.Search(ctx, ragd.SearchQuery{Collection: "scifact", Mode: ragd.ModeLexical, Text: q.Text, TopK: 10})
	}
	batchesBefore := 0
	if b.server != nil {
		batchesBefore = b.server.Calls()["/qdrant.Points/QueryBatch"]
	}
	var took time.Duration
	run.qdrant, err = d.Evaluate(func(q storetest.DatasetQuery) ([]string, error) {
		start := time.Now()
		hits, err := search(qs, q)
		took += time.Since(start)
		if err != nil {
			return nil, err
		}
		want, err := search(loc, q)
		if err != nil {
			return nil, err
		}
		same := len(hits) == len(want)
		for i := 0; same && i < len(want); i++ {
			same = hits[i].ChunkID == want[i].ChunkID && math.Abs(hits[i].Score-want[i].Score) <= 1e-9
		}
		if !same {
			run.mismatches++
			if run.mismatches <= 3 {
				tb.Errorf("query %s ranks differently from the local store:\n got  %v\n want %v", q.ID, topHits(hits), topHits(want))
			}
		}
		return chunkIDs(hits), nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	run.local, err = d.Evaluate(func(q storetest.DatasetQuery) ([]string, error) {
		hits, err := search(loc, q)
		return chunkIDs(hits), err
	})
	if err != nil {
		tb.Fatal(err)
	}
	run.qdrant.Description, run.local.Description = "scifact lexical (Qdrant)", "scifact lexical (local store)"
	run.perQuery = took / time.Duration(len(d.Queries))
	if b.server != nil {
		run.batches = float64(b.server.Calls()["/qdrant.Points/QueryBatch"]-batchesBefore) / float64(len(d.Queries))
	}
	return run
}

// TestSciFactMatchesLocal checks on real abstracts that lexical search in
// Qdrant ranks exactly as the local store does: query by query the same top
// 10 chunks with the same scores. It uses 500 of the 5,183 abstracts and 40
// queries; BenchmarkSciFactLexical runs all of it.
func TestSciFactMatchesLocal(t *testing.T) {
	run := runSciFact(t, 500, 40)
	t.Logf("%v; %v per query, %.1f query batches per search", run.qdrant, run.perQuery.Round(time.Microsecond), run.batches)
	if run.mismatches > 0 {
		t.Errorf("%d of %d queries ranked differently from the local store", run.mismatches, run.qdrant.Queries)
	}
}

// BenchmarkSciFactLexical stores all of SciFact (5,183 abstracts) in Qdrant
// (the stand-in unless RAGD_TEST_QDRANT_ADDR is set) and in the local store,
// runs the 300 test queries in lexical mode on both, and reports Qdrant's
// nDCG@10, the local store's, how many queries ranked differently, the mean
// search time and (on the stand-in) the query batches per search.
func BenchmarkSciFactLexical(b *testing.B) {
	var run sciFactRun
	for b.Loop() {
		run = runSciFact(b, math.MaxInt, math.MaxInt)
	}
	b.Logf("stored %d abstracts in Qdrant in %v", run.docs, run.loaded.Round(time.Millisecond))
	b.Logf("%v", run.qdrant)
	b.Logf("%v", run.local)
	b.ReportMetric(run.qdrant.NDCG10, "nDCG@10")
	b.ReportMetric(run.local.NDCG10, "local-nDCG@10")
	b.ReportMetric(float64(run.mismatches), "mismatched-queries")
	b.ReportMetric(float64(run.perQuery.Microseconds())/1000, "ms/search")
	b.ReportMetric(run.batches, "batches/search")
	if run.mismatches > 0 {
		b.Errorf("%d of %d queries ranked differently from the local store", run.mismatches, run.qdrant.Queries)
	}
	if run.qdrant.NDCG10 < 0.665 {
		b.Errorf("nDCG@10 = %.4f, want at least BEIR's BM25 figure 0.665", run.qdrant.NDCG10)
	}
}

// loadBatched stores a BEIR corpus in a lexical-only collection, one chunk
// per corpus document, 100 chunks per stored document.
func loadBatched(tb testing.TB, s storetest.Store, name string, d *storetest.Dataset) {
	tb.Helper()
	ctx := context.Background()
	if _, err := s.CreateCollection(ctx, ragd.Collection{Name: name}); err != nil {
		tb.Fatal(err)
	}
	for start := 0; start < len(d.Docs); start += 100 {
		doc := ragd.Document{ID: fmt.Sprintf("batch-%05d", start), Collection: name}
		var chunks []ragd.Chunk
		for i, bd := range d.Docs[start:min(start+100, len(d.Docs))] {
			text := bd.Content()
			chunks = append(chunks, ragd.Chunk{ID: bd.ID, DocumentID: doc.ID, Index: i, Text: text, End: len(text)})
		}
		if err := s.PutDocument(ctx, doc, chunks); err != nil {
			tb.Fatal(err)
		}
	}
}

// chunkIDs returns the hits' chunk IDs, nil for no hits.
func chunkIDs(hits []ragd.Hit) []string {
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.ChunkID)
	}
	return ids
}

func topHits(hits []ragd.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, fmt.Sprintf("%s:%.6f", h.ChunkID, h.Score))
	}
	return out
}
