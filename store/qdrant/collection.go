package qdrant

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/ragd/ragd"
)

// Names inside every Qdrant collection the store owns.
const (
	denseVector  = "dense"   // the chunk embedding, cosine
	sparseVector = "lexical" // BM25 term weights, IDF modifier

	metadataKey   = "ragd" // the collection metadata entry describing the ragd collection
	schemaVersion = 1
)

// Payload keys.
const (
	keyKind       = "kind" // kindDoc, kindChunk or kindIntent
	keyCollection = "collection"
	keyDocID      = "doc_id"
	keyVersion    = "version"

	// document records
	keyTitle       = "title"
	keySource      = "source"
	keyContentType = "content_type"
	keyMetadata    = "metadata"
	keyContentHash = "content_hash"
	keyEmbedder    = "embedder"
	keyChunkCount  = "chunk_count"
	keyBytes       = "bytes"
	keyCreatedAt   = "created_at"
	keyUpdatedAt   = "updated_at"
	keySortKey     = "sort_key"

	// chunks
	keyChunkID  = "chunk_id"
	keyIndex    = "index"
	keyText     = "text"
	keyHeadings = "headings"
	keyStart    = "start"
	keyEnd      = "end"
	keyTokens   = "tokens"
	keyHash     = "hash"
	keyDL       = "dl" // length in lexical terms

	// intents
	keyOp         = "op"
	keyNewVersion = "new_version"
	keyOldVersion = "old_version"
	keyStartedMS  = "started_ms"
)

const (
	kindDoc    = "doc"
	kindChunk  = "chunk"
	kindIntent = "intent"
)

// baseIndexes are the payload indexes every collection gets: the keys the
// store itself filters and orders by.
var baseIndexes = map[string]qdrant.FieldType{
	keyKind:       qdrant.FieldType_FieldTypeKeyword,
	keyCollection: qdrant.FieldType_FieldTypeKeyword,
	keyDocID:      qdrant.FieldType_FieldTypeKeyword,
	keyVersion:    qdrant.FieldType_FieldTypeKeyword,
	keySortKey:    qdrant.FieldType_FieldTypeInteger,
	keyDL:         qdrant.FieldType_FieldTypeInteger,
}

// collectionInfo is what the store keeps about a collection: its immutable
// description and the payload indexes known to exist.
type collectionInfo struct {
	c        ragd.Collection // without counts
	physical string
	avgLen   float64

	mu      sync.Mutex
	indexed map[string]bool
}

func (s *Store) physical(name string) string { return s.opts.Prefix + name }

// collection returns the named collection's description, from the cache or
// from Qdrant. It returns ENotFound if the collection does not exist.
func (s *Store) collection(ctx context.Context, name string) (*collectionInfo, error) {
	s.mu.Lock()
	info, ok := s.cache[name]
	s.mu.Unlock()
	if ok {
		return info, nil
	}
	if ragd.ValidateCollectionName(name) != nil {
		return nil, notFoundCollection(name)
	}
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.colls.Get(cctx, &qdrant.GetCollectionInfoRequest{CollectionName: s.physical(name)})
	if err != nil {
		if isNotFound(err) {
			return nil, notFoundCollection(name)
		}
		return nil, s.wrap(ctx, err, "get collection")
	}
	info, err = s.parseInfo(name, resp.GetResult())
	if err != nil {
		return nil, err
	}
	if err := s.ensureIndexes(ctx, info); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if cached, ok := s.cache[name]; ok {
		info = cached
	} else {
		s.cache[name] = info
	}
	s.mu.Unlock()
	return info, nil
}

// forget drops a collection from the cache, after Qdrant said it is gone.
func (s *Store) forget(name string) {
	s.mu.Lock()
	delete(s.cache, name)
	s.mu.Unlock()
}

// notFound handles a NotFound answer for collection name.
func (s *Store) notFound(name string) error {
	s.forget(name)
	return notFoundCollection(name)
}

