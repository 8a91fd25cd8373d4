package postgres_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/local"
	"github.com/ragd/ragd/store/postgres"
	"github.com/ragd/ragd/store/storetest"
)

// loadDataset stores a BEIR corpus in a lexical-only collection of s, one
// chunk per corpus document (title, newline, text), 100 chunks per stored
// document to keep the number of transactions down (as store/local's
// evaluation does).
func loadDataset(tb testing.TB, s storetest.Store, name string, d *storetest.Dataset) {
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

func loadSciFact(tb testing.TB) *storetest.Dataset {
	tb.Helper()
	dir, err := storetest.EvalDir("../..", "scifact")
	if err != nil {
		tb.Fatal(err)
	}
	d, err := storetest.LoadDataset(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// TestSciFactLexical: lexical search on Postgres reaches BEIR's BM25 figure
// on SciFact (nDCG@10 >= 0.665) and ranks exactly as the local store does:
// query by query the same top 10 with the same scores, so the same nDCG@10.
func TestSciFactLexical(t *testing.T) {
	db := mustOpenDB(t, postgres.Options{})
	d := loadSciFact(t)
	start := time.Now()
	loadDataset(t, db, "scifact", d)
	t.Logf("loaded %d SciFact documents into Postgres in %v", len(d.Docs), time.Since(start).Round(time.Millisecond))
	// PGlite runs no autovacuum, which on a real server analyzes the tables
	// after such a load; without statistics the planner guesses badly.
	if _, err := db.Pool().Exec(context.Background(), `ANALYZE `+db.Schema()+`.postings, `+db.Schema()+`.chunks, `+db.Schema()+`.documents`); err != nil {
		t.Fatal(err)
	}
	loc, err := local.Open(t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	loadDataset(t, loc, "scifact", d)

	ctx := context.Background()
	search := func(s storetest.Store, q storetest.DatasetQuery) ([]ragd.Hit, error) {
		return s.Search(ctx, ragd.SearchQuery{Collection: "scifact", Mode: ragd.ModeLexical, Text: q.Text, TopK: 100})
	}
	mismatches := 0
	var took time.Duration
	pg, err := d.Evaluate(func(q storetest.DatasetQuery) ([]string, error) {
		start := time.Now()
		hits, err := search(db, q)
		took += time.Since(start)
		if err != nil {
			return nil, err
		}
		want, err := search(loc, q)
		if err != nil {
			return nil, err
		}
		for i := range min(10, len(want)) {
			if i >= len(hits) || hits[i].ChunkID != want[i].ChunkID || math.Abs(hits[i].Score-want[i].Score) > 1e-9 {
				mismatches++
				if mismatches <= 3 {
					t.Errorf("query %s: rank %d differs from the local store's:\n got  %v\n want %v", q.ID, i+1, top(hits, 10), top(want, 10))
				}
				break
			}
		}
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.ChunkID
		}
		return ids, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pg.Description = "scifact lexical (Postgres)"
	lm, err := d.Evaluate(func(q storetest.DatasetQuery) ([]string, error) {
		hits, err := search(loc, q)
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.ChunkID
		}
		return ids, err
	})
	if err != nil {
		t.Fatal(err)
	}
	lm.Description = "scifact lexical (local store)"
	t.Logf("%v (%v per query on PGlite, on average)", pg, (took / time.Duration(pg.Queries)).Round(time.Microsecond))
	t.Logf("%v", lm)
	if pg.NDCG10 < 0.665 {
		t.Errorf("nDCG@10 = %.4f, want at least 0.665", pg.NDCG10)
	}
	if math.Abs(pg.NDCG10-lm.NDCG10) > 0.01 {
		t.Errorf("nDCG@10 = %.4f on Postgres, %.4f on the local store: want within 0.01", pg.NDCG10, lm.NDCG10)
	}
	if mismatches > 0 {
		t.Errorf("%d of %d queries ranked differently from the local store", mismatches, pg.Queries)
	}
}

func top(hits []ragd.Hit, k int) []string {
	var out []string
	for i := range min(k, len(hits)) {
		out = append(out, fmt.Sprintf("%s:%.6f", hits[i].ChunkID, hits[i].Score))
	}
	return out
}
