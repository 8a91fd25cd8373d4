package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ragd/ragd"
)

// Run runs the conformance suite against a backend. open returns the store
// to test; it is called once per subtest and must arrange any cleanup
// (closing the store, dropping a schema) with t.Cleanup. A backend whose
// state is shared between calls works too: every subtest uses collection
// names of its own, with a random part, and deletes them when it ends.
//
// Besides what the Store interface states, the suite holds backends to
// these details, so that they behave the same:
//   - CreateCollection sets a zero CreatedAt to the current time; times
//     round-trip to the microsecond.
//   - Metadata round-trips as JSON does (numbers come back as float64).
//   - Search: TopK outside 1..ragd.MaxTopK, an unknown mode, and vector or
//     hybrid search without a vector of the collection's dimension (always
//     so in a Dimension-0 collection) are EInvalid. MinScore applies to the
//     final scores (cosine, BM25 or fused) and is inclusive; in hybrid search
//     the two lists are cut at ragd.HybridCandidates(TopK) before fusion,
//     without MinScore. Lexical search returns only chunks containing a
//     query term; an empty or all-stop-word query finds nothing.
//   - PutDocument of an empty document ID is EInvalid and changes nothing;
//     a document may have no chunks.
//   - A cancelled context makes every method fail with an error that
//     errors.Is context.Canceled, and a write that fails so has no effect.
//
// Run the suite with -race: one subtest searches while another goroutine
// replaces a document.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(h *harness)
	}{
		{"CollectionCRUD", testCollectionCRUD},
		{"CollectionNotFound", testCollectionNotFound},
		{"DeleteCollectionRemovesEverything", testDeleteCollection},
		{"DocumentRoundTrip", testDocumentRoundTrip},
		{"DocumentPaging", testDocumentPaging},
		{"ChunkOrder", testChunkOrder},
		{"Replace", testReplace},
		{"DeleteDocument", testDeleteDocument},
		{"VectorRanking", testVectorRanking},
		{"LexicalRanking", testLexicalRanking},
		{"HybridRanking", testHybridRanking},
		{"Filters", testFilters},
		{"MinScore", testMinScore},
		{"TopK", testTopK},
		{"FilteredTopK", testFilteredTopK},
		{"DimensionMismatch", testDimensionMismatch},
		{"NilVectors", testNilVectors},
		{"LexicalOnlyCollection", testLexicalOnlyCollection},
		{"EmptyCollection", testEmptyCollection},
		{"InvalidRequests", testInvalidRequests},
		{"ContextCancelled", testContextCancelled},
		{"RandomOperations", testRandomOperations},
		{"ConcurrentReadersDuringWriter", testConcurrentReaders},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			h := &harness{T: t, s: s, ctx: t.Context(), id: fmt.Sprintf("%08x", rand.Uint32())}
			tc.fn(h)
		})
	}
}

// harness is one subtest's store and helpers.
type harness struct {
	*testing.T
	s   Store
	ctx context.Context
	id  string
}

// name returns a collection name unique to this subtest.
func (h *harness) name(suffix string) string {
	return "st-" + h.id + "-" + suffix
}

// create creates a collection that is deleted when the subtest ends.
func (h *harness) create(name string, dim int) ragd.Collection {
	h.Helper()
	embedder := "fixture"
	if dim == 0 {
		embedder = ""
	}
	c, err := h.s.CreateCollection(h.ctx, ragd.Collection{
		Name: name, Embedder: embedder, Dimension: dim,
		Chunking: ragd.Chunking{MaxTokens: ragd.DefaultMaxTokens, OverlapTokens: ragd.DefaultOverlapTokens},
	})
	if err != nil {
		h.Fatalf("CreateCollection(%q): %v", name, err)
	}
	h.Cleanup(func() {
		err := h.s.DeleteCollection(context.Background(), name)
		if err != nil && ragd.ErrorCode(err) != ragd.ENotFound {
			h.Errorf("cleanup: DeleteCollection(%q): %v", name, err)
		}
	})
	return c
}

// load creates a collection and stores docs in it, returning the model.
func (h *harness) load(name string, dim int, docs []FixtureDoc) (ragd.Collection, *Reference) {
	h.Helper()
	c := h.create(name, dim)
	ref := NewReference(c)
	for _, d := range docs {
		d.Doc.Collection = name
		h.put(ref, d.Doc, d.Chunks)
	}
	return c, ref
}

// corpus creates a collection holding [Corpus].
func (h *harness) corpus(suffix string) (string, *Reference) {
	h.Helper()
	name := h.name(suffix)
	_, ref := h.load(name, CorpusDimension, Corpus(name))
	return name, ref
}

// put stores a document in the store and, when ref is not nil, in the
// model.
func (h *harness) put(ref *Reference, doc ragd.Document, chunks []ragd.Chunk) {
	h.Helper()
	if err := h.s.PutDocument(h.ctx, doc, chunks); err != nil {
		h.Fatalf("PutDocument(%q): %v", doc.ID, err)
	}
	if ref != nil {
		ref.Put(doc, chunks)
	}
}

func (h *harness) search(q ragd.SearchQuery) []ragd.Hit {
	h.Helper()
	hits, err := h.s.Search(h.ctx, q)
	if err != nil {
		h.Fatalf("Search(%s): %v", describe(q), err)
	}
	return hits
}

// check runs q on the store and compares the result with the model's.
//
// A hybrid query is checked in two steps: the store's vector and lexical
// rankings (each cut at ragd.HybridCandidates) against the model's, then
// the store's hybrid result against the fusion of the store's own two
// rankings. Where near-tied scores may legitimately come in either order,
// the fused result then still has exactly one right answer.
func (h *harness) check(ref *Reference, q ragd.SearchQuery) []ragd.Hit {
	h.Helper()
	ranked, err := ref.Rank(q)
	if err != nil {
		h.Fatalf("reference rejects %s: %v", describe(q), err)
	}
	got := h.search(q)
	if q.Mode == ragd.ModeHybrid {
		n := ragd.HybridCandidates(q.TopK)
		vq, lq := q, q
		vq.Mode, vq.TopK, vq.MinScore = ragd.ModeVector, n, -math.MaxFloat64
		lq.Mode, lq.TopK, lq.MinScore = ragd.ModeLexical, n, 0
		vec, lex := h.check(ref, vq), h.check(ref, lq)
		ranked = nil
		for _, hit := range rrf(vec, lex) {
			if hit.Score >= q.MinScore {
				ranked = append(ranked, hit)
			}
		}
	}
	if err := CompareHits(got, ranked, q.TopK); err != nil {
		h.Errorf("Search(%s): %v", describe(q), err)
	}
	return got
}

// wantCode fails unless err has the given code.
func (h *harness) wantCode(err error, code, what string) {
	h.Helper()
	if got := ragd.ErrorCode(err); got != code {
		h.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func (h *harness) collection(name string) ragd.Collection {
	h.Helper()
	c, err := h.s.Collection(h.ctx, name)
	if err != nil {
		h.Fatalf("Collection(%q): %v", name, err)
	}
	return c
}

func (h *harness) wantCounts(name string, docs, chunks int) {
	h.Helper()
	c := h.collection(name)
	if c.DocumentCount != docs || c.ChunkCount != chunks {
		h.Errorf("collection %q counts %d documents and %d chunks, want %d and %d", name, c.DocumentCount, c.ChunkCount, docs, chunks)
	}
}

func describe(q ragd.SearchQuery) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode=%s top_k=%d", q.Mode, q.TopK)
	if q.Text != "" {
		fmt.Fprintf(&b, " text=%q", q.Text)
	}
	if q.Vector != nil {
		fmt.Fprintf(&b, " vector=%v", q.Vector)
	}
	if q.Filter != nil {
		f, _ := q.Filter.MarshalJSON()
		fmt.Fprintf(&b, " filter=%s", f)
	}
	if q.MinScore != 0 {
		fmt.Fprintf(&b, " min_score=%g", q.MinScore)
	}
	return b.String()
}

func ids(hits []ragd.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ChunkID
	}
	return out
}

