package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ragd/ragd"
)

// Index is the store as ingestion uses it.
type Index interface {
	CreateCollection(ctx context.Context, c ragd.Collection) (ragd.Collection, error)
	Collection(ctx context.Context, name string) (ragd.Collection, error)
	Document(ctx context.Context, collection, id string) (ragd.Document, error)
	Chunks(ctx context.Context, collection, documentID string) ([]ragd.Chunk, error)
	PutDocument(ctx context.Context, doc ragd.Document, chunks []ragd.Chunk) error
}

// Ingestion limits.
const (
	// DefaultMaxChunks caps the chunks of one document (RELIABILITY H-11):
	// a document over it is truncated and says so.
	DefaultMaxChunks = 5000
	// DefaultEmbedBatch is how many chunk texts go to the embedder per call.
	DefaultEmbedBatch = 64
)

// The stages of ingestion, as Service.Observe names them.
const (
	StageExtract = "extract"
	StageChunk   = "chunk"
	StageEmbed   = "embed"
	StageStore   = "store"
)

// NoEmbedder is the embedder name of lexical-only collections.
const NoEmbedder = "none"

// Service ingests files and texts into collections.
type Service struct {
	Index     Index
	Extractor Extractor
	Chunker   *Chunker
	// Embedder returns the document embedder of the named embedder, or an
	// error saying why it cannot be used now; chunks are then stored without
	// vectors (lexical mode) and embedded when the document is ingested
	// again with the embedder available.
	Embedder func(name string) (Embedder, error)
	// Dimension returns the vector size of a named embedder, known even when
	// the embedder cannot run now; an error means the name is unknown.
	Dimension func(name string) (int, error)
	// DefaultEmbedder is the embedder of collections created without one.
	DefaultEmbedder string
	MaxChunks       int
	EmbedBatch      int
	Now             func() time.Time
	Logger          *slog.Logger
	// Observe, when set, is told how long each stage of ingesting a file
	// or text took: StageExtract, StageChunk, StageEmbed and StageStore.
	Observe func(stage string, d time.Duration)

	locks  keyedMutex
	warned sync.Map // embedder names already warned about
}

// Text is a document given as text rather than as a file.
type Text struct {
	ID       string
	Title    string
	Text     string
	Source   string
	Metadata map[string]any
}

// CreateCollection creates a collection, filling in the default embedder
// and chunking. It returns EInvalid for a bad name, an unknown embedder or
// bad chunking, and EConflict when the collection exists.
func (s *Service) CreateCollection(ctx context.Context, c ragd.Collection) (ragd.Collection, error) {
	if err := ragd.ValidateCollectionName(c.Name); err != nil {
		return ragd.Collection{}, err
	}
	if c.Embedder == "" {
		c.Embedder = s.DefaultEmbedder
	}
	if c.Embedder == "" {
		c.Embedder = NoEmbedder
	}
	c.Dimension = 0
	if c.Embedder != NoEmbedder {
		dim, err := s.Dimension(c.Embedder)
		if err != nil {
			return ragd.Collection{}, ragd.WrapError(ragd.EInvalid, err, "embedder %q is not known", c.Embedder)
		}
		c.Dimension = dim
	}
	if c.Chunking == (ragd.Chunking{}) {
		c.Chunking = ragd.Chunking{MaxTokens: ragd.DefaultMaxTokens, OverlapTokens: ragd.DefaultOverlapTokens}
	}
	if err := c.Chunking.Validate(); err != nil {
		return ragd.Collection{}, err
	}
	c.CreatedAt = s.now()
	c.DocumentCount, c.ChunkCount = 0, 0
	return s.Index.CreateCollection(ctx, c)
}

// collection returns the named collection, creating it with defaults if it
// does not exist.
func (s *Service) collection(ctx context.Context, name string) (ragd.Collection, error) {
	c, err := s.Index.Collection(ctx, name)
	if ragd.ErrorCode(err) != ragd.ENotFound {
		return c, err
	}
	c, err = s.CreateCollection(ctx, ragd.Collection{Name: name})
	if ragd.ErrorCode(err) == ragd.EConflict { // created meanwhile
		return s.Index.Collection(ctx, name)
	}
	return c, err
}

