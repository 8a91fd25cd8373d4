package local_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/local"
	"github.com/ragd/ragd/store/storetest"
)

// queries returns searches in every mode over the storetest corpus.
func corpusQueries(name string) []ragd.SearchQuery {
	qs := []ragd.SearchQuery{{Collection: name, Mode: ragd.ModeVector, Vector: storetest.CorpusQueryVector(), TopK: 100, MinScore: -2}}
	for _, text := range storetest.CorpusLexicalQueries() {
		qs = append(qs,
			ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: text, TopK: 100},
			ragd.SearchQuery{Collection: name, Mode: ragd.ModeHybrid, Text: text, Vector: storetest.CorpusQueryVector(), TopK: 100})
	}
	return qs
}

func searchAll(t *testing.T, db *local.DB, qs []ragd.SearchQuery) [][]ragd.Hit {
	t.Helper()
	var out [][]ragd.Hit
	for _, q := range qs {
		hits, err := db.Search(context.Background(), q)
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		out = append(out, hits)
	}
	return out
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := local.Open(dir, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: "c", Embedder: "e", Dimension: storetest.CorpusDimension}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: "lex", Dimension: 0}); err != nil {
		t.Fatal(err)
	}
	for _, fd := range storetest.Corpus("c") {
		if err := db.PutDocument(ctx, fd.Doc, fd.Chunks); err != nil {
			t.Fatal(err)
		}
	}
	// Replace and delete, so that the file holds retired versions.
	fd := storetest.Corpus("c")[0]
	fd.Chunks[0].Text = "A replaced first chunk about foxes and otters."
	if err := db.PutDocument(ctx, fd.Doc, fd.Chunks); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteDocument(ctx, "c", "physics"); err != nil {
		t.Fatal(err)
	}
	lex := storetest.Corpus("lex")[3]
	for i := range lex.Chunks {
		lex.Chunks[i].Vector = nil
	}
	if err := db.PutDocument(ctx, lex.Doc, lex.Chunks); err != nil {
		t.Fatal(err)
	}
	qs := corpusQueries("c")
	qs = append(qs, ragd.SearchQuery{Collection: "lex", Mode: ragd.ModeLexical, Text: "straße fuchs", TopK: 10})
	before := searchAll(t, db, qs)
	colls, _ := db.Collections(ctx)
	chunksBefore, _ := db.Chunks(ctx, "c", "animals-1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, dir)
	after := searchAll(t, db, qs)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("searches differ after reopening (-before +after):\n%s", diff)
	}
	collsAfter, _ := db.Collections(ctx)
	if diff := cmp.Diff(colls, collsAfter); diff != "" {
		t.Errorf("collections differ after reopening (-before +after):\n%s", diff)
	}
	chunksAfter, _ := db.Chunks(ctx, "c", "animals-1")
	if diff := cmp.Diff(chunksBefore, chunksAfter); diff != "" {
		t.Errorf("chunks differ after reopening (-before +after):\n%s", diff)
	}
	if len(after[1]) == 0 {
		t.Error("the lexical search found nothing after reopening")
	}
}

func TestClosed(t *testing.T) {
	db, err := local.Open(t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err = db.Collections(context.Background())
	if ragd.ErrorCode(err) != ragd.EUnavailable || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Collections after Close: %v, want an unavailable error saying the store is closed", err)
	}
	_, err = db.Search(context.Background(), ragd.SearchQuery{Collection: "c", Mode: ragd.ModeLexical, Text: "x", TopK: 1})
	if ragd.ErrorCode(err) != ragd.EUnavailable {
		t.Errorf("Search after Close: %v", err)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir)
	start := time.Now()
	_, err := local.Open(dir, local.Options{LockTimeout: 100 * time.Millisecond})
	if ragd.ErrorCode(err) != ragd.EUnavailable || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Open: %v, want unavailable: in use", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("second Open took %v", time.Since(start))
	}
}

func TestDocumentsLimit(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	ctx := context.Background()
	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: "c", Dimension: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Documents(ctx, "c", "", 0); ragd.ErrorCode(err) != ragd.EInvalid {
		t.Errorf("Documents with limit 0: %v, want invalid", err)
	}
}