func (s *Store) parseInfo(name string, ci *qdrant.CollectionInfo) (*collectionInfo, error) {
	meta, ok := fromValue(ci.GetConfig().GetMetadata()[metadataKey]).(map[string]any)
	if !ok || meta["name"] != name {
		// A Qdrant collection with our prefix that ragd did not create.
		return nil, notFoundCollection(name)
	}
	num := func(k string) float64 { f, _ := meta[k].(float64); return f }
	str := func(k string) string { v, _ := meta[k].(string); return v }
	created, _ := time.Parse(time.RFC3339Nano, str("created_at"))
	info := &collectionInfo{
		c: ragd.Collection{
			Name:      name,
			Embedder:  str("embedder"),
			Dimension: int(num("dimension")),
			Chunking:  ragd.Chunking{MaxTokens: int(num("max_tokens")), OverlapTokens: int(num("overlap_tokens"))},
			CreatedAt: created,
		},
		physical: s.physical(name),
		avgLen:   num("bm25_avg_len"),
		indexed:  map[string]bool{},
	}
	if info.avgLen <= 0 {
		info.avgLen = defaultAvgLen(info.c.Chunking)
	}
	if v := int(num("schema")); v > schemaVersion {
		return nil, ragd.Errorf(ragd.EInternal, "collection %q was written by a newer ragd (schema %d)", name, v)
	}
	for key := range ci.GetPayloadSchema() {
		info.indexed[key] = true
	}
	return info, nil
}

