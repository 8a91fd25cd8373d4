package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/postgres"
	"github.com/ragd/ragd/store/postgres/pgtest"
)

func mustCreate(tb testing.TB, db *postgres.DB, name string, dim int) {
	tb.Helper()
	_, err := db.CreateCollection(context.Background(), ragd.Collection{Name: name, Embedder: "test", Dimension: dim, Chunking: ragd.Chunking{MaxTokens: 300, OverlapTokens: 45}})
	if err != nil {
		tb.Fatalf("CreateCollection(%s): %v", name, err)
	}
}

func unit(dim, i int) []float32 {
	v := make([]float32, dim)
	v[i%dim] = 1
	return v
}

// TestDimensionMismatch: a vector of the wrong dimension is EInvalid, on
// write and on search, before any SQL runs, and nothing is written.
func TestDimensionMismatch(t *testing.T) {
	db := mustOpenDB(t, postgres.Options{})
	ctx := testContext(t)
	mustCreate(t, db, "c384", 384)
	mustCreate(t, db, "lexonly", 0)

	for _, tc := range []struct {
		coll   string
		chunks []ragd.Chunk
	}{
		{"c384", []ragd.Chunk{{ID: "a", Text: "x", Vector: unit(768, 0)}}},
		{"c384", []ragd.Chunk{{ID: "a", Text: "x", Vector: unit(384, 0)}, {ID: "b", Text: "y", Vector: unit(383, 0)}}},
		{"lexonly", []ragd.Chunk{{ID: "a", Text: "x", Vector: unit(4, 0)}}},
	} {
		err := db.PutDocument(ctx, ragd.Document{ID: "d", Collection: tc.coll}, tc.chunks)
		if code := ragd.ErrorCode(err); code != ragd.EInvalid {
			t.Errorf("PutDocument into %s with vectors of %d dimensions: %v (code %q), want %s", tc.coll, len(tc.chunks[len(tc.chunks)-1].Vector), err, code, ragd.EInvalid)
		}
		if strings.Contains(err.Error(), "SQLSTATE") {
			t.Errorf("dimension mismatch reached the database: %v", err)
		}
		if _, err := db.Document(ctx, tc.coll, "d"); ragd.ErrorCode(err) != ragd.ENotFound {
			t.Errorf("after a refused PutDocument into %s, Document = %v, want not found", tc.coll, err)
		}
	}
	for _, q := range []ragd.SearchQuery{
		{Collection: "c384", Mode: ragd.ModeVector, Vector: unit(768, 0), TopK: 5},
		{Collection: "c384", Mode: ragd.ModeHybrid, Text: "x", Vector: unit(768, 0), TopK: 5},
		{Collection: "lexonly", Mode: ragd.ModeVector, Vector: unit(4, 0), TopK: 5},
	} {
		_, err := db.Search(ctx, q)
		if code := ragd.ErrorCode(err); code != ragd.EInvalid {
			t.Errorf("%s search in %s with a %d-d vector: %v (code %q), want %s", q.Mode, q.Collection, len(q.Vector), err, code, ragd.EInvalid)
		}
	}
	if c, err := db.Collection(ctx, "c384"); err != nil || c.DocumentCount != 0 || c.ChunkCount != 0 {
		t.Errorf("Collection(c384) = %+v, %v; want no documents", c, err)
	}
}