func mustFilter(t testing.TB, s string) *ragd.Filter {
	t.Helper()
	f, err := ragd.ParseFilter([]byte(s))
	if err != nil {
		t.Fatalf("ParseFilter(%s): %v", s, err)
	}
	return f
}

// docOpts compares documents and chunks as stores keep them: timestamps to
// the microsecond, empty and nil slices and maps alike, vectors within
// float32 rounding (Qdrant normalizes cosine vectors on upload).
func docOpts() cmp.Options {
	return cmp.Options{
		cmpopts.EquateEmpty(),
		cmpopts.EquateApproxTime(time.Microsecond),
		cmp.FilterValues(func(a, b []float32) bool { return len(a) > 0 || len(b) > 0 }, cmp.Comparer(func(a, b []float32) bool {
			if len(a) != len(b) {
				return false
			}
			for i := range a {
				if math.Abs(float64(a[i]-b[i])) > 1e-6 {
					return false
				}
			}
			return true
		})),
	}
}

func testCollectionCRUD(h *harness) {
	before := time.Now()
	b := h.create(h.name("b"), 4)
	if b.Name != h.name("b") || b.Embedder != "fixture" || b.Dimension != 4 || b.Chunking.MaxTokens != ragd.DefaultMaxTokens || b.Chunking.OverlapTokens != ragd.DefaultOverlapTokens {
		h.Errorf("CreateCollection returned %+v", b)
	}
	if b.CreatedAt.Before(before.Add(-time.Minute)) || b.CreatedAt.After(time.Now().Add(time.Minute)) {
		h.Errorf("CreatedAt = %v, want about now: a zero CreatedAt is set by the store", b.CreatedAt)
	}
	if b.DocumentCount != 0 || b.ChunkCount != 0 {
		h.Errorf("new collection counts %d/%d, want 0/0", b.DocumentCount, b.ChunkCount)
	}
	if diff := cmp.Diff(b, h.collection(b.Name), docOpts()); diff != "" {
		h.Errorf("Collection differs from what CreateCollection returned (-create +get):\n%s", diff)
	}

	_, err := h.s.CreateCollection(h.ctx, ragd.Collection{Name: b.Name, Embedder: "other", Dimension: 8})
	h.wantCode(err, ragd.EConflict, "CreateCollection of an existing name")
	if got := h.collection(b.Name); got.Dimension != 4 || got.Embedder != "fixture" {
		h.Errorf("a conflicting create changed the collection: %+v", got)
	}

	a, err := h.s.CreateCollection(h.ctx, ragd.Collection{Name: h.name("a"), Embedder: "e", Dimension: 2, CreatedAt: FixtureTime(),
		Chunking: ragd.Chunking{MaxTokens: 100, OverlapTokens: 10}})
	if err != nil {
		h.Fatalf("CreateCollection: %v", err)
	}
	h.Cleanup(func() { _ = h.s.DeleteCollection(context.Background(), h.name("a")) })
	if !a.CreatedAt.Equal(FixtureTime()) || a.Chunking.MaxTokens != 100 || a.Chunking.OverlapTokens != 10 {
		h.Errorf("CreateCollection returned %+v, want the given CreatedAt and chunking", a)
	}

	doc, chunks := Corpus(b.Name)[0].Doc, Corpus(b.Name)[0].Chunks
	h.put(nil, doc, chunks)
	h.wantCounts(b.Name, 1, len(chunks))

	all, err := h.s.Collections(h.ctx)
	if err != nil {
		h.Fatalf("Collections: %v", err)
	}
	if !slices.IsSortedFunc(all, func(x, y ragd.Collection) int { return strings.Compare(x.Name, y.Name) }) {
		h.Errorf("Collections are not sorted by name: %v", collectionNames(all))
	}
	var mine []ragd.Collection
	for _, c := range all {
		if strings.HasPrefix(c.Name, "st-"+h.id+"-") {
			mine = append(mine, c)
		}
	}
	if len(mine) != 2 || mine[0].Name != a.Name || mine[1].Name != b.Name {
		h.Fatalf("Collections lists %v of this test's, want [%s %s]", collectionNames(mine), a.Name, b.Name)
	}
	if mine[1].DocumentCount != 1 || mine[1].ChunkCount != len(chunks) || mine[0].DocumentCount != 0 {
		h.Errorf("Collections counts: %+v", mine)
	}

	if err := h.s.DeleteCollection(h.ctx, a.Name); err != nil {
		h.Fatalf("DeleteCollection: %v", err)
	}
	_, err = h.s.Collection(h.ctx, a.Name)
	h.wantCode(err, ragd.ENotFound, "Collection after delete")
	h.wantCode(h.s.DeleteCollection(h.ctx, a.Name), ragd.ENotFound, "second DeleteCollection")
	all, err = h.s.Collections(h.ctx)
	if err != nil {
		h.Fatalf("Collections: %v", err)
	}
	for _, c := range all {
		if c.Name == a.Name {
			h.Errorf("Collections still lists deleted %q", a.Name)
		}
	}
}

func collectionNames(cs []ragd.Collection) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

func testCollectionNotFound(h *harness) {
	existing, _ := h.corpus("there")
	missing := h.name("missing")
	_, err := h.s.Collection(h.ctx, missing)
	h.wantCode(err, ragd.ENotFound, "Collection")
	h.wantCode(h.s.DeleteCollection(h.ctx, missing), ragd.ENotFound, "DeleteCollection")
	_, err = h.s.Document(h.ctx, missing, "animals-1")
	h.wantCode(err, ragd.ENotFound, "Document")
	_, err = h.s.Documents(h.ctx, missing, "", 10)
	h.wantCode(err, ragd.ENotFound, "Documents")
	_, err = h.s.Chunks(h.ctx, missing, "animals-1")
	h.wantCode(err, ragd.ENotFound, "Chunks")
	fd := Corpus(missing)[0]
	h.wantCode(h.s.PutDocument(h.ctx, fd.Doc, fd.Chunks), ragd.ENotFound, "PutDocument")
	h.wantCode(h.s.DeleteDocument(h.ctx, missing, "animals-1"), ragd.ENotFound, "DeleteDocument")
	for _, mode := range []string{ragd.ModeVector, ragd.ModeLexical, ragd.ModeHybrid} {
		_, err = h.s.Search(h.ctx, ragd.SearchQuery{Collection: missing, Mode: mode, Text: "fox", Vector: CorpusQueryVector(), TopK: 5})
		h.wantCode(err, ragd.ENotFound, "Search "+mode)
	}
	if _, err := h.s.Collection(h.ctx, missing); ragd.ErrorCode(err) != ragd.ENotFound {
		h.Errorf("PutDocument into a missing collection created it")
	}

	// A missing document in an existing collection.
	_, err = h.s.Document(h.ctx, existing, "nope")
	h.wantCode(err, ragd.ENotFound, "Document of a missing id")
	_, err = h.s.Chunks(h.ctx, existing, "nope")
	h.wantCode(err, ragd.ENotFound, "Chunks of a missing id")
	h.wantCode(h.s.DeleteDocument(h.ctx, existing, "nope"), ragd.ENotFound, "DeleteDocument of a missing id")
}

