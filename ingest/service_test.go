package ingest_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// memIndex is an in-memory ingest.Index for pipeline tests.
type memIndex struct {
	mu     sync.Mutex
	colls  map[string]ragd.Collection
	docs   map[string]ragd.Document
	chunks map[string][]ragd.Chunk
	puts   int
}

func newMemIndex() *memIndex {
	return &memIndex{colls: map[string]ragd.Collection{}, docs: map[string]ragd.Document{}, chunks: map[string][]ragd.Chunk{}}
}

func (m *memIndex) CreateCollection(_ context.Context, c ragd.Collection) (ragd.Collection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.colls[c.Name]; ok {
		return ragd.Collection{}, ragd.Errorf(ragd.EConflict, "collection %q exists", c.Name)
	}
	m.colls[c.Name] = c
	return c, nil
}

func (m *memIndex) Collection(_ context.Context, name string) (ragd.Collection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.colls[name]
	if !ok {
		return ragd.Collection{}, ragd.Errorf(ragd.ENotFound, "collection %q does not exist", name)
	}
	return c, nil
}

func (m *memIndex) Document(_ context.Context, coll, id string) (ragd.Document, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[coll+"/"+id]
	if !ok {
		return ragd.Document{}, ragd.Errorf(ragd.ENotFound, "document %q does not exist", id)
	}
	return d, nil
}

func (m *memIndex) Chunks(_ context.Context, coll, id string) ([]ragd.Chunk, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.chunks[coll+"/"+id], nil
}

func (m *memIndex) PutDocument(_ context.Context, d ragd.Document, chunks []ragd.Chunk) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.colls[d.Collection]
	for _, ch := range chunks {
		if ch.Vector != nil && len(ch.Vector) != c.Dimension {
			return ragd.Errorf(ragd.EInvalid, "dimension %d, want %d", len(ch.Vector), c.Dimension)
		}
	}
	m.docs[d.Collection+"/"+d.ID] = d
	m.chunks[d.Collection+"/"+d.ID] = chunks
	m.puts++
	return nil
}

// countingEmbedder returns a vector derived from each text and counts the
// texts it embedded.
type countingEmbedder struct {
	dim   int
	texts atomic.Int64
}

func (e *countingEmbedder) EmbedDocuments(_ context.Context, texts []string) ([][]float32, error) {
	e.texts.Add(int64(len(texts)))
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, e.dim)
		v[len(t)%e.dim] = 1
		out[i] = v
	}
	return out, nil
}

// textExtractor treats every file as plain text.
type textExtractor struct{}

func (textExtractor) Extract(_ context.Context, f ingest.File) ([]ingest.Doc, error) {
	if strings.HasPrefix(string(f.Data), "\x7fELF") {
		return nil, ragd.Errorf(ragd.EUnsupported, "%s is an executable", f.Name)
	}
	return []ingest.Doc{{ContentType: "text/plain", Blocks: ingest.TextBlocks(string(f.Data)), Metadata: map[string]any{"lang": "en"}}}, nil
}

func newService(idx *memIndex, emb *countingEmbedder, embErr error) *ingest.Service {
	return &ingest.Service{
		Index:     idx,
		Extractor: textExtractor{},
		Chunker:   &ingest.Chunker{Tokenizer: wordTokenizer{}},
		Embedder: func(name string) (ingest.Embedder, error) {
			if embErr != nil {
				return nil, embErr
			}
			return emb, nil
		},
		Dimension: func(name string) (int, error) {
			if name != "test-embedder" {
				return 0, fmt.Errorf("unknown embedder %q", name)
			}
			return emb.dim, nil
		},
		DefaultEmbedder: "test-embedder",
	}
}

func doc(paragraphs ...string) []byte { return []byte(strings.Join(paragraphs, "\n\n")) }

