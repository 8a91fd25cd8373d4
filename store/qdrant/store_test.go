package qdrant_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/lexical"
	"github.com/ragd/ragd/store/qdrant"
)

func TestCollections(t *testing.T) {
	b := newBackend(t)
	s := b.open(t, qdrant.Options{})
	ctx := context.Background()

	created := mustCreate(t, s, "beta", 4)
	if created.CreatedAt.IsZero() || created.Dimension != 4 || created.Name != "beta" {
		t.Fatalf("CreateCollection returned %+v", created)
	}
	mustCreate(t, s, "alpha", 0)
	_, err := s.CreateCollection(ctx, ragd.Collection{Name: "beta", Dimension: 4})
	wantCode(t, err, ragd.EConflict)

	got, err := s.Collection(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("Collection(beta) differs from what CreateCollection returned (-created +got):\n%s", diff)
	}
	mustPut(t, s, ragd.Document{ID: "d1", Collection: "beta"}, []ragd.Chunk{
		{ID: "d1#0", Index: 0, Text: "one", Vector: unit(4, 0)},
		{ID: "d1#1", Index: 1, Text: "two", Vector: unit(4, 1)},
	})
	mustPut(t, s, ragd.Document{ID: "d2", Collection: "beta"}, []ragd.Chunk{{ID: "d2#0", Index: 0, Text: "three"}})
	got, err = s.Collection(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	if got.DocumentCount != 2 || got.ChunkCount != 3 {
		t.Errorf("counts = %d documents, %d chunks; want 2, 3", got.DocumentCount, got.ChunkCount)
	}

	all, err := s.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range all {
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{"alpha", "beta"}, names); diff != "" {
		t.Errorf("Collections names (-want +got):\n%s", diff)
	}

	// Another deployment's prefix is invisible.
	other := b.open(t, qdrant.Options{Prefix: b.prefix + "other_"})
	if cols, err := other.Collections(ctx); err != nil || len(cols) != 0 {
		t.Errorf("a store with another prefix sees %v, %v", cols, err)
	}

	if err := s.DeleteCollection(ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteCollection(ctx, "beta"), ragd.ENotFound)
	_, err = s.Collection(ctx, "beta")
	wantCode(t, err, ragd.ENotFound)
	_, err = s.Search(ctx, ragd.SearchQuery{Collection: "beta", Mode: ragd.ModeLexical, Text: "one", TopK: 3})
	wantCode(t, err, ragd.ENotFound)
	wantCode(t, s.PutDocument(ctx, ragd.Document{ID: "x", Collection: "beta"}, nil), ragd.ENotFound)
}

func TestCollectionsSharedBetweenStores(t *testing.T) {
	b := newBackend(t)
	s1 := b.open(t, qdrant.Options{})
	s2 := b.open(t, qdrant.Options{})
	ctx := context.Background()
	mustCreate(t, s1, "shared", 2)
	mustPut(t, s1, ragd.Document{ID: "a", Collection: "shared", Title: "A"}, []ragd.Chunk{{ID: "a#0", Text: "hello world", Vector: unit(2, 0)}})
	doc, err := s2.Document(ctx, "shared", "a")
	if err != nil || doc.Title != "A" {
		t.Fatalf("second store reads %+v, %v", doc, err)
	}
	// s2 deletes and re-creates it with another dimension; s1 must notice.
	if err := s2.DeleteCollection(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s2, "shared", 3)
	err = s1.PutDocument(ctx, ragd.Document{ID: "b", Collection: "shared"}, []ragd.Chunk{{ID: "b#0", Text: "x", Vector: unit(2, 0)}})
	wantCode(t, err, ragd.EInvalid)
	mustPut(t, s1, ragd.Document{ID: "b", Collection: "shared"}, []ragd.Chunk{{ID: "b#0", Text: "x", Vector: unit(3, 0)}})
}

func TestDocumentRoundTrip(t *testing.T) {
	b := newBackend(t)
	s := b.open(t, qdrant.Options{})
	ctx := context.Background()
	mustCreate(t, s, "docs", 3)
	created := time.Date(2026, 3, 4, 5, 6, 7, 891011, time.UTC)
	doc := ragd.Document{
		ID: "guide.md", Collection: "docs", Title: "Guide", Source: "docs/guide.md", ContentType: "text/markdown",
		Metadata:    map[string]any{"lang": "en", "year": 2024, "draft": false, "tags": []any{"a", "b"}, "nested": map[string]any{"k": 1.5}},
		ContentHash: "abc", Embedder: "test", Bytes: 1234, CreatedAt: created, UpdatedAt: created.Add(time.Hour),
	}
	chunks := []ragd.Chunk{
		{ID: "guide.md#1", Index: 1, Text: "second", Headings: []string{"Guide", "Part"}, Start: 10, End: 16, Tokens: 2, Hash: "h1", Metadata: map[string]any{"page": 2}, Vector: []float32{0, 0.6, 0.8}},
		{ID: "guide.md#0", Index: 0, Text: "first", Start: 0, End: 5, Tokens: 1, Hash: "h0", Vector: []float32{1, 0, 0}},
		{ID: "guide.md#2", Index: 2, Text: "no vector", Start: 17, End: 26, Tokens: 2, Hash: "h2"},
	}
	mustPut(t, s, doc, chunks)

	got, err := s.Document(ctx, "docs", "guide.md")
	if err != nil {
		t.Fatal(err)
	}
	want := doc
	want.ChunkCount = 3
	want.Metadata = map[string]any{"lang": "en", "year": 2024.0, "draft": false, "tags": []any{"a", "b"}, "nested": map[string]any{"k": 1.5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Document (-want +got):\n%s", diff)
	}

	gotChunks, err := s.Chunks(ctx, "docs", "guide.md")
	if err != nil {
		t.Fatal(err)
	}
	wantChunks := []ragd.Chunk{chunks[1], chunks[0], chunks[2]}
	for i := range wantChunks {
		wantChunks[i].DocumentID = "guide.md"
	}
	wantChunks[1].Metadata = map[string]any{"page": 2.0}
	if diff := cmp.Diff(wantChunks, gotChunks); diff != "" {
		t.Errorf("Chunks (-want +got):\n%s", diff)
	}

	_, err = s.Document(ctx, "docs", "missing")
	wantCode(t, err, ragd.ENotFound)
	_, err = s.Chunks(ctx, "docs", "missing")
	wantCode(t, err, ragd.ENotFound)
	wantCode(t, s.DeleteDocument(ctx, "docs", "missing"), ragd.ENotFound)

	// Replacing keeps CreatedAt when the new version does not set one.
	mustPut(t, s, ragd.Document{ID: "guide.md", Collection: "docs", Title: "Guide v2"}, chunks[:1])
	got, err = s.Document(ctx, "docs", "guide.md")
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Guide v2" || got.ChunkCount != 1 || !got.CreatedAt.Equal(created) {
		t.Errorf("after replace: %+v", got)
	}
	if n := b.countPoints(t, "docs", "chunk"); n != 1 {
		t.Errorf("after replace %d chunk points, want 1", n)
	}
	if err := s.DeleteDocument(ctx, "docs", "guide.md"); err != nil {
		t.Fatal(err)
	}
	if n := b.countPoints(t, "docs", "chunk") + b.countPoints(t, "docs", "doc") + b.countPoints(t, "docs", "intent"); n != 0 {
		t.Errorf("after delete %d points remain", n)
	}
}

func TestDimensionMismatch(t *testing.T) {
	b := newBackend(t)
	s := b.open(t, qdrant.Options{})
	ctx := context.Background()
	mustCreate(t, s, "dims", 4)
	mustCreate(t, s, "words", 0)
	err := s.PutDocument(ctx, ragd.Document{ID: "d", Collection: "dims"}, []ragd.Chunk{{ID: "c", Text: "x", Vector: []float32{1, 2, 3}}})
	wantCode(t, err, ragd.EInvalid)
	err = s.PutDocument(ctx, ragd.Document{ID: "d", Collection: "words"}, []ragd.Chunk{{ID: "c", Text: "x", Vector: []float32{1}}})
	wantCode(t, err, ragd.EInvalid)
	if _, err := s.Document(ctx, "dims", "d"); ragd.ErrorCode(err) != ragd.ENotFound {
		t.Errorf("a rejected document exists: %v", err)
	}
	for _, mode := range []string{ragd.ModeVector, ragd.ModeHybrid} {
		_, err = s.Search(ctx, ragd.SearchQuery{Collection: "dims", Mode: mode, Text: "x", Vector: []float32{1, 0}, TopK: 1})
		wantCode(t, err, ragd.EInvalid)
		_, err = s.Search(ctx, ragd.SearchQuery{Collection: "words", Mode: mode, Text: "x", Vector: []float32{1}, TopK: 1})
		wantCode(t, err, ragd.EInvalid)
	}
	err = s.PutDocument(ctx, ragd.Document{ID: "bad\xff", Collection: "dims"}, nil)
	wantCode(t, err, ragd.EInvalid)
	err = s.PutDocument(ctx, ragd.Document{ID: "d", Collection: "dims"}, []ragd.Chunk{{ID: "c", Text: "bad\xff"}})
	wantCode(t, err, ragd.EInvalid)
	if b.countPoints(t, "dims", "intent") != 0 {
		t.Error("a rejected write left an intent")
	}
}

func TestDocumentsPaging(t *testing.T) {
	b := newBackend(t)
	s := b.open(t, qdrant.Options{})
	ctx := context.Background()
	mustCreate(t, s, "many", 0)
	// IDs sharing long prefixes land on the same sort key and must still
	// come back in byte order.
	ids := []string{"", "a", "b"}[1:]
	for i := 0; i < 23; i++ {
		ids = append(ids, fmt.Sprintf("docs/guide/%02d.md", i), fmt.Sprintf("docs/g%d", i))
	}
	ids = append(ids, "docs/guide", "docs/guide/", "z", "\u00ff\u00ff", "Docs", "é", "docs/guide\x00")
	for _, id := range ids {
		mustPut(t, s, ragd.Document{ID: id, Collection: "many"}, []ragd.Chunk{{ID: id + "#0", Text: "text"}})
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	for _, limit := range []int{1, 2, 3, 7, 50, 100} {
		var got []string
		after := ""
		for {
			page, err := s.Documents(ctx, "many", after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page))
			}
			for _, d := range page {
				got = append(got, d.ID)
			}
			if len(page) < limit {
				break
			}
			after = page[len(page)-1].ID
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("limit %d: IDs (-want +got):\n%s", limit, diff)
		}
	}
	page, err := s.Documents(ctx, "many", "docs/guide/05.md", 3)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(want, "docs/guide/05.md")
	if len(page) != 3 || page[0].ID != want[i+1] || page[2].ID != want[i+3] {
		t.Errorf("page after docs/guide/05.md = %v", page)
	}
}