func testDeleteCollection(h *harness) {
	name, _ := h.corpus("gone")
	other, otherRef := h.corpus("kept")
	if err := h.s.DeleteCollection(h.ctx, name); err != nil {
		h.Fatalf("DeleteCollection: %v", err)
	}
	_, err := h.s.Search(h.ctx, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: "fox", TopK: 5})
	h.wantCode(err, ragd.ENotFound, "Search of a deleted collection")
	_, err = h.s.Document(h.ctx, name, "animals-1")
	h.wantCode(err, ragd.ENotFound, "Document of a deleted collection")

	// The same name again starts empty, even with another dimension.
	c := h.create(name, 3)
	if c.Dimension != 3 || c.DocumentCount != 0 || c.ChunkCount != 0 {
		h.Errorf("recreated collection: %+v", c)
	}
	h.wantCounts(name, 0, 0)
	docs, err := h.s.Documents(h.ctx, name, "", 100)
	if err != nil || len(docs) != 0 {
		h.Errorf("Documents of the recreated collection = %d, %v; want none", len(docs), err)
	}
	_, err = h.s.Document(h.ctx, name, "animals-1")
	h.wantCode(err, ragd.ENotFound, "Document of the recreated collection")
	_, err = h.s.Chunks(h.ctx, name, "animals-1")
	h.wantCode(err, ragd.ENotFound, "Chunks of the recreated collection")
	for _, q := range []ragd.SearchQuery{
		{Collection: name, Mode: ragd.ModeLexical, Text: "fox dog quantum", TopK: 100},
		{Collection: name, Mode: ragd.ModeVector, Vector: []float32{1, 0, 0}, TopK: 100, MinScore: -2},
		{Collection: name, Mode: ragd.ModeHybrid, Text: "fox", Vector: []float32{0, 1, 0}, TopK: 100},
	} {
		if hits := h.search(q); len(hits) != 0 {
			h.Errorf("Search(%s) in the recreated collection found %v", describe(q), ids(hits))
		}
	}
	// The other collection is untouched.
	h.wantCounts(other, 5, 10)
	h.check(otherRef, ragd.SearchQuery{Collection: other, Mode: ragd.ModeLexical, Text: "fox", TopK: 100})
}

func testDocumentRoundTrip(h *harness) {
	name := h.name("docs")
	h.create(name, 3)
	meta := map[string]any{
		"s": "text", "u": "héllo wörld ✓ 日本語 🦊", "n": 42, "f": 3.25, "neg": -7, "zero": 0, "big": 1e15,
		"t": true, "fa": false, "empty": "", "null": nil,
		"arr":   []any{"a", 1, true, 2.5},
		"obj":   map[string]any{"k": "v", "deep": map[string]any{"x": []any{1.5, "y", map[string]any{"z": false}}}},
		"quote": `she said "hi" \ bye`,
	}
	doc := ragd.Document{
		ID: "doc/ü ✓ 1", Collection: name, Title: "Tïtle “quoted”", Source: "dir/file name.md",
		ContentType: "text/markdown", Metadata: meta, ContentHash: strings.Repeat("ab", 32), Embedder: "fixture",
		ChunkCount: 99, Bytes: 1234, CreatedAt: FixtureTime(), UpdatedAt: FixtureTime().Add(90 * time.Minute),
	}
	chunks := []ragd.Chunk{
		{ID: "c/0 ✓", DocumentID: doc.ID, Index: 0, Text: "First chunk, ünïcode ✓.", Headings: []string{"H1", "H2 ✓"},
			Start: 0, End: 25, Tokens: 7, Hash: "h0", Metadata: map[string]any{"page": 1, "obj": map[string]any{"a": []any{1, "b"}}},
			Vector: []float32{0.6, 0.8, 0}},
		{ID: "c/1", DocumentID: doc.ID, Index: 1, Text: "Second chunk without headings or metadata.", Start: 26, End: 70, Tokens: 8, Hash: "h1",
			Vector: []float32{0, 0, 1}},
		{ID: "c/2", DocumentID: doc.ID, Index: 2, Text: "Third chunk without a vector.", Start: 71, End: 100, Tokens: 6, Hash: "h2",
			Metadata: map[string]any{"page": 2}},
	}
	h.put(nil, doc, chunks)

	want := doc
	want.Metadata = RoundTrip(meta)
	want.ChunkCount = len(chunks)
	got, err := h.s.Document(h.ctx, name, doc.ID)
	if err != nil {
		h.Fatalf("Document: %v", err)
	}
	if diff := cmp.Diff(want, got, docOpts()); diff != "" {
		h.Errorf("Document differs (-want +got):\n%s", diff)
	}
	list, err := h.s.Documents(h.ctx, name, "", 10)
	if err != nil || len(list) != 1 {
		h.Fatalf("Documents = %d, %v; want 1", len(list), err)
	}
	if diff := cmp.Diff(want, list[0], docOpts()); diff != "" {
		h.Errorf("Documents entry differs (-want +got):\n%s", diff)
	}

	gotChunks, err := h.s.Chunks(h.ctx, name, doc.ID)
	if err != nil {
		h.Fatalf("Chunks: %v", err)
	}
	wantChunks := slices.Clone(chunks)
	for i := range wantChunks {
		wantChunks[i].Metadata = RoundTrip(wantChunks[i].Metadata)
	}
	if diff := cmp.Diff(wantChunks, gotChunks, docOpts()); diff != "" {
		h.Errorf("Chunks differ (-want +got):\n%s", diff)
	}
	if gotChunks[2].Vector != nil && len(gotChunks[2].Vector) != 0 {
		h.Errorf("chunk stored without a vector came back with %v", gotChunks[2].Vector)
	}

	// Hits carry the document's title and source and the chunk's fields.
	ref := NewReference(ragd.Collection{Name: name, Dimension: 3})
	ref.Put(doc, chunks)
	h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: "chunk", TopK: 10})
	h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeVector, Vector: []float32{0, 0.6, 0.8}, TopK: 10})
}

func testDocumentPaging(h *harness) {
	name := h.name("paging")
	h.create(name, 2)
	for _, id := range []string{"d05", "d01", "d03", "d02", "d04"} {
		n := int(id[2] - '0')
		var chunks []ragd.Chunk
		for i := 0; i < n; i++ {
			chunks = append(chunks, ragd.Chunk{ID: fmt.Sprintf("%s-%d", id, i), DocumentID: id, Index: i, Text: "text " + id, Vector: []float32{1, 0}})
		}
		h.put(nil, ragd.Document{ID: id, Collection: name, Title: "Title " + id, CreatedAt: FixtureTime(), UpdatedAt: FixtureTime()}, chunks)
	}
	page := func(after string, limit int) []string {
		docs, err := h.s.Documents(h.ctx, name, after, limit)
		if err != nil {
			h.Fatalf("Documents(%q, %d): %v", after, limit, err)
		}
		out := make([]string, len(docs))
		for i, d := range docs {
			out[i] = d.ID
			if want := int(d.ID[2] - '0'); d.ChunkCount != want || d.Title != "Title "+d.ID || d.Collection != name {
				h.Errorf("Documents entry %s: chunk count %d, title %q, collection %q; want %d, %q, %q", d.ID, d.ChunkCount, d.Title, d.Collection, want, "Title "+d.ID, name)
			}
		}
		return out
	}
	for _, tc := range []struct {
		after string
		limit int
		want  []string
	}{
		{"", 2, []string{"d01", "d02"}},
		{"d02", 2, []string{"d03", "d04"}},
		{"d04", 2, []string{"d05"}},
		{"d05", 2, nil},
		{"d025", 1, []string{"d03"}},
		{"", 100, []string{"d01", "d02", "d03", "d04", "d05"}},
		{"a", 3, []string{"d01", "d02", "d03"}},
		{"z", 3, nil},
	} {
		if diff := cmp.Diff(tc.want, page(tc.after, tc.limit), cmpopts.EquateEmpty()); diff != "" {
			h.Errorf("Documents(after %q, limit %d) mismatch (-want +got):\n%s", tc.after, tc.limit, diff)
		}
	}
}

