package postgres_test

import (
	"testing"

	"github.com/ragd/ragd"
)

func TestSmoke(t *testing.T) {
	db := mustOpenDB(t, postgresOptions())
	ctx := testContext(t)
	c, err := db.CreateCollection(ctx, ragd.Collection{Name: "docs", Embedder: "e", Dimension: 3, Chunking: ragd.Chunking{MaxTokens: 300, OverlapTokens: 45}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", c)
	err = db.PutDocument(ctx, ragd.Document{ID: "d1", Collection: "docs", Title: "T", Metadata: map[string]any{"a": "x\x00y", "n": 3}},
		[]ragd.Chunk{
			{ID: "d1#0", Index: 0, Text: "the quick brown fox", Headings: []string{"H"}, Vector: []float32{1, 0, 0}, Metadata: map[string]any{"page": 1}},
			{ID: "d1#1", Index: 1, Text: "jumps over the lazy dog fox", Vector: []float32{0, 1, 0}, Metadata: map[string]any{"page": 2}},
		})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Chunks(ctx, "docs", "d1")
	t.Logf("%+v %v", got, err)
	d, err := db.Document(ctx, "docs", "d1")
	t.Logf("%+v %v", d, err)
	c, err = db.Collection(ctx, "docs")
	t.Logf("%+v %v", c, err)
	for _, mode := range []string{ragd.ModeVector, ragd.ModeLexical, ragd.ModeHybrid} {
		hits, err := db.Search(ctx, ragd.SearchQuery{Collection: "docs", Mode: mode, Text: "fox dog", Vector: []float32{0.1, 1, 0}, TopK: 5})
		t.Logf("%s %+v %v", mode, hits, err)
		hits, err = db.Search(ctx, ragd.SearchQuery{Collection: "docs", Mode: mode, Text: "fox dog", Vector: []float32{0.1, 1, 0}, TopK: 5, Filter: &ragd.Filter{Op: ragd.OpEq, Key: "page", Values: []any{1.0}}})
		t.Logf("%s filtered %+v %v", mode, hits, err)
	}
	if err := db.DeleteDocument(ctx, "docs", "d1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteCollection(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
}