// IngestFile extracts f and ingests every document it yields into the
// collection, creating the collection if needed. metadata is merged over
// what extraction found. A file with f.ID set must yield one document.
func (s *Service) IngestFile(ctx context.Context, collection string, f File, metadata map[string]any) ([]Result, error) {
	name := displayName(f.Name)
	if len(f.Data) == 0 {
		return nil, ragd.Errorf(ragd.EInvalid, "file %q is empty", name)
	}
	if f.ID != "" {
		if err := ValidateDocumentID(f.ID); err != nil {
			return nil, err
		}
	}
	coll, err := s.collection(ctx, collection)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	docs, err := s.Extractor.Extract(ctx, f)
	s.observe(StageExtract, start)
	if err != nil {
		return nil, fmt.Errorf("extract %q: %w", name, err)
	}
	if f.ID != "" && len(docs) != 1 {
		return nil, ragd.Errorf(ragd.EInvalid, "file %q yields %d documents; a document ID can name only one", name, len(docs))
	}
	results := make([]Result, 0, len(docs))
	for _, d := range docs {
		id := f.ID
		if id == "" {
			id = DocumentID(f.Name, d.Key, d.Blocks)
		}
		source := f.Name
		if d.Key != "" {
			source += "#" + d.Key
		}
		r, err := s.ingest(ctx, coll, id, source, "", d, metadata)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	return results, nil
}

// IngestText ingests a text as one document (paragraphs at blank lines).
func (s *Service) IngestText(ctx context.Context, collection string, t Text) (Result, error) {
	if t.ID != "" {
		if err := ValidateDocumentID(t.ID); err != nil {
			return Result{}, err
		}
	}
	coll, err := s.collection(ctx, collection)
	if err != nil {
		return Result{}, err
	}
	d := Doc{ContentType: "text/plain", Blocks: TextBlocks(t.Text)}
	id := t.ID
	if id == "" {
		key := t.Source
		if key == "" {
			key = t.Title
		}
		id = DocumentID(key, "", d.Blocks)
	}
	return s.ingest(ctx, coll, id, t.Source, t.Title, d, t.Metadata)
}

// TextBlocks splits plain text into paragraph blocks at blank lines.
func TextBlocks(text string) []Block {
	var blocks []Block
	for _, p := range blankLines.Split(strings.TrimSpace(text), -1) {
		if p = strings.TrimSpace(p); p != "" {
			blocks = append(blocks, Block{Kind: BlockParagraph, Text: p})
		}
	}
	return blocks
}

var blankLines = regexp.MustCompile(`\n[ \t\r]*\n`)

func (s *Service) ingest(ctx context.Context, coll ragd.Collection, id, source, title string, d Doc, metadata map[string]any) (Result, error) {
	unlock := s.locks.lock(coll.Name + "\x00" + id)
	defer unlock()

	start := time.Now()
	blocks := make([]Block, 0, len(d.Blocks))
	for _, b := range d.Blocks {
		b.Text = strings.TrimSpace(Normalize(b.Text))
		if b.Text != "" {
			blocks = append(blocks, b)
		}
	}
	meta := mergeMetadata(d.Metadata, metadata)
	if title == "" {
		title = d.Title
	}
	if title == "" {
		title = displayName(source)
	}
	if title == "" {
		title = id
	}
	title = Normalize(oneLine(title))
	text, chunks := s.Chunker.Chunk(blocks, coll.Chunking, title)
	s.observe(StageChunk, start)
	if len(chunks) == 0 {
		return Result{}, ragd.Errorf(ragd.EInvalid, "no text could be extracted from %q", displayName(orDefault(source, title)))
	}
	truncated := d.Truncated
	if limit := orDefaultInt(s.MaxChunks, DefaultMaxChunks); len(chunks) > limit {
		chunks, truncated = chunks[:limit], true
	}
	hash := contentHash(text, title, source, meta, coll.Chunking)

	old, err := s.Index.Document(ctx, coll.Name, id)
	exists := err == nil
	if err != nil && ragd.ErrorCode(err) != ragd.ENotFound {
		return Result{}, err
	}
	var (
		emb    Embedder
		embErr error
	)
	if coll.Dimension > 0 {
		emb, embErr = s.Embedder(coll.Embedder)
	}
	result := Result{DocumentID: id, Title: title, Source: source, Chunks: len(chunks), Truncated: truncated}
	if exists && old.ContentHash == hash && (old.Embedder == coll.Embedder || emb == nil) {
		result.Status = ragd.StatusUnchanged
		result.Chunks = old.ChunkCount
		return result, nil
	}

	// Reuse the vectors of chunks whose embedded text did not change.
	reuse := map[string][]float32{}
	if exists && coll.Dimension > 0 {
		oldChunks, err := s.Index.Chunks(ctx, coll.Name, id)
		if err != nil {
			return Result{}, err
		}
		for _, c := range oldChunks {
			if len(c.Vector) == coll.Dimension {
				reuse[c.Hash] = c.Vector
			}
		}
	}
	var todo []int
	for i := range chunks {
		c := &chunks[i]
		c.ID = ChunkID(coll.Name, id, i)
		c.DocumentID = id
		c.Metadata = chunkMetadata(meta, c.Metadata)
		if v, ok := reuse[c.Hash]; ok {
			c.Vector = v
		} else if emb != nil {
			todo = append(todo, i)
		}
	}
	start = time.Now()
	err = s.embed(ctx, emb, chunks, todo)
	s.observe(StageEmbed, start)
	if err != nil {
		return Result{}, fmt.Errorf("embed %q: %w", displayName(orDefault(source, title)), err)
	}
	result.Embedded = len(todo)
	if coll.Dimension > 0 && emb == nil {
		if _, seen := s.warned.LoadOrStore(coll.Embedder, true); !seen {
			s.logger().Warn("storing chunks without vectors while the embedder is unavailable; ingesting a document again embeds it",
				"collection", coll.Name, "embedder", coll.Embedder, "reason", ragd.ErrorMessage(embErr))
		}
	}

	now := s.now()
	doc := ragd.Document{
		ID:          id,
		Collection:  coll.Name,
		Title:       title,
		Source:      source,
		ContentType: d.ContentType,
		Metadata:    meta,
		ContentHash: hash,
		ChunkCount:  len(chunks),
		Bytes:       len(text),
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if coll.Dimension > 0 && allEmbedded(chunks) {
		doc.Embedder = coll.Embedder
	}
	if exists {
		doc.CreatedAt = old.CreatedAt
		result.Status = ragd.StatusUpdated
	} else {
		result.Status = ragd.StatusIndexed
	}
	start = time.Now()
	err = s.Index.PutDocument(ctx, doc, chunks)
	s.observe(StageStore, start)
	if err != nil {
		return Result{}, err
	}
	return result, nil
}

// observe reports the time since start as the stage's.
func (s *Service) observe(stage string, start time.Time) {
	if s.Observe != nil {
		s.Observe(stage, time.Since(start))
	}
}

// embed fills in the vectors of chunks[todo...] in batches.
func (s *Service) embed(ctx context.Context, emb Embedder, chunks []ragd.Chunk, todo []int) error {
	batch := orDefaultInt(s.EmbedBatch, DefaultEmbedBatch)
	for start := 0; start < len(todo); start += batch {
		idx := todo[start:min(start+batch, len(todo))]
		texts := make([]string, len(idx))
		for i, k := range idx {
			texts[i] = chunks[k].EmbeddingText()
		}
		vecs, err := emb.EmbedDocuments(ctx, texts)
		if err != nil {
			return fmt.Errorf("batch at chunk %d: %w", idx[0], err)
		}
		if len(vecs) != len(texts) {
			return ragd.Errorf(ragd.EUpstream, "embedder returned %d vectors for %d texts", len(vecs), len(texts))
		}
		for i, k := range idx {
			chunks[k].Vector = vecs[i]
		}
	}
	return nil
}

func allEmbedded(chunks []ragd.Chunk) bool {
	for _, c := range chunks {
		if c.Vector == nil {
			return false
		}
	}
	return true
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

var documentIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

// ValidateDocumentID checks a document ID given by a client: 1 to 128
// letters, digits, '.', '_', ':', '@' or '-', starting with a letter or
// digit, so that it is safe in URLs, logs and every store.
func ValidateDocumentID(id string) error {
	if !documentIDRE.MatchString(id) {
		return ragd.Errorf(ragd.EInvalid, "document id %q is invalid: use 1 to 128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit", id)
	}
	return nil
}

// DocumentID derives a stable document ID from a source key (file name,
// path or URL) and a record key within it; without a source, from the
// content, so the same text uploaded twice is the same document.
func DocumentID(source, key string, blocks []Block) string {
	h := sha256.New()
	if source != "" {
		h.Write([]byte("source\x00" + source + "\x00" + key))
	} else {
		h.Write([]byte("content\x00"))
		for _, b := range blocks {
			h.Write([]byte(b.Text))
			h.Write([]byte{0})
		}
	}
	return "doc_" + hex.EncodeToString(h.Sum(nil))[:24]
}

// ChunkID is the stable ID of a document's index-th chunk.
func ChunkID(collection, documentID string, index int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", collection, documentID, index))
	return hex.EncodeToString(sum[:16])
}

func contentHash(text, title, source string, meta map[string]any, c ragd.Chunking) string {
	h := sha256.New()
	metaJSON, _ := json.Marshal(meta) // map keys are sorted: canonical
	fmt.Fprintf(h, "v1\x00%d\x00%d\x00%s\x00%s\x00%s\x00", c.MaxTokens, c.OverlapTokens, title, source, metaJSON)
	h.Write([]byte(text))
	return hex.EncodeToString(h.Sum(nil))
}

// displayName is the last element of a file name or URL path, without
// separators or NUL bytes.
func displayName(name string) string {
	name = strings.ReplaceAll(strings.ReplaceAll(name, "\\", "/"), "\x00", "")
	if i := strings.IndexAny(name, "?#"); i >= 0 && strings.Contains(name, "://") {
		name = name[:i]
	}
	base := path.Base(strings.TrimRight(name, "/"))
	if base == "." || base == "/" || base == ".." {
		return ""
	}
	return base
}

// mergeMetadata returns extracted metadata overlaid with given metadata,
// with strings normalized (no NUL, valid UTF-8) at any depth.
func mergeMetadata(extracted, given map[string]any) map[string]any {
	if len(extracted) == 0 && len(given) == 0 {
		return nil
	}
	out := make(map[string]any, len(extracted)+len(given))
	for k, v := range extracted {
		out[Normalize(k)] = cleanValue(v)
	}
	for k, v := range given {
		out[Normalize(k)] = cleanValue(v)
	}
	return out
}

func cleanValue(v any) any {
	switch x := v.(type) {
	case string:
		return Normalize(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cleanValue(e)
		}
		return out
	case map[string]any:
		return mergeMetadata(nil, x)
	}
	return v
}

// chunkMetadata is what filters see for a chunk: the document's metadata
// with the chunk's own (page numbers) on top.
func chunkMetadata(doc, own map[string]any) map[string]any {
	if len(own) == 0 {
		return doc
	}
	out := make(map[string]any, len(doc)+len(own))
	for k, v := range doc {
		out[k] = v
	}
	for k, v := range own {
		out[k] = v
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orDefaultInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// keyedMutex serializes work on the same key (a document) within this
// process, so two uploads of one document do not race.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