func testChunkOrder(h *harness) {
	name := h.name("order")
	h.create(name, 2)
	var chunks []ragd.Chunk
	for _, i := range []int{2, 0, 3, 1} {
		chunks = append(chunks, ragd.Chunk{ID: fmt.Sprintf("z%d", 9-i), DocumentID: "d", Index: i, Text: fmt.Sprintf("chunk %d", i), Vector: []float32{0, 1}})
	}
	h.put(nil, ragd.Document{ID: "d", Collection: name, Title: "d"}, chunks)
	got, err := h.s.Chunks(h.ctx, name, "d")
	if err != nil {
		h.Fatalf("Chunks: %v", err)
	}
	var order []string
	for _, c := range got {
		order = append(order, fmt.Sprintf("%d:%s:%s", c.Index, c.ID, c.Text))
	}
	want := []string{"0:z9:chunk 0", "1:z8:chunk 1", "2:z7:chunk 2", "3:z6:chunk 3"}
	if diff := cmp.Diff(want, order); diff != "" {
		h.Errorf("Chunks order (-want +got):\n%s", diff)
	}
}

// queriesFor returns a set of searches in every mode over the corpus.
func corpusQueries(name string, topK int) []ragd.SearchQuery {
	var qs []ragd.SearchQuery
	qs = append(qs, ragd.SearchQuery{Collection: name, Mode: ragd.ModeVector, Vector: CorpusQueryVector(), TopK: topK, MinScore: -2})
	for _, text := range CorpusLexicalQueries() {
		qs = append(qs,
			ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: text, TopK: topK},
			ragd.SearchQuery{Collection: name, Mode: ragd.ModeHybrid, Text: text, Vector: CorpusQueryVector(), TopK: topK})
	}
	return qs
}

func testReplace(h *harness) {
	name, ref := h.corpus("replace")
	// Version 2 of animals-1 reuses one chunk ID with new text (ingest's
	// chunk IDs are stable by position), drops two chunks, adds one.
	doc := Corpus(name)[0].Doc
	doc.Title = "Otters"
	doc.Metadata = map[string]any{"lang": "en", "year": 2024, "tags": []any{"animals", "river"}}
	doc.ContentHash = "hash-v2"
	doc.UpdatedAt = FixtureTime().Add(48 * time.Hour)
	v2 := []ragd.Chunk{
		{ID: "fox-1", DocumentID: doc.ID, Index: 0, Text: "Otters swim in the river and eat fish.", Vector: []float32{0, 0, 1, 0},
			Metadata: map[string]any{"lang": "en", "year": 2024, "tags": []any{"animals", "river"}, "page": 1}},
		{ID: "otter-2", DocumentID: doc.ID, Index: 1, Text: "Sea otters hold hands while sleeping.", Headings: []string{"Otters"},
			Vector: []float32{0, 0, 0.6, 0.8}, Metadata: map[string]any{"lang": "en", "year": 2024}},
	}
	h.put(ref, doc, v2)

	got, err := h.s.Document(h.ctx, name, doc.ID)
	if err != nil {
		h.Fatalf("Document: %v", err)
	}
	if got.Title != "Otters" || got.ChunkCount != 2 || got.ContentHash != "hash-v2" || !cmp.Equal(got.Metadata, RoundTrip(doc.Metadata)) {
		h.Errorf("Document after replace: %+v", got)
	}
	chunks, err := h.s.Chunks(h.ctx, name, doc.ID)
	if err != nil {
		h.Fatalf("Chunks: %v", err)
	}
	if diff := cmp.Diff([]string{"fox-1", "otter-2"}, chunkIDs(chunks)); diff != "" {
		h.Errorf("Chunks after replace (-want +got):\n%s", diff)
	}
	if chunks[0].Text != v2[0].Text {
		h.Errorf("reused chunk ID kept the old text %q", chunks[0].Text)
	}
	h.wantCounts(name, 5, 9)

	for _, q := range corpusQueries(name, 100) {
		hits := h.check(ref, q)
		for _, hit := range hits {
			if hit.ChunkID == "fox-2" || hit.ChunkID == "fox-3" || (hit.ChunkID == "fox-1" && hit.Text != v2[0].Text) || (hit.DocumentID == doc.ID && hit.Title != "Otters") {
				h.Errorf("Search(%s) returned the old version's %s %q", describe(q), hit.ChunkID, hit.Text)
			}
		}
	}
	h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: "otters river", TopK: 10})

	// A document may be replaced by one without chunks.
	h.put(ref, doc, nil)
	h.wantCounts(name, 5, 7)
	if got, err := h.s.Document(h.ctx, name, doc.ID); err != nil || got.ChunkCount != 0 {
		h.Errorf("Document with no chunks: %+v, %v", got, err)
	}
	if cs, err := h.s.Chunks(h.ctx, name, doc.ID); err != nil || len(cs) != 0 {
		h.Errorf("Chunks of a document with no chunks: %d, %v", len(cs), err)
	}
	for _, q := range corpusQueries(name, 100) {
		h.check(ref, q)
	}
}

func chunkIDs(cs []ragd.Chunk) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func testDeleteDocument(h *harness) {
	name, ref := h.corpus("delete")
	if err := h.s.DeleteDocument(h.ctx, name, "animals-2"); err != nil {
		h.Fatalf("DeleteDocument: %v", err)
	}
	ref.Delete("animals-2")
	_, err := h.s.Document(h.ctx, name, "animals-2")
	h.wantCode(err, ragd.ENotFound, "Document after delete")
	_, err = h.s.Chunks(h.ctx, name, "animals-2")
	h.wantCode(err, ragd.ENotFound, "Chunks after delete")
	h.wantCode(h.s.DeleteDocument(h.ctx, name, "animals-2"), ragd.ENotFound, "second DeleteDocument")
	h.wantCounts(name, 4, 8)
	docs, err := h.s.Documents(h.ctx, name, "", 100)
	if err != nil {
		h.Fatalf("Documents: %v", err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.ID)
	}
	if diff := cmp.Diff(ref.DocumentIDs(), got); diff != "" {
		h.Errorf("Documents after delete (-want +got):\n%s", diff)
	}
	for _, q := range append(corpusQueries(name, 100), ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: "dog dogs breeds labrador", TopK: 100}) {
		for _, hit := range h.check(ref, q) {
			if hit.DocumentID == "animals-2" {
				h.Errorf("Search(%s) returned deleted %s", describe(q), hit.ChunkID)
			}
		}
	}
	// The ID can be used again.
	fd := Corpus(name)[1]
	h.put(ref, fd.Doc, fd.Chunks)
	h.wantCounts(name, 5, 10)
	h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: "dog", TopK: 100})
}