// chunk makes a chunk of doc with text and an optional vector.
func chunk(doc string, i int, text string, vec []float32) ragd.Chunk {
	return ragd.Chunk{ID: fmt.Sprintf("%s#%d", doc, i), Index: i, Text: text, Vector: vec}
}

func TestSearchVector(t *testing.T) {
	b := newBackend(t)
	s := b.open(t, qdrant.Options{})
	ctx := context.Background()
	mustCreate(t, s, "vec", 3)
	mustPut(t, s, ragd.Document{ID: "d1", Collection: "vec", Title: "One", Source: "one.txt"}, []ragd.Chunk{
		chunk("d1", 0, "x axis", []float32{1, 0, 0}),
		chunk("d1", 1, "diagonal", []float32{0.6, 0.8, 0}),
		chunk("d1", 2, "no vector", nil),
	})
	mustPut(t, s, ragd.Document{ID: "d2", Collection: "vec"}, []ragd.Chunk{
		chunk("d2", 0, "y axis", []float32{0, 1, 0}),
		chunk("d2", 1, "x again", []float32{1, 0, 0}), // ties with d1#0
	})
	hits, err := s.Search(ctx, ragd.SearchQuery{Collection: "vec", Mode: ragd.ModeVector, Vector: []float32{1, 0, 0}, TopK: 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"d1#0", "d2#1", "d1#1", "d2#0"}, chunkIDs(hits)); diff != "" {
		t.Errorf("vector ranking (-want +got):\n%s", diff)
	}
	if math.Abs(hits[2].Score-0.6) > 1e-6 || hits[0].Title != "One" || hits[0].Source != "one.txt" || hits[0].DocumentID != "d1" {
		t.Errorf("hits = %+v", hits)
	}
	// The tie at the cut goes to the smaller chunk ID.
	hits, err = s.Search(ctx, ragd.SearchQuery{Collection: "vec", Mode: ragd.ModeVector, Vector: []float32{1, 0, 0}, TopK: 1})
	if err != nil || len(hits) != 1 || hits[0].ChunkID != "d1#0" {
		t.Errorf("TopK 1 = %+v, %v", hits, err)
	}
	hits, err = s.Search(ctx, ragd.SearchQuery{Collection: "vec", Mode: ragd.ModeVector, Vector: []float32{1, 0, 0}, TopK: 10, MinScore: 0.5})
	if err != nil || len(hits) != 3 {
		t.Errorf("MinScore 0.5 = %+v, %v", hits, err)
	}
}