// ensureIndexes creates the base payload indexes a collection lacks (after a
// crash between creating the collection and its indexes).
func (s *Store) ensureIndexes(ctx context.Context, info *collectionInfo) error {
	for _, key := range slices.Sorted(maps.Keys(baseIndexes)) {
		info.mu.Lock()
		done := info.indexed[key]
		info.mu.Unlock()
		if done {
			continue
		}
		if err := s.createIndex(ctx, info, key, baseIndexes[key], true); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) createIndex(ctx context.Context, info *collectionInfo, key string, typ qdrant.FieldType, wait bool) error {
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	_, err := s.points.CreateFieldIndex(cctx, &qdrant.CreateFieldIndexCollection{
		CollectionName: info.physical,
		Wait:           qdrant.PtrOf(wait),
		FieldName:      key,
		FieldType:      typ.Enum(),
	})
	if err != nil {
		return s.fail(ctx, info, err, "create payload index")
	}
	info.mu.Lock()
	info.indexed[key] = true
	info.mu.Unlock()
	return nil
}

// CreateCollection creates the Qdrant collection for c, with its vectors,
// metadata and payload indexes. It returns EConflict if it exists.
func (s *Store) CreateCollection(ctx context.Context, c ragd.Collection) (ragd.Collection, error) {
	if err := ragd.ValidateCollectionName(c.Name); err != nil {
		return ragd.Collection{}, err
	}
	if c.Dimension < 0 {
		return ragd.Collection{}, ragd.Errorf(ragd.EInvalid, "collection dimension must not be negative, got %d", c.Dimension)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.opts.Now()
	}
	c.CreatedAt = c.CreatedAt.UTC()
	c.DocumentCount, c.ChunkCount = 0, 0
	avgLen := s.opts.BM25AvgLen
	if avgLen <= 0 {
		avgLen = defaultAvgLen(c.Chunking)
	}
	meta := map[string]any{
		"schema":         schemaVersion,
		"name":           c.Name,
		"embedder":       c.Embedder,
		"dimension":      c.Dimension,
		"max_tokens":     c.Chunking.MaxTokens,
		"overlap_tokens": c.Chunking.OverlapTokens,
		"created_at":     c.CreatedAt.Format(time.RFC3339Nano),
		"bm25_avg_len":   avgLen,
	}
	req := &qdrant.CreateCollection{
		CollectionName: s.physical(c.Name),
		SparseVectorsConfig: qdrant.NewSparseVectorsConfig(map[string]*qdrant.SparseVectorParams{
			sparseVector: {Modifier: qdrant.Modifier_Idf.Enum()},
		}),
		Metadata: map[string]*qdrant.Value{metadataKey: toValue(meta)},
	}
	if c.Dimension > 0 {
		req.VectorsConfig = qdrant.NewVectorsConfigMap(map[string]*qdrant.VectorParams{
			denseVector: {Size: uint64(c.Dimension), Distance: qdrant.Distance_Cosine},
		})
	}
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	if _, err := s.colls.Create(cctx, req); err != nil {
		if isAlreadyExists(err) {
			return ragd.Collection{}, ragd.Errorf(ragd.EConflict, "collection %q already exists", c.Name)
		}
		return ragd.Collection{}, s.wrap(ctx, err, "create collection")
	}
	s.forget(c.Name)
	info := &collectionInfo{c: c, physical: s.physical(c.Name), avgLen: avgLen, indexed: map[string]bool{}}
	if err := s.ensureIndexes(ctx, info); err != nil {
		return ragd.Collection{}, err
	}
	s.mu.Lock()
	s.cache[c.Name] = info
	s.mu.Unlock()
	return c, nil
}

// Collection returns the named collection with its document and chunk
// counts, or ENotFound.
func (s *Store) Collection(ctx context.Context, name string) (ragd.Collection, error) {
	s.forget(name) // re-read: another process may have replaced it
	info, err := s.collection(ctx, name)
	if err != nil {
		return ragd.Collection{}, err
	}
	c := info.c
	c.DocumentCount, c.ChunkCount, err = s.counts(ctx, info)
	if err != nil {
		return ragd.Collection{}, err
	}
	return c, nil
}

// counts sums the document records of a collection: their number and their
// chunk counts. Counting the records rather than the chunk points keeps the
// numbers exact while a replace is under way.
func (s *Store) counts(ctx context.Context, info *collectionInfo) (docs, chunks int, err error) {
	err = s.scroll(ctx, info, kindFilter(kindDoc), []string{keyChunkCount}, false, func(p *qdrant.RetrievedPoint) error {
		docs++
		chunks += int(intPayload(p.GetPayload(), keyChunkCount))
		return nil
	})
	return docs, chunks, err
}

// names returns the names, sorted, of the Qdrant collections in this
// store's prefix that could be ragd collections (whether they are is only
// known from their metadata).
func (s *Store) names(ctx context.Context) ([]string, error) {
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.colls.List(cctx, &qdrant.ListCollectionsRequest{})
	if err != nil {
		return nil, s.wrap(ctx, err, "list collections")
	}
	var names []string
	for _, d := range resp.GetCollections() {
		if name, ok := strings.CutPrefix(d.GetName(), s.opts.Prefix); ok && ragd.ValidateCollectionName(name) == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Collections returns every ragd collection in this store's prefix, sorted
// by name, with counts.
func (s *Store) Collections(ctx context.Context) ([]ragd.Collection, error) {
	names, err := s.names(ctx)
	if err != nil {
		return nil, err
	}
	out := []ragd.Collection{}
	for _, name := range names {
		c, err := s.Collection(ctx, name)
		if ragd.ErrorCode(err) == ragd.ENotFound {
			continue // deleted meanwhile, or not a ragd collection
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// DeleteCollection drops the collection's Qdrant collection, with all its
// documents, or returns ENotFound.
func (s *Store) DeleteCollection(ctx context.Context, name string) error {
	if _, err := s.collection(ctx, name); err != nil {
		return err
	}
	s.forget(name)
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.colls.Delete(cctx, &qdrant.DeleteCollection{CollectionName: s.physical(name)})
	if err != nil {
		if isNotFound(err) {
			return notFoundCollection(name)
		}
		return s.wrap(ctx, err, "delete collection")
	}
	if !resp.GetResult() {
		return notFoundCollection(name)
	}
	return nil
}

func kindFilter(kind string) *qdrant.Filter {
	return &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword(keyKind, kind)}}
}

// scrollPage is how many points a scroll asks for at a time.
const scrollPage = 1000

// scroll calls fn for every point matching filter, in point ID order.
func (s *Store) scroll(ctx context.Context, info *collectionInfo, filter *qdrant.Filter, fields []string, withDense bool, fn func(*qdrant.RetrievedPoint) error) error {
	var offset *qdrant.PointId
	for {
		req := &qdrant.ScrollPoints{
			CollectionName: info.physical,
			Filter:         filter,
			Offset:         offset,
			Limit:          qdrant.PtrOf(uint32(scrollPage)),
			WithPayload:    payloadSelector(fields),
			WithVectors:    qdrant.NewWithVectors(false),
		}
		if withDense {
			req.WithVectors = qdrant.NewWithVectorsInclude(denseVector)
		}
		cctx, cancel := s.callContext(ctx)
		resp, err := s.points.Scroll(cctx, req)
		cancel()
		if err != nil {
			return s.fail(ctx, info, err, "scroll")
		}
		for _, p := range resp.GetResult() {
			if err := fn(p); err != nil {
				return err
			}
		}
		offset = resp.NextPageOffset
		if offset == nil {
			return nil
		}
	}
}

// payloadSelector selects the given payload keys, or all of them for nil.
func payloadSelector(fields []string) *qdrant.WithPayloadSelector {
	if fields == nil {
		return qdrant.NewWithPayload(true)
	}
	return qdrant.NewWithPayloadInclude(fields...)
}

// defaultAvgLen estimates the average chunk length in lexical terms from the
// chunking; see the package comment for why the value is fixed per
// collection.
func defaultAvgLen(ch ragd.Chunking) float64 {
	maxTokens := ch.MaxTokens
	if maxTokens <= 0 {
		maxTokens = ragd.DefaultMaxTokens
	}
	return float64(maxTokens) * avgTermsPerMaxToken
}