func testVectorRanking(h *harness) {
	name, ref := h.corpus("vector")
	q := ragd.SearchQuery{Collection: name, Mode: ragd.ModeVector, Vector: CorpusQueryVector(), TopK: 100, MinScore: -2}
	hits := h.check(ref, q)
	want := []struct {
		id    string
		score float64
	}{
		{"fox-1", 0.864}, {"dog-0", 0.856}, {"dog-1", 0.856}, {"fox-2", 0.8}, {"qc-1", 0.768},
		{"de-1b", 0.5696}, {"qc-2", 0.36}, {"bear-1", 0.216}, {"de-1a", -0.48},
	}
	if len(hits) != len(want) {
		h.Fatalf("vector search found %v, want %d hits", ids(hits), len(want))
	}
	for i, w := range want {
		if hits[i].ChunkID != w.id || math.Abs(hits[i].Score-w.score) > ScoreTolerance {
			h.Errorf("hit %d = %s %.6f, want %s %.6f", i, hits[i].ChunkID, hits[i].Score, w.id, w.score)
		}
	}
	// MinScore 0 (the default) drops the negative similarity.
	q.MinScore = 0
	if got := h.check(ref, q); len(got) != len(want)-1 {
		h.Errorf("with MinScore 0, got %v", ids(got))
	}
}

func testLexicalRanking(h *harness) {
	name, ref := h.corpus("lexical")
	// Another collection full of foxes must not change this one's
	// statistics: BM25 statistics are per collection.
	noise := h.name("noise")
	var noiseDocs []FixtureDoc
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("n%d", i)
		noiseDocs = append(noiseDocs, FixtureDoc{
			Doc:    ragd.Document{ID: id, Collection: noise, Title: id},
			Chunks: []ragd.Chunk{{ID: id + "-0", DocumentID: id, Text: "fox fox fox brown fox quantum", Vector: []float32{1, 0, 0, 0}}},
		})
	}
	h.load(noise, CorpusDimension, noiseDocs)

	for _, text := range CorpusLexicalQueries() {
		hits := h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: text, TopK: 100})
		switch text {
		case "fox":
			// fox-2 says fox four times (heading included), fox-1 twice,
			// fox-3 once in its heading, de-1b once in a longer chunk.
			if diff := cmp.Diff([]string{"fox-2", "fox-1", "fox-3", "de-1b"}, ids(hits)); diff != "" {
				h.Errorf("lexical %q order (-want +got):\n%s", text, diff)
			}
		case "the of", "zebra", "":
			if len(hits) != 0 {
				h.Errorf("lexical %q found %v, want nothing", text, ids(hits))
			}
		}
	}
	// Exact ties go by chunk ID: two chunks with the same text.
	tie := h.name("tie")
	_, tieRef := h.load(tie, 2, []FixtureDoc{{
		Doc: ragd.Document{ID: "t", Collection: tie, Title: "t"},
		Chunks: []ragd.Chunk{
			{ID: "tie-b", DocumentID: "t", Index: 0, Text: "same words here", Vector: []float32{1, 0}},
			{ID: "tie-a", DocumentID: "t", Index: 1, Text: "same words here", Vector: []float32{1, 0}},
			{ID: "tie-c", DocumentID: "t", Index: 2, Text: "other words", Vector: []float32{0, 1}},
		},
	}})
	hits := h.check(tieRef, ragd.SearchQuery{Collection: tie, Mode: ragd.ModeLexical, Text: "same", TopK: 10})
	if diff := cmp.Diff([]string{"tie-a", "tie-b"}, ids(hits)); diff != "" {
		h.Errorf("tied hits (-want +got):\n%s", diff)
	}
	hits = h.check(tieRef, ragd.SearchQuery{Collection: tie, Mode: ragd.ModeVector, Vector: []float32{1, 0}, TopK: 1})
	if diff := cmp.Diff([]string{"tie-a"}, ids(hits)); diff != "" {
		h.Errorf("tied vector hit at the cut (-want +got):\n%s", diff)
	}
}

func testHybridRanking(h *harness) {
	name, ref := h.corpus("hybrid")
	for _, q := range corpusQueries(name, 100) {
		if q.Mode == ragd.ModeHybrid {
			h.check(ref, q)
			q.TopK = 3
			h.check(ref, q)
		}
	}
	// "brown fox": fox-1 is first by vector and near the top lexically.
	hits := h.search(ragd.SearchQuery{Collection: name, Mode: ragd.ModeHybrid, Text: "brown fox", Vector: CorpusQueryVector(), TopK: 3})
	v, l := ref.Components(ragd.SearchQuery{Collection: name, Mode: ragd.ModeHybrid, Text: "brown fox", Vector: CorpusQueryVector(), TopK: 3})
	rank := func(list []ragd.Hit, id string) int {
		for i, h := range list {
			if h.ChunkID == id {
				return i + 1
			}
		}
		return 0
	}
	if len(hits) == 0 || hits[0].ChunkID != "fox-1" {
		h.Fatalf("hybrid brown fox = %v, want fox-1 first", ids(hits))
	}
	want := 1/float64(ragd.RRFK+rank(v, "fox-1")) + 1/float64(ragd.RRFK+rank(l, "fox-1"))
	if math.Abs(hits[0].Score-want) > ScoreTolerance {
		h.Errorf("fused score of fox-1 = %v, want %v (vector rank %d, lexical rank %d)", hits[0].Score, want, rank(v, "fox-1"), rank(l, "fox-1"))
	}
	// fox-3 has no vector: it can only come from the lexical list.
	q := ragd.SearchQuery{Collection: name, Mode: ragd.ModeHybrid, Text: "rabbits", Vector: CorpusQueryVector(), TopK: 100}
	hits = h.check(ref, q)
	for _, hit := range hits {
		if hit.ChunkID == "fox-3" && math.Abs(hit.Score-1/float64(ragd.RRFK+1)) > ScoreTolerance {
			h.Errorf("fox-3 fused score %v, want 1/%d", hit.Score, ragd.RRFK+1)
		}
	}
}

func testFilters(h *harness) {
	name, ref := h.corpus("filters")
	// The chunks with vectors that each filter matches, written out.
	wantVector := map[string][]string{
		`{"lang": "en"}`:                         {"fox-1", "fox-2", "dog-1", "dog-0", "qc-1", "qc-2"},
		`{"lang": {"$eq": "de"}}`:                {"de-1a", "de-1b"},
		`{"year": 2020}`:                         {"fox-1", "fox-2", "de-1a", "de-1b"},
		`{"year": "2020"}`:                       nil,
		`{"code": "2020"}`:                       {"fox-1", "fox-2"},
		`{"code": 2020}`:                         {"de-1a", "de-1b"},
		`{"draft": true}`:                        {"dog-1", "dog-0"},
		`{"draft": false}`:                       {"fox-1", "fox-2", "qc-1", "qc-2", "de-1a", "de-1b"},
		`{"draft": "true"}`:                      nil,
		`{"tags": "wild"}`:                       {"fox-1", "fox-2"},
		`{"tags": {"$in": ["pets", "verkehr"]}}`: {"dog-1", "dog-0", "de-1a", "de-1b"},
		`{"$and": [{"lang": "en"}, {"year": {"$in": [2019, 2021]}}]}`: {"dog-1", "dog-0", "qc-1", "qc-2"},
		`{"$or": [{"lang": "de"}, {"draft": true}]}`:                  {"dog-1", "dog-0", "de-1a", "de-1b"},
		`{"lang": "en", "draft": false}`:                              {"fox-1", "fox-2", "qc-1", "qc-2"},
		`{"page": 1}`:                                                 {"fox-1", "dog-0", "de-1b"},
		`{"page": {"$in": [2, 3]}}`:                                   {"fox-2", "qc-2"},
		`{"missing": "x"}`:                                            nil,
		`{"$or": [{"page": 3}, {"$and": [{"tags": "science"}, {"year": 2021}]}]}`: {"qc-1", "qc-2"},
	}
	for _, fs := range CorpusFilters() {
		f := mustFilter(h, fs)
		hits := h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeVector, Vector: CorpusQueryVector(), TopK: 100, MinScore: -2, Filter: f})
		got := ids(hits)
		want, ok := wantVector[fs]
		if !ok {
			h.Fatalf("no expectation for filter %s", fs)
		}
		slices.Sort(got)
		want = slices.Clone(want)
		slices.Sort(want)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			h.Errorf("vector search with filter %s (-want +got):\n%s", fs, diff)
		}
		for _, text := range []string{"fox brown dog quantum straße bears rabbits", "fox"} {
			h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: text, TopK: 100, Filter: f})
			h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeHybrid, Text: text, Vector: CorpusQueryVector(), TopK: 100, Filter: f})
		}
	}
}