func TestIngestFileLifecycle(t *testing.T) {
	ctx := context.Background()
	idx := newMemIndex()
	emb := &countingEmbedder{dim: 4}
	s := newService(idx, emb, nil)
	if _, err := s.CreateCollection(ctx, ragd.Collection{Name: "c", Chunking: ragd.Chunking{MaxTokens: 20, OverlapTokens: 0}}); err != nil {
		t.Fatal(err)
	}
	v1 := doc(para(1, "alpha"), para(1, "beta"), para(1, "gamma"))
	res, err := s.IngestFile(ctx, "c", ingest.File{Name: "dir/notes.txt", Data: v1}, map[string]any{"team": "docs"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Status != ragd.StatusIndexed || res[0].Chunks != 3 || res[0].Embedded != 3 || res[0].Title != "notes.txt" {
		t.Fatalf("first ingest = %+v", res)
	}
	id := res[0].DocumentID
	d, _ := idx.Document(ctx, "c", id)
	if d.Embedder != "test-embedder" || d.Metadata["team"] != "docs" || d.Metadata["lang"] != "en" || d.Source != "dir/notes.txt" {
		t.Errorf("document = %+v", d)
	}
	chunks, _ := idx.Chunks(ctx, "c", id)
	for _, c := range chunks {
		if c.ID == "" || c.DocumentID != id || c.Vector == nil || c.Metadata["team"] != "docs" {
			t.Errorf("chunk = %+v", c)
		}
	}

	// The same content again: unchanged, nothing embedded or written.
	puts := idx.puts
	res, err = s.IngestFile(ctx, "c", ingest.File{Name: "dir/notes.txt", Data: v1}, map[string]any{"team": "docs"})
	if err != nil || res[0].Status != ragd.StatusUnchanged || res[0].DocumentID != id || emb.texts.Load() != 3 || idx.puts != puts {
		t.Fatalf("second ingest = %+v, %v; embedded %d, puts %d", res, err, emb.texts.Load(), idx.puts-puts)
	}

	// One paragraph changed: updated, only that chunk embedded.
	v2 := doc(para(1, "alpha"), para(1, "BETA"), para(1, "gamma"))
	res, err = s.IngestFile(ctx, "c", ingest.File{Name: "dir/notes.txt", Data: v2}, map[string]any{"team": "docs"})
	if err != nil || res[0].Status != ragd.StatusUpdated || res[0].Embedded != 1 || emb.texts.Load() != 4 {
		t.Fatalf("changed ingest = %+v, %v; embedded %d in all", res, err, emb.texts.Load())
	}
	// Changed metadata alone is an update too.
	res, _ = s.IngestFile(ctx, "c", ingest.File{Name: "dir/notes.txt", Data: v2}, map[string]any{"team": "eng"})
	if res[0].Status != ragd.StatusUpdated || res[0].Embedded != 0 {
		t.Errorf("metadata change = %+v", res[0])
	}
}

func TestIngestWithoutEmbedderStoresLexicalThenEmbedsLater(t *testing.T) {
	ctx := context.Background()
	idx := newMemIndex()
	emb := &countingEmbedder{dim: 4}
	down := newService(idx, emb, ragd.Errorf(ragd.EUnavailable, "no model"))
	res, err := down.IngestText(ctx, "auto", ingest.Text{Title: "T", Text: "Some text here."})
	if err != nil || res.Status != ragd.StatusIndexed || res.Embedded != 0 {
		t.Fatalf("ingest without embedder = %+v, %v", res, err)
	}
	c, _ := idx.Collection(ctx, "auto")
	if c.Embedder != "test-embedder" || c.Dimension != 4 || c.Chunking.MaxTokens != ragd.DefaultMaxTokens {
		t.Errorf("auto-created collection = %+v", c)
	}
	d, _ := idx.Document(ctx, "auto", res.DocumentID)
	if d.Embedder != "" {
		t.Errorf("document claims embedder %q without vectors", d.Embedder)
	}
	// Unchanged while the embedder is still down.
	if res, _ := down.IngestText(ctx, "auto", ingest.Text{Title: "T", Text: "Some text here."}); res.Status != ragd.StatusUnchanged {
		t.Errorf("still down: %+v", res)
	}
	up := newService(idx, emb, nil)
	res, err = up.IngestText(ctx, "auto", ingest.Text{Title: "T", Text: "Some text here."})
	if err != nil || res.Status != ragd.StatusUpdated || res.Embedded != 1 {
		t.Errorf("embedder back = %+v, %v", res, err)
	}
}

func TestIngestErrors(t *testing.T) {
	ctx := context.Background()
	s := newService(newMemIndex(), &countingEmbedder{dim: 4}, nil)
	tests := []struct {
		name string
		f    ingest.File
		code string
	}{
		{"empty file", ingest.File{Name: "e.txt"}, ragd.EInvalid},
		{"whitespace only", ingest.File{Name: "w.txt", Data: []byte(" \n\x00 ")}, ragd.EInvalid},
		{"unsupported", ingest.File{Name: "a.pdf", Data: []byte("\x7fELF...")}, ragd.EUnsupported},
		{"bad id", ingest.File{Name: "x.txt", ID: "../etc", Data: []byte("x")}, ragd.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.IngestFile(ctx, "c", tt.f, nil)
			if ragd.ErrorCode(err) != tt.code {
				t.Errorf("err = %v, want %s", err, tt.code)
			}
		})
	}
	for _, c := range []ragd.Collection{
		{Name: "bad name!"},
		{Name: "ok", Embedder: "nonsense"},
		{Name: "ok", Chunking: ragd.Chunking{MaxTokens: 5000}},
		{Name: "ok", Chunking: ragd.Chunking{MaxTokens: 100, OverlapTokens: 90}},
	} {
		if _, err := s.CreateCollection(ctx, c); ragd.ErrorCode(err) != ragd.EInvalid {
			t.Errorf("CreateCollection(%+v) err = %v, want invalid", c, err)
		}
	}
	if _, err := s.CreateCollection(ctx, ragd.Collection{Name: "lex", Embedder: ingest.NoEmbedder}); err != nil {
		t.Errorf("lexical-only collection: %v", err)
	}
}

// TestIngestTruncatesAtMaxChunks covers the chunk cap of RELIABILITY.md
// H-11: a document over it is cut and marked truncated.
func TestIngestTruncatesAtMaxChunks(t *testing.T) {
	ctx := context.Background()
	idx := newMemIndex()
	s := newService(idx, &countingEmbedder{dim: 4}, nil)
	s.MaxChunks = 5
	s.CreateCollection(ctx, ragd.Collection{Name: "c", Chunking: ragd.Chunking{MaxTokens: 20}})
	res, err := s.IngestFile(ctx, "c", ingest.File{Name: "big.txt", Data: []byte(para(50, "big"))}, nil)
	if err != nil || res[0].Chunks != 5 || !res[0].Truncated {
		t.Errorf("result = %+v, %v", res, err)
	}
}

func TestIngestSameDocumentConcurrently(t *testing.T) {
	ctx := context.Background()
	idx := newMemIndex()
	emb := &countingEmbedder{dim: 4}
	s := newService(idx, emb, nil)
	var wg sync.WaitGroup
	statuses := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			res, err := s.IngestFile(ctx, "c", ingest.File{Name: "same.txt", Data: []byte(para(3, "same"))}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			statuses <- res[0].Status
		})
	}
	wg.Wait()
	close(statuses)
	counts := map[string]int{}
	for st := range statuses {
		counts[st]++
	}
	if !maps.Equal(counts, map[string]int{ragd.StatusIndexed: 1, ragd.StatusUnchanged: 7}) {
		t.Errorf("statuses = %v", counts)
	}
}