// bm25 scores text for query the way package lexical documents it, over
// the given corpus.
func bm25(query string, text string, corpus []string) float64 {
	total := 0
	for _, c := range corpus {
		total += len(lexical.Terms(c))
	}
	avgLen := float64(total) / float64(len(corpus))
	terms := lexical.Terms(text)
	tf := map[string]int{}
	for _, t := range terms {
		tf[t]++
	}
	var score float64
	for _, q := range lexical.QueryTerms(query) {
		df := 0
		for _, c := range corpus {
			if slices.Contains(lexical.Terms(c), q) {
				df++
			}
		}
		score += lexical.Score(tf[q], len(terms), avgLen, df, len(corpus))
	}
	return score
}

// TestSearchLexical: BM25 scores are exact, with the live average chunk
// length, although the stored weights were normalized with another one.
func TestSearchLexical(t *testing.T) {
	b := newBackend(t)
	s := b.open(t, qdrant.Options{BM25AvgLen: 50})
	ctx := context.Background()
	mustCreate(t, s, "lex", 0)
	texts := map[string]string{
		"a#0": "Workers AI runs models on the edge network",
		"a#1": "Models models models everywhere",
		"b#0": "The edge of the network is near users",
		"b#1": "Nothing relevant here at all",
		"c#0": "Vectorize stores embeddings of models",
	}
	var corpus []string
	for _, id := range sortedIDs(texts) {
		corpus = append(corpus, texts[id])
	}
	for _, doc := range []string{"a", "b", "c"} {
		var chunks []ragd.Chunk
		for i := 0; i < 2; i++ {
			id := fmt.Sprintf("%s#%d", doc, i)
			if text, ok := texts[id]; ok {
				chunks = append(chunks, chunk(doc, i, text, nil))
			}
		}
		mustPut(t, s, ragd.Document{ID: doc, Collection: "lex"}, chunks)
	}
	query := "edge models"
	hits, err := s.Search(ctx, ragd.SearchQuery{Collection: "lex", Mode: ragd.ModeLexical, Text: query, TopK: 10})
	if err != nil {
		t.Fatal(err)
	}
	var want []scored
	for _, id := range sortedIDs(texts) {
		if sc := bm25(query, texts[id], corpus); sc > 0 {
			want = append(want, scored{id, sc})
		}
	}
	slices.SortStableFunc(want, func(a, b scored) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	if diff := cmp.Diff(want, scoredOf(hits), cmp.Comparer(func(x, y float64) bool { return math.Abs(x-y) < 1e-9 })); diff != "" {
		t.Errorf("BM25 ranking (-want +got):\n%s", diff)
	}
	hits, err = s.Search(ctx, ragd.SearchQuery{Collection: "lex", Mode: ragd.ModeLexical, Text: "the of at", TopK: 10})
	if err != nil || len(hits) != 0 {
		t.Errorf("a stop-word query = %v, %v; want no hits", hits, err)
	}
}

func sortedIDs(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// scored is a hit's chunk ID and score, for comparing rankings.
type scored struct {
	ID    string
	Score float64
}

func scoredOf(hits []ragd.Hit) []scored {
	var out []scored
	for _, h := range hits {
		out = append(out, scored{h.ChunkID, h.Score})
	}
	return out
}

func TestSearchHybrid(t *testing.T) {
	b := newBackend(t)
	s := b.open(t, qdrant.Options{BM25AvgLen: 4})
	ctx := context.Background()
	mustCreate(t, s, "hyb", 2)
	// Vector ranks: v1, v2, v3, w (by cosine with [1,0]); lexical ranks:
	// w ("alpha" twice in a short chunk), v3, then nothing.
	mustPut(t, s, ragd.Document{ID: "v", Collection: "hyb"}, []ragd.Chunk{
		chunk("v", 1, "nothing here", []float32{1, 0}),
		chunk("v", 2, "still nothing", []float32{0.99, 0.141}),
		chunk("v", 3, "alpha beta gamma delta epsilon", []float32{0.9, 0.436}),
	})
	mustPut(t, s, ragd.Document{ID: "w", Collection: "hyb"}, []ragd.Chunk{chunk("w", 0, "alpha alpha", []float32{0, 1})})
	hits, err := s.Search(ctx, ragd.SearchQuery{Collection: "hyb", Mode: ragd.ModeHybrid, Text: "alpha", Vector: []float32{1, 0}, TopK: 10})
	if err != nil {
		t.Fatal(err)
	}
	rrf := func(ranks ...int) float64 {
		var sc float64
		for _, r := range ranks {
			sc += 1 / float64(ragd.RRFK+r)
		}
		return sc
	}
	want := []scored{{"w#0", rrf(4, 1)}, {"v#3", rrf(3, 2)}, {"v#1", rrf(1)}, {"v#2", rrf(2)}}
	if diff := cmp.Diff(want, scoredOf(hits), cmp.Comparer(func(x, y float64) bool { return math.Abs(x-y) < 1e-12 })); diff != "" {
		t.Errorf("hybrid ranking (-want +got):\n%s", diff)
	}
}

func TestSearchFilters(t *testing.T) {
	b := newBackend(t)
	s := b.open(t, qdrant.Options{})
	ctx := context.Background()
	mustCreate(t, s, "filt", 2)
	// 30 chunks closer to the query that the filter excludes, then the
	// matching ones: a filter applied after the search would return fewer
	// than TopK.
	var noise []ragd.Chunk
	for i := 0; i < 30; i++ {
		noise = append(noise, ragd.Chunk{ID: fmt.Sprintf("n#%02d", i), Index: i, Text: "report", Vector: []float32{1, 0.01 * float32(i)},
			Metadata: map[string]any{"lang": "de", "year": 2020}})
	}
	mustPut(t, s, ragd.Document{ID: "n", Collection: "filt"}, noise)
	metas := []map[string]any{
		{"lang": "en", "year": 2024, "public": true, "tags": []any{"x", "y"}},
		{"lang": "en", "year": 2023.0, "public": false},
		{"lang": "fr", "year": 2024, "tags": []any{"y"}},
		{"year": "2024"},
	}
	var chunks []ragd.Chunk
	for i, m := range metas {
		chunks = append(chunks, ragd.Chunk{ID: fmt.Sprintf("m#%d", i), Index: i, Text: "report", Vector: []float32{0.5, 1}, Metadata: m})
	}
	mustPut(t, s, ragd.Document{ID: "m", Collection: "filt"}, chunks)

	cases := []struct {
		filter string
		want   []string
	}{
		{`{"lang": "en"}`, []string{"m#0", "m#1"}},
		{`{"year": 2024}`, []string{"m#0", "m#2"}},
		{`{"year": "2024"}`, []string{"m#3"}},
		{`{"public": false}`, []string{"m#1"}},
		{`{"tags": "y"}`, []string{"m#0", "m#2"}},
		{`{"lang": {"$in": ["fr", "xx"]}}`, []string{"m#2"}},
		{`{"year": {"$in": [2023, "2024"]}}`, []string{"m#1", "m#3"}},
		{`{"lang": "en", "year": 2024}`, []string{"m#0"}},
		{`{"$or": [{"lang": "fr"}, {"public": true}]}`, []string{"m#0", "m#2"}},
		{`{"$and": [{"lang": {"$in": ["en", "fr"]}}, {"$or": [{"year": 2023}, {"tags": "x"}]}]}`, []string{"m#0", "m#1"}},
		{`{"missing": "x"}`, nil},
	}
	for _, tc := range cases {
		f, err := ragd.ParseFilter([]byte(tc.filter))
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []string{ragd.ModeVector, ragd.ModeLexical, ragd.ModeHybrid} {
			hits, err := s.Search(ctx, ragd.SearchQuery{Collection: "filt", Mode: mode, Text: "report", Vector: []float32{1, 0}, TopK: 4, Filter: f})
			if err != nil {
				t.Fatalf("%s %s: %v", tc.filter, mode, err)
			}
			got := chunkIDs(hits)
			slices.Sort(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", tc.filter, mode, diff)
			}
		}
	}
}

// TestLexicalExactBeyondFirstPage: with stored weights normalized by a far
// smaller average length than the collection's, Qdrant ranks the long chunk
// last, while exact BM25 ranks it first; the search keeps reading
// candidates until no unseen chunk can beat the best, and finds it.
func TestLexicalExactBeyondFirstPage(t *testing.T) {
	b := newBackend(t)
	s := b.open(t, qdrant.Options{BM25AvgLen: 1})
	ctx := context.Background()
	mustCreate(t, s, "exact", 0)
	texts := map[string]string{}
	var chunks []ragd.Chunk
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("short#%02d", i)
		texts[id] = "alpha " + strings.Repeat(fmt.Sprintf("w%dx ", i), 9)
		chunks = append(chunks, ragd.Chunk{ID: id, Index: i, Text: texts[id]})
	}
	texts["long#0"] = strings.Repeat("alpha ", 8) + strings.Repeat("filler ", 92)
	mustPut(t, s, ragd.Document{ID: "short", Collection: "exact"}, chunks)
	mustPut(t, s, ragd.Document{ID: "long", Collection: "exact"}, []ragd.Chunk{{ID: "long#0", Text: texts["long#0"]}})
	var corpus []string
	for _, id := range sortedIDs(texts) {
		corpus = append(corpus, texts[id])
	}
	hits, err := s.Search(ctx, ragd.SearchQuery{Collection: "exact", Mode: ragd.ModeLexical, Text: "alpha", TopK: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := bm25("alpha", texts["long#0"], corpus)
	if len(hits) != 1 || hits[0].ChunkID != "long#0" || math.Abs(hits[0].Score-want) > 1e-9 {
		t.Fatalf("hits = %+v, want long#0 scoring %v", hits, want)
	}
	if short := bm25("alpha", texts["short#00"], corpus); short >= want {
		t.Fatalf("the fixture is wrong: a short chunk scores %v >= %v", short, want)
	}
}