// midScore returns a MinScore halfway between the scores of ranked[i-1]
// and ranked[i].
func midScore(ranked []ragd.Hit, i int) float64 {
	return (ranked[i-1].Score + ranked[i].Score) / 2
}

func testMinScore(h *harness) {
	name, ref := h.corpus("minscore")
	vq := ragd.SearchQuery{Collection: name, Mode: ragd.ModeVector, Vector: CorpusQueryVector(), TopK: 100}
	for _, tc := range []struct {
		min  float64
		want int
	}{{0.79, 4}, {0.86, 1}, {0.9, 0}, {-2, 9}} {
		vq.MinScore = tc.min
		if hits := h.check(ref, vq); len(hits) != tc.want {
			h.Errorf("vector MinScore %v: %d hits, want %d", tc.min, len(hits), tc.want)
		}
	}
	for _, mode := range []string{ragd.ModeLexical, ragd.ModeHybrid} {
		q := ragd.SearchQuery{Collection: name, Mode: mode, Text: "brown fox dog", Vector: CorpusQueryVector(), TopK: 100}
		ranked, err := ref.Rank(q)
		if err != nil || len(ranked) < 4 {
			h.Fatalf("reference %s ranking: %d hits, %v", mode, len(ranked), err)
		}
		q.MinScore = midScore(ranked, 2)
		if hits := h.check(ref, q); len(hits) != 2 {
			h.Errorf("%s MinScore %v: %d hits, want 2", mode, q.MinScore, len(hits))
		}
		q.MinScore = ranked[0].Score + 1
		if hits := h.check(ref, q); len(hits) != 0 {
			h.Errorf("%s MinScore above the best: %v", mode, ids(hits))
		}
	}
}

func testTopK(h *harness) {
	name, ref := h.corpus("topk")
	for _, q := range corpusQueries(name, 1) {
		h.check(ref, q)
	}
	hits := h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeVector, Vector: CorpusQueryVector(), TopK: ragd.MaxTopK, MinScore: -2})
	if len(hits) != 9 {
		h.Errorf("TopK above the number of chunks: %d hits, want all 9 with vectors", len(hits))
	}
	hits = h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: "fox dog bears quantum straße rabbits", TopK: 1000})
	if len(hits) != 9 {
		h.Errorf("lexical TopK 1000: %d hits, want 9", len(hits))
	}
}

func testFilteredTopK(h *harness) {
	name := h.name("many")
	_, ref := h.load(name, 8, RandomCorpus(7, name, 10, 100, 8))
	h.wantCounts(name, 10, 1000)
	rng := rand.New(rand.NewPCG(1, 2))
	rare := mustFilter(h, `{"kind": "rare"}`)
	for i := 0; i < 3; i++ {
		vec := RandomUnitVector(rng, 8, true)
		text := "needle " + RandomText(rng, 2, 0)
		for _, mode := range []string{ragd.ModeVector, ragd.ModeLexical, ragd.ModeHybrid} {
			q := ragd.SearchQuery{Collection: name, Mode: mode, Text: text, Vector: vec, TopK: 10, Filter: rare}
			hits := h.check(ref, q)
			if len(hits) != 10 {
				h.Errorf("%s: %d hits, want 10 of the 31 matching chunks", describe(q), len(hits))
			}
			for _, hit := range hits {
				if hit.Metadata["kind"] != "rare" {
					h.Errorf("%s returned %s with metadata %v", describe(q), hit.ChunkID, hit.Metadata)
				}
			}
		}
		// Unfiltered hybrid search cuts each list at HybridCandidates(3).
		h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeHybrid, Text: text, Vector: vec, TopK: 3})
		h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: text, TopK: 20})
	}
}

func testDimensionMismatch(h *harness) {
	name, ref := h.corpus("dims")
	bad := ragd.Document{ID: "bad", Collection: name, Title: "bad"}
	err := h.s.PutDocument(h.ctx, bad, []ragd.Chunk{{ID: "bad-0", DocumentID: "bad", Text: "wrong size", Vector: []float32{1, 0, 0, 0, 0}}})
	h.wantCode(err, ragd.EInvalid, "PutDocument with a 5-d vector into a 4-d collection")
	_, err = h.s.Document(h.ctx, name, "bad")
	h.wantCode(err, ragd.ENotFound, "Document after a rejected put")

	// A bad vector among good ones leaves the old version in place.
	fd := Corpus(name)[2]
	chunks := slices.Clone(fd.Chunks)
	chunks[0].Text = "replaced text"
	chunks[1].Vector = []float32{1, 0, 0}
	h.wantCode(h.s.PutDocument(h.ctx, fd.Doc, chunks), ragd.EInvalid, "PutDocument with one 3-d vector")
	got, err := h.s.Chunks(h.ctx, name, fd.Doc.ID)
	if err != nil {
		h.Fatalf("Chunks: %v", err)
	}
	if len(got) != 2 || got[0].Text != fd.Chunks[0].Text {
		h.Errorf("a rejected put changed the document: %v", chunkIDs(got))
	}
	h.wantCounts(name, 5, 10)

	for _, q := range []ragd.SearchQuery{
		{Collection: name, Mode: ragd.ModeVector, Vector: []float32{1, 0, 0}, TopK: 5},
		{Collection: name, Mode: ragd.ModeVector, Vector: []float32{1, 0, 0, 0, 0}, TopK: 5},
		{Collection: name, Mode: ragd.ModeVector, TopK: 5},
		{Collection: name, Mode: ragd.ModeHybrid, Text: "fox", Vector: []float32{1, 0, 0, 0, 0}, TopK: 5},
		{Collection: name, Mode: ragd.ModeHybrid, Text: "fox", TopK: 5},
	} {
		_, err := h.s.Search(h.ctx, q)
		h.wantCode(err, ragd.EInvalid, "Search("+describe(q)+")")
	}
	h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: "quantum", TopK: 5})
}

func testNilVectors(h *harness) {
	name, ref := h.corpus("nilvec")
	hits := h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeVector, Vector: CorpusQueryVector(), TopK: 100, MinScore: -2})
	for _, hit := range hits {
		if hit.ChunkID == "fox-3" {
			h.Errorf("vector search returned fox-3, which has no vector")
		}
	}
	hits = h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: "rabbits", TopK: 10})
	if len(hits) != 1 || hits[0].ChunkID != "fox-3" {
		h.Errorf("lexical search for rabbits = %v, want [fox-3]", ids(hits))
	}
	chunks, err := h.s.Chunks(h.ctx, name, "animals-1")
	if err != nil {
		h.Fatalf("Chunks: %v", err)
	}
	if len(chunks) != 3 || len(chunks[2].Vector) != 0 || len(chunks[0].Vector) != CorpusDimension {
		h.Errorf("Chunks vectors: %d chunks, lengths %d and %d", len(chunks), len(chunks[0].Vector), len(chunks[2].Vector))
	}
	// A document whose chunks all lack vectors (stored while the embedder
	// was unavailable) is found lexically only.
	h.put(ref, ragd.Document{ID: "novec", Collection: name, Title: "No vectors"}, []ragd.Chunk{
		{ID: "novec-0", DocumentID: "novec", Text: "zebras without vectors"},
		{ID: "novec-1", DocumentID: "novec", Index: 1, Text: "more zebras"},
	})
	h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: "zebra", TopK: 10})
	h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeHybrid, Text: "zebra", Vector: CorpusQueryVector(), TopK: 10})
	h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeVector, Vector: CorpusQueryVector(), TopK: 100, MinScore: -2})
}