func TestDocumentIDs(t *testing.T) {
	a := ingest.DocumentID("a/b.txt", "", nil)
	if a != ingest.DocumentID("a/b.txt", "", nil) || a == ingest.DocumentID("a/c.txt", "", nil) || a == ingest.DocumentID("a/b.txt", "row1", nil) {
		t.Error("source-derived IDs are not stable and distinct")
	}
	blocks := []ingest.Block{{Text: "x"}}
	if ingest.DocumentID("", "", blocks) != ingest.DocumentID("", "", []ingest.Block{{Text: "x"}}) {
		t.Error("content-derived IDs are not stable")
	}
	if err := ingest.ValidateDocumentID(a); err != nil {
		t.Errorf("derived ID %q is not valid: %v", a, err)
	}
	for _, bad := range []string{"", "../x", "a/b", "a b", strings.Repeat("a", 129), "-x", "a\x00"} {
		if ingest.ValidateDocumentID(bad) == nil {
			t.Errorf("ValidateDocumentID(%q) accepted", bad)
		}
	}
}

func TestObserveStages(t *testing.T) {
	ctx := context.Background()
	s := newService(newMemIndex(), &countingEmbedder{dim: 4}, nil)
	var mu sync.Mutex
	seen := map[string]int{}
	s.Observe = func(stage string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if d < 0 {
			t.Errorf("%s took %v", stage, d)
		}
		seen[stage]++
	}
	f := ingest.File{Name: "a.txt", Data: doc(para(1, "alpha"), para(1, "beta"))}
	if _, err := s.IngestFile(ctx, "c", f, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{ingest.StageExtract: 1, ingest.StageChunk: 1, ingest.StageEmbed: 1, ingest.StageStore: 1}
	if !maps.Equal(seen, want) {
		t.Errorf("stages = %v, want %v", seen, want)
	}
	// Unchanged content is extracted and chunked, never embedded or stored.
	if _, err := s.IngestFile(ctx, "c", f, nil); err != nil {
		t.Fatal(err)
	}
	want[ingest.StageExtract], want[ingest.StageChunk] = 2, 2
	if !maps.Equal(seen, want) {
		t.Errorf("stages after an unchanged ingest = %v, want %v", seen, want)
	}
}
