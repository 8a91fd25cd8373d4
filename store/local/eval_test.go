package local_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/local"
	"github.com/ragd/ragd/store/storetest"
)

// loadDataset stores a BEIR corpus in a lexical-only collection, one chunk
// per corpus document (title, newline, text), 100 chunks per stored
// document to keep the number of commits down.
func loadDataset(t testing.TB, db *local.DB, name string) *storetest.Dataset {
	t.Helper()
	dir, err := storetest.EvalDir("../..", name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := storetest.LoadDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: name}); err != nil {
		t.Fatal(err)
	}
	for start := 0; start < len(d.Docs); start += 100 {
		doc := ragd.Document{ID: fmt.Sprintf("batch-%05d", start), Collection: name}
		var chunks []ragd.Chunk
		for i, bd := range d.Docs[start:min(start+100, len(d.Docs))] {
			chunks = append(chunks, ragd.Chunk{ID: bd.ID, DocumentID: doc.ID, Index: i, Text: bd.Content()})
		}
		if err := db.PutDocument(ctx, doc, chunks); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// TestEvalLexical runs BM25 through the store on SciFact and SQuAD: the
// store must reach the same figures as package lexical's evaluation. Under
// the race detector it runs every eighth SQuAD query only.
func TestEvalLexical(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	for _, tc := range []struct {
		name string
		min  float64
	}{{"scifact", 0.665}, {"squad", 0.85}} {
		d := loadDataset(t, db, tc.name)
		if raceEnabled && len(d.Queries) > 1000 {
			var some []storetest.DatasetQuery
			for i := 0; i < len(d.Queries); i += 8 {
				some = append(some, d.Queries[i])
			}
			d.Queries = some
		}
		m, err := d.Evaluate(func(q storetest.DatasetQuery) ([]string, error) {
			hits, err := db.Search(context.Background(), ragd.SearchQuery{Collection: tc.name, Mode: ragd.ModeLexical, Text: q.Text, TopK: 100})
			if err != nil {
				return nil, err
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
		m.Description = tc.name + " lexical (local store)"
		t.Logf("%v", m)
		if m.NDCG10 < tc.min {
			t.Errorf("%s nDCG@10 = %.4f, want at least %.3f", tc.name, m.NDCG10, tc.min)
		}
	}
}