func testLexicalOnlyCollection(h *harness) {
	name := h.name("lexonly")
	c := h.create(name, 0)
	if c.Dimension != 0 || c.Embedder != "" {
		h.Errorf("lexical-only collection: %+v", c)
	}
	ref := NewReference(c)
	for _, fd := range Corpus(name) {
		chunks := slices.Clone(fd.Chunks)
		for i := range chunks {
			chunks[i].Vector = nil
		}
		h.put(ref, fd.Doc, chunks)
	}
	h.wantCounts(name, 5, 10)
	for _, text := range CorpusLexicalQueries() {
		h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: text, TopK: 100})
	}
	err := h.s.PutDocument(h.ctx, ragd.Document{ID: "v", Collection: name}, []ragd.Chunk{{ID: "v0", DocumentID: "v", Text: "x", Vector: []float32{1}}})
	h.wantCode(err, ragd.EInvalid, "PutDocument with a vector into a lexical-only collection")
	for _, q := range []ragd.SearchQuery{
		{Collection: name, Mode: ragd.ModeVector, Vector: []float32{1, 0, 0, 0}, TopK: 5},
		{Collection: name, Mode: ragd.ModeVector, TopK: 5},
		{Collection: name, Mode: ragd.ModeHybrid, Text: "fox", TopK: 5},
	} {
		_, err := h.s.Search(h.ctx, q)
		h.wantCode(err, ragd.EInvalid, "Search("+describe(q)+") in a lexical-only collection")
	}
}

func testEmptyCollection(h *harness) {
	name := h.name("empty")
	h.create(name, 4)
	for _, q := range []ragd.SearchQuery{
		{Collection: name, Mode: ragd.ModeVector, Vector: CorpusQueryVector(), TopK: 10, MinScore: -2},
		{Collection: name, Mode: ragd.ModeLexical, Text: "fox", TopK: 10},
		{Collection: name, Mode: ragd.ModeHybrid, Text: "fox", Vector: CorpusQueryVector(), TopK: 10},
		{Collection: name, Mode: ragd.ModeLexical, Text: "fox", TopK: 10, Filter: mustFilter(h, `{"lang": "en"}`)},
	} {
		if hits := h.search(q); len(hits) != 0 {
			h.Errorf("Search(%s) in an empty collection: %v", describe(q), ids(hits))
		}
	}
	docs, err := h.s.Documents(h.ctx, name, "", 10)
	if err != nil || len(docs) != 0 {
		h.Errorf("Documents of an empty collection: %d, %v", len(docs), err)
	}
	h.wantCounts(name, 0, 0)
}

func testInvalidRequests(h *harness) {
	name, _ := h.corpus("invalid")
	for _, q := range []ragd.SearchQuery{
		{Collection: name, Mode: "fuzzy", Text: "fox", TopK: 5},
		{Collection: name, Mode: "", Text: "fox", TopK: 5},
		{Collection: name, Mode: ragd.ModeLexical, Text: "fox", TopK: 0},
		{Collection: name, Mode: ragd.ModeLexical, Text: "fox", TopK: -1},
		{Collection: name, Mode: ragd.ModeLexical, Text: "fox", TopK: ragd.MaxTopK + 1},
	} {
		_, err := h.s.Search(h.ctx, q)
		h.wantCode(err, ragd.EInvalid, "Search("+describe(q)+")")
	}
	err := h.s.PutDocument(h.ctx, ragd.Document{ID: "", Collection: name}, []ragd.Chunk{{ID: "x", Text: "x"}})
	h.wantCode(err, ragd.EInvalid, "PutDocument with an empty ID")
	h.wantCounts(name, 5, 10)
}

func testContextCancelled(h *harness) {
	name, _ := h.corpus("cancel")
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	want := func(err error, what string) {
		h.Helper()
		if !errors.Is(err, context.Canceled) {
			h.Errorf("%s with a cancelled context: %v, want context.Canceled", what, err)
		}
	}
	_, err := h.s.CreateCollection(ctx, ragd.Collection{Name: h.name("new"), Dimension: 2})
	want(err, "CreateCollection")
	_, err = h.s.Collection(ctx, name)
	want(err, "Collection")
	_, err = h.s.Collections(ctx)
	want(err, "Collections")
	want(h.s.DeleteCollection(ctx, name), "DeleteCollection")
	_, err = h.s.Document(ctx, name, "animals-1")
	want(err, "Document")
	_, err = h.s.Documents(ctx, name, "", 10)
	want(err, "Documents")
	_, err = h.s.Chunks(ctx, name, "animals-1")
	want(err, "Chunks")
	fd := Corpus(name)[0]
	fd.Doc.ID = "new-doc"
	want(h.s.PutDocument(ctx, fd.Doc, fd.Chunks), "PutDocument")
	want(h.s.DeleteDocument(ctx, name, "animals-2"), "DeleteDocument")
	for _, mode := range []string{ragd.ModeVector, ragd.ModeLexical, ragd.ModeHybrid} {
		_, err = h.s.Search(ctx, ragd.SearchQuery{Collection: name, Mode: mode, Text: "fox", Vector: CorpusQueryVector(), TopK: 5})
		want(err, "Search "+mode)
	}
	// Nothing changed.
	_, err = h.s.Collection(h.ctx, h.name("new"))
	h.wantCode(err, ragd.ENotFound, "Collection created with a cancelled context")
	_, err = h.s.Document(h.ctx, name, "new-doc")
	h.wantCode(err, ragd.ENotFound, "Document put with a cancelled context")
	h.wantCounts(name, 5, 10)
}