// TestNULStoredCleanly: NUL bytes and invalid UTF-8, which PostgreSQL
// refuses in text and jsonb (SQLSTATE 22021, 22P05), are removed from
// text, titles, headings and metadata at any depth, and the write succeeds
// (RELIABILITY.md H-8).
func TestNULStoredCleanly(t *testing.T) {
	db := mustOpenDB(t, postgres.Options{})
	ctx := testContext(t)
	mustCreate(t, db, "c", 2)
	doc := ragd.Document{
		ID: "d", Collection: "c", Title: "Ti\x00tle", Source: "a\x00.txt", ContentType: "text/plain",
		Metadata: map[string]any{"k\x00ey": "va\x00lue", "nested": map[string]any{"list": []any{"x\x00y", 1.5, "bad \xff utf8"}}},
	}
	chunks := []ragd.Chunk{{
		ID: "c0", Text: "alpha\x00beta gamma \xfe", Headings: []string{"Head\x00ing"}, Vector: []float32{1, 0},
		Metadata: map[string]any{"tag": "a\x00b", "u": "\u0000"},
	}}
	if err := db.PutDocument(ctx, doc, chunks); err != nil {
		t.Fatalf("PutDocument with NUL and invalid UTF-8: %v", err)
	}
	got, err := db.Document(ctx, "c", "d")
	if err != nil {
		t.Fatal(err)
	}
	wantMeta := map[string]any{"key": "value", "nested": map[string]any{"list": []any{"xy", 1.5, "bad \uFFFD utf8"}}}
	if got.Title != "Title" || got.Source != "a.txt" {
		t.Errorf("title, source = %q, %q; want %q, %q", got.Title, got.Source, "Title", "a.txt")
	}
	if diff := cmp.Diff(wantMeta, got.Metadata); diff != "" {
		t.Errorf("document metadata (-want +got):\n%s", diff)
	}
	cs, err := db.Chunks(ctx, "c", "d")
	if err != nil || len(cs) != 1 {
		t.Fatalf("Chunks = %v, %v", cs, err)
	}
	if cs[0].Text != "alphabeta gamma \uFFFD" || cs[0].Headings[0] != "Heading" {
		t.Errorf("chunk text, headings = %q, %q", cs[0].Text, cs[0].Headings)
	}
	if diff := cmp.Diff(map[string]any{"tag": "ab", "u": ""}, cs[0].Metadata); diff != "" {
		t.Errorf("chunk metadata (-want +got):\n%s", diff)
	}
	// Lexical terms come from the text as given, like every store: the NUL
	// separated "alpha" from "beta".
	hits, err := db.Search(ctx, ragd.SearchQuery{Collection: "c", Mode: ragd.ModeLexical, Text: "beta", TopK: 1,
		Filter: &ragd.Filter{Op: ragd.OpEq, Key: "tag", Values: []any{"a\x00b"}}})
	if err != nil || len(hits) != 1 {
		t.Errorf("lexical search for a term after a NUL, filtered on a value with NUL: %v, %v; want the chunk", hits, err)
	}
}

// TestTwoHandles: two stores on one database (as two ragd processes) see
// each other's writes at once, including collections and their indexes.
func TestTwoHandles(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
	var a, b *postgres.DB
	var wg sync.WaitGroup
	wg.Add(2)
	// Opened at the same time, both applying migrations.
	go func() { defer wg.Done(); a = mustOpenDB(t, postgres.Options{Schema: schema}) }()
	go func() { defer wg.Done(); b = mustOpenDB(t, postgres.Options{Schema: schema}) }()
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}
	ctx := testContext(t)

	mustCreate(t, a, "shared", 3)
	if _, err := b.CreateCollection(ctx, ragd.Collection{Name: "shared", Dimension: 3}); ragd.ErrorCode(err) != ragd.EConflict {
		t.Errorf("creating the same collection through the other handle: %v, want %s", err, ragd.EConflict)
	}
	for i, db := range []*postgres.DB{a, b} {
		err := db.PutDocument(ctx, ragd.Document{ID: fmt.Sprintf("doc-%d", i), Collection: "shared", Title: fmt.Sprint(i)},
			[]ragd.Chunk{{ID: fmt.Sprintf("doc-%d#0", i), Text: fmt.Sprintf("written by handle %d", i), Vector: unit(3, i)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, db := range []*postgres.DB{a, b} {
		c, err := db.Collection(ctx, "shared")
		if err != nil || c.DocumentCount != 2 || c.ChunkCount != 2 {
			t.Errorf("handle %d: Collection = %+v, %v; want 2 documents, 2 chunks", i, c, err)
		}
		for j := range 2 {
			hits, err := db.Search(ctx, ragd.SearchQuery{Collection: "shared", Mode: ragd.ModeVector, Vector: unit(3, j), TopK: 1})
			if err != nil || len(hits) != 1 || hits[0].DocumentID != fmt.Sprintf("doc-%d", j) {
				t.Errorf("handle %d searching for handle %d's chunk: %+v, %v", i, j, hits, err)
			}
		}
	}
	if err := b.DeleteDocument(ctx, "shared", "doc-0"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Document(ctx, "shared", "doc-0"); ragd.ErrorCode(err) != ragd.ENotFound {
		t.Errorf("a document deleted through one handle is still seen through the other: %v", err)
	}
	if err := b.DeleteCollection(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Search(ctx, ragd.SearchQuery{Collection: "shared", Mode: ragd.ModeLexical, Text: "handle", TopK: 1}); ragd.ErrorCode(err) != ragd.ENotFound {
		t.Errorf("search in a collection deleted through the other handle: %v, want %s", err, ragd.ENotFound)
	}
}

// TestSkipMigrations: a store told not to migrate refuses a schema that
// lacks migrations, saying what to run, and opens once they are applied.
func TestSkipMigrations(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
	ctx := testContext(t)
	_, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema, SkipMigrations: true})
	if err == nil || !strings.Contains(err.Error(), "ragd migrate") {
		t.Fatalf("Open without migrations on an empty schema = %v, want an error saying to run ragd migrate", err)
	}
	mustOpenDB(t, postgres.Options{Schema: schema})
	db := mustOpenDB(t, postgres.Options{Schema: schema, SkipMigrations: true})
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