func testRandomOperations(h *harness) {
	name := h.name("random")
	c := h.create(name, 4)
	ref := NewReference(c)
	rng := rand.New(rand.NewPCG(42, 4242))
	filters := []string{"", `{"g": 1}`, `{"t": "x"}`, `{"tags": {"$in": ["p", "q"]}}`, `{"$or": [{"g": 0}, {"t": "y"}]}`}
	for op := 1; op <= 60; op++ {
		id := fmt.Sprintf("doc-%d", rng.IntN(6))
		if rng.IntN(5) == 0 {
			err := h.s.DeleteDocument(h.ctx, name, id)
			if ref.Delete(id) {
				if err != nil {
					h.Fatalf("op %d: DeleteDocument(%s): %v", op, id, err)
				}
			} else {
				h.wantCode(err, ragd.ENotFound, fmt.Sprintf("op %d: DeleteDocument(%s) of a missing document", op, id))
			}
		} else {
			doc := ragd.Document{ID: id, Collection: name, Title: fmt.Sprintf("%s v%d", id, op), Source: "s" + id,
				Metadata: map[string]any{"op": op}}
			var chunks []ragd.Chunk
			for i := 0; i < rng.IntN(5); i++ {
				meta := map[string]any{"g": rng.IntN(3), "t": []string{"x", "y"}[rng.IntN(2)]}
				if rng.IntN(2) == 0 {
					meta["tags"] = []any{[]string{"p", "q", "r"}[rng.IntN(3)], "s"}
				}
				var vec []float32
				if rng.IntN(7) != 0 {
					vec = RandomUnitVector(rng, 4, false)
				}
				text := RandomText(rng, 1+rng.IntN(12), 8)
				chunks = append(chunks, ragd.Chunk{ID: fmt.Sprintf("%s-%d", id, i), DocumentID: id, Index: i,
					Text: text, End: len(text), Metadata: meta, Vector: vec})
			}
			h.put(ref, doc, chunks)
		}
		docs, chunks := ref.Counts()
		h.wantCounts(name, docs, chunks)
		if op%10 != 0 {
			continue
		}
		list, err := h.s.Documents(h.ctx, name, "", 100)
		if err != nil {
			h.Fatalf("Documents: %v", err)
		}
		var got []string
		for _, d := range list {
			got = append(got, d.ID)
			_, cs, _ := ref.Document(d.ID)
			stored, err := h.s.Chunks(h.ctx, name, d.ID)
			if err != nil {
				h.Fatalf("Chunks(%s): %v", d.ID, err)
			}
			if diff := cmp.Diff(chunkIDs(cs), chunkIDs(stored), cmpopts.EquateEmpty()); diff != "" {
				h.Errorf("op %d: Chunks(%s) (-want +got):\n%s", op, d.ID, diff)
			}
		}
		if diff := cmp.Diff(ref.DocumentIDs(), got, cmpopts.EquateEmpty()); diff != "" {
			h.Errorf("op %d: Documents (-want +got):\n%s", op, diff)
		}
		for i := 0; i < 15; i++ {
			q := ragd.SearchQuery{
				Collection: name,
				Mode:       []string{ragd.ModeVector, ragd.ModeLexical, ragd.ModeHybrid}[rng.IntN(3)],
				Text:       RandomText(rng, 1+rng.IntN(3), 8),
				Vector:     RandomUnitVector(rng, 4, false),
				TopK:       1 + rng.IntN(12),
			}
			if fs := filters[rng.IntN(len(filters))]; fs != "" {
				q.Filter = mustFilter(h, fs)
			}
			if q.Mode == ragd.ModeVector {
				q.MinScore = -2
			}
			ranked, err := ref.Rank(q)
			if err != nil {
				h.Fatal(err)
			}
			// Sometimes cut at a score between two hits.
			if len(ranked) > 2 && rng.IntN(3) == 0 {
				k := 1 + rng.IntN(len(ranked)-1)
				if ranked[k-1].Score-ranked[k].Score > 2*ScoreTolerance {
					q.MinScore = midScore(ranked, k)
				}
			}
			h.check(ref, q)
		}
	}
}

func testConcurrentReaders(h *harness) {
	name := h.name("concurrent")
	h.create(name, 4)
	vec := []float32{0, 0, 1, 0}
	version := func(v int) (ragd.Document, []ragd.Chunk) {
		doc := ragd.Document{ID: "hot", Collection: name, Title: fmt.Sprintf("Hot v%d", v), Metadata: map[string]any{"version": v}}
		var chunks []ragd.Chunk
		for i := 0; i < 1+v%4; i++ {
			chunks = append(chunks, ragd.Chunk{ID: fmt.Sprintf("hot-%d", i), DocumentID: "hot", Index: i,
				Text: fmt.Sprintf("hotterm version%d part %d", v, i), Metadata: map[string]any{"version": v}, Vector: vec})
		}
		return doc, chunks
	}
	h.put(nil, ragd.Document{ID: "cold", Collection: name, Title: "Cold"}, []ragd.Chunk{
		{ID: "cold-0", DocumentID: "cold", Text: "hotterm stays here", Vector: []float32{0, 0.6, 0.8, 0}},
	})
	doc, chunks := version(0)
	h.put(nil, doc, chunks)

	const versions = 40
	done := make(chan struct{})
	errs := make(chan error, 64)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	// checkHot verifies that the hits of "hot" are one whole version.
	checkHot := func(what string, hits []ragd.Hit) {
		v := -1.0
		n := 0
		for _, hit := range hits {
			if hit.DocumentID != "hot" {
				continue
			}
			n++
			hv, _ := hit.Metadata["version"].(float64)
			if v >= 0 && hv != v {
				report(fmt.Errorf("%s: hits mix versions %v and %v", what, v, hv))
				return
			}
			v = hv
			if !strings.Contains(hit.Text, fmt.Sprintf("version%d ", int(hv))) || hit.Title != fmt.Sprintf("Hot v%d", int(hv)) {
				report(fmt.Errorf("%s: hit %s of version %v has text %q and title %q", what, hit.ChunkID, hv, hit.Text, hit.Title))
			}
		}
		if n == 0 {
			report(fmt.Errorf("%s: no chunk of the document being replaced", what))
			return
		}
		if want := 1 + int(v)%4; n != want {
			report(fmt.Errorf("%s: %d chunks of version %v, want %d", what, n, v, want))
		}
	}
	readers := make(chan int, 4)
	for r := 0; r < 4; r++ {
		go func() {
			reads := 0
			defer func() { readers <- reads }()
			for i := 0; ; i++ {
				select {
				case <-done:
					if reads > 0 {
						return
					}
				default:
				}
				reads++
				q := ragd.SearchQuery{Collection: name, Text: "hotterm", Vector: vec, TopK: 100, MinScore: -2}
				q.Mode = []string{ragd.ModeLexical, ragd.ModeVector, ragd.ModeHybrid}[(i+r)%3]
				hits, err := h.s.Search(h.ctx, q)
				if err != nil {
					report(fmt.Errorf("Search(%s): %w", describe(q), err))
					return
				}
				checkHot(describe(q), hits)
				cs, err := h.s.Chunks(h.ctx, name, "hot")
				if err != nil {
					report(fmt.Errorf("Chunks: %w", err))
					return
				}
				if len(cs) == 0 {
					report(errors.New("Chunks returned no chunks"))
					continue
				}
				v, _ := cs[0].Metadata["version"].(float64)
				for _, c := range cs {
					if cv, _ := c.Metadata["version"].(float64); cv != v {
						report(fmt.Errorf("Chunks mixes versions %v and %v", v, cv))
					}
				}
				if len(cs) != 1+int(v)%4 {
					report(fmt.Errorf("Chunks has %d chunks of version %v", len(cs), v))
				}
				d, err := h.s.Document(h.ctx, name, "hot")
				if err != nil {
					report(fmt.Errorf("Document: %w", err))
					return
				}
				if dv, _ := d.Metadata["version"].(float64); d.ChunkCount != 1+int(dv)%4 || d.Title != fmt.Sprintf("Hot v%d", int(dv)) {
					report(fmt.Errorf("Document of version %v has %d chunks and title %q", dv, d.ChunkCount, d.Title))
				}
			}
		}()
	}
	for v := 1; v <= versions; v++ {
		doc, chunks := version(v)
		if err := h.s.PutDocument(h.ctx, doc, chunks); err != nil {
			report(fmt.Errorf("PutDocument v%d: %w", v, err))
			break
		}
	}
	close(done)
	total := 0
	for r := 0; r < 4; r++ {
		total += <-readers
	}
	close(errs)
	for err := range errs {
		h.Error(err)
	}
	h.Logf("%d reads during %d replaces", total, versions)
	doc, chunks = version(versions)
	ref := NewReference(ragd.Collection{Name: name, Dimension: 4})
	ref.Put(ragd.Document{ID: "cold", Collection: name, Title: "Cold"}, []ragd.Chunk{
		{ID: "cold-0", DocumentID: "cold", Text: "hotterm stays here", Vector: []float32{0, 0.6, 0.8, 0}},
	})
	ref.Put(doc, chunks)
	h.check(ref, ragd.SearchQuery{Collection: name, Mode: ragd.ModeLexical, Text: "hotterm", TopK: 100})
	h.wantCounts(name, 2, 1+len(chunks))
}
