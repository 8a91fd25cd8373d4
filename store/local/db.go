package local

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/lexical"
	bolt "go.etcd.io/bbolt"
)

// FileName is the name of the store's file in the data directory.
const FileName = "local.db"

// storeFormat is the layout version this code reads and writes.
const storeFormat = "1"

// MaxDocumentIDBytes is the longest document ID the store accepts.
const MaxDocumentIDBytes = 1024

// Bucket and key names. Each collection has a root bucket "c:NAME"
// holding the docs, chunks, terms, garbage and state buckets.
const (
	bucketMeta        = "meta"
	bucketCollections = "collections"
	bucketDocs        = "docs"
	bucketChunks      = "chunks"
	bucketTerms       = "terms"
	bucketGarbage     = "garbage"
	bucketState       = "state"
	keyFormat         = "format"
	keyNextGen        = "next_gen"
	keyNextTerm       = "next_term"
)

// Options configure a DB. The zero value is usable.
type Options struct {
	// SearchWorkers is how many goroutines one vector search splits its
	// scan across. Zero means GOMAXPROCS.
	SearchWorkers int
	// LockTimeout is how long Open waits for another process to release
	// the store's file. Zero means one second.
	LockTimeout time.Duration
}

// DB is the embedded store. It is safe for concurrent use. Its methods
// return *ragd.Error values with the codes of the store contract
// (storetest.Store); after Close they return EUnavailable.
type DB struct {
	bolt    *bolt.DB
	path    string
	workers int

	// compactMin is the fewest dead slots that make a collection's index
	// worth compacting.
	compactMin int

	// closeMu is held for reading by every operation and for writing by
	// Close, which so waits for operations in flight.
	closeMu sync.RWMutex
	closed  bool

	// writeMu serializes writers: one bbolt transaction and the in-memory
	// update that follows it at a time.
	writeMu sync.Mutex

	mu    sync.RWMutex // guards colls
	colls map[string]*collection
}

// collection is a collection's settings and in-memory index.
type collection struct {
	info   ragd.Collection // counts not set
	bucket []byte

	mu      sync.RWMutex // guards idx and dropped for readers; writers also hold DB.writeMu
	idx     *index
	dropped bool

	compactions int // times the index was compacted; only writers use it
}

// Open opens (or creates) the store in dir, loading every collection's
// index into memory.
func Open(dir string, opts Options) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, ragd.WrapError(ragd.EInternal, err, "cannot create the data directory %s", dir)
	}
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	path := filepath.Join(dir, FileName)
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, ragd.WrapError(ragd.EUnavailable, err, "the local store %s is in use by another process", path)
		}
		return nil, ragd.WrapError(ragd.EInternal, err, "cannot open the local store %s", path)
	}
	workers := opts.SearchWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	db := &DB{bolt: bdb, path: path, workers: workers, compactMin: 1024, colls: make(map[string]*collection)}
	if err := db.init(); err != nil {
		bdb.Close()
		return nil, err
	}
	return db, nil
}

// init creates the root buckets, removes leftovers of replaced versions
// and loads every collection.
func (db *DB) init() error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists([]byte(bucketMeta))
		if err != nil {
			return err
		}
		switch f := meta.Get([]byte(keyFormat)); {
		case f == nil:
			if err := meta.Put([]byte(keyFormat), []byte(storeFormat)); err != nil {
				return err
			}
		case string(f) != storeFormat:
			return fmt.Errorf("store format %q, this ragd reads %q", f, storeFormat)
		}
		colls, err := tx.CreateBucketIfNotExists([]byte(bucketCollections))
		if err != nil {
			return err
		}
		return colls.ForEach(func(k, _ []byte) error {
			b := tx.Bucket(collectionBucket(string(k)))
			if b == nil {
				return fmt.Errorf("collection %q has no bucket", k)
			}
			return collectGarbage(b)
		})
	})
	if err != nil {
		return ragd.WrapError(ragd.EInternal, err, "cannot open the local store %s", db.path)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketCollections)).ForEach(func(k, v []byte) error {
			var info ragd.Collection
			if err := json.Unmarshal(v, &info); err != nil {
				return fmt.Errorf("collection %q: %w", k, err)
			}
			b := tx.Bucket(collectionBucket(info.Name))
			idx, err := loadIndex(b, info.Dimension)
			if err != nil {
				return fmt.Errorf("collection %q: %w", info.Name, err)
			}
			db.colls[info.Name] = &collection{info: info, bucket: collectionBucket(info.Name), idx: idx}
			return nil
		})
	})
	if err != nil {
		return ragd.WrapError(ragd.EInternal, err, "cannot load the local store %s", db.path)
	}
	return nil
}

func collectionBucket(name string) []byte { return []byte("c:" + name) }

// Close waits for the operations in flight and closes the store.
func (db *DB) Close() error {
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	db.mu.Lock()
	db.colls = nil
	db.mu.Unlock()
	if err := db.bolt.Close(); err != nil {
		return ragd.WrapError(ragd.EInternal, err, "cannot close the local store")
	}
	return nil
}

// enter starts an operation: it fails once the store is closed and
// otherwise holds Close off until the returned function is called.
func (db *DB) enter(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return nil, ragd.Errorf(ragd.EUnavailable, "the local store is closed")
	}
	return db.closeMu.RUnlock, nil
}

// collection returns the named collection or ENotFound.
func (db *DB) collection(name string) (*collection, error) {
	db.mu.RLock()
	c := db.colls[name]
	db.mu.RUnlock()
	if c == nil {
		return nil, notFound(name)
	}
	return c, nil
}

func notFound(name string) error {
	return ragd.Errorf(ragd.ENotFound, "collection %q does not exist", name)
}

func docNotFound(collection, id string) error {
	return ragd.Errorf(ragd.ENotFound, "document %q does not exist in collection %q", id, collection)
}

func internal(err error, format string, args ...any) error {
	return ragd.WrapError(ragd.EInternal, err, format, args...)
}

// CreateCollection stores a new collection. A zero CreatedAt is set to
// now. It returns EConflict if the name is taken.
func (db *DB) CreateCollection(ctx context.Context, c ragd.Collection) (ragd.Collection, error) {
	done, err := db.enter(ctx)
	if err != nil {
		return ragd.Collection{}, err
	}
	defer done()
	if c.Name == "" {
		return ragd.Collection{}, ragd.Errorf(ragd.EInvalid, "collection name is empty")
	}
	if c.Dimension < 0 {
		return ragd.Collection{}, ragd.Errorf(ragd.EInvalid, "collection dimension must not be negative, got %d", c.Dimension)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	c.DocumentCount, c.ChunkCount = 0, 0

	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	if _, err := db.collection(c.Name); err == nil {
		return ragd.Collection{}, ragd.Errorf(ragd.EConflict, "collection %q already exists", c.Name)
	}
	if err := ctx.Err(); err != nil {
		return ragd.Collection{}, err
	}
	rec, err := json.Marshal(c)
	if err != nil {
		return ragd.Collection{}, internal(err, "cannot encode collection %q", c.Name)
	}
	bucket := collectionBucket(c.Name)
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucket) != nil {
			if err := tx.DeleteBucket(bucket); err != nil {
				return err
			}
		}
		b, err := tx.CreateBucket(bucket)
		if err != nil {
			return err
		}
		for _, name := range []string{bucketDocs, bucketChunks, bucketTerms, bucketGarbage, bucketState} {
			if _, err := b.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte(bucketCollections)).Put([]byte(c.Name), rec)
	})
	if err != nil {
		return ragd.Collection{}, internal(err, "cannot create collection %q", c.Name)
	}
	db.mu.Lock()
	db.colls[c.Name] = &collection{info: c, bucket: bucket, idx: newIndex(c.Dimension)}
	db.mu.Unlock()
	return c, nil
}

// Collection returns the named collection with its counts, or ENotFound.
func (db *DB) Collection(ctx context.Context, name string) (ragd.Collection, error) {
	done, err := db.enter(ctx)
	if err != nil {
		return ragd.Collection{}, err
	}
	defer done()
	c, err := db.collection(name)
	if err != nil {
		return ragd.Collection{}, err
	}
	info, ok := c.withCounts()
	if !ok {
		return ragd.Collection{}, notFound(name)
	}
	return info, nil
}

func (c *collection) withCounts() (ragd.Collection, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.dropped {
		return ragd.Collection{}, false
	}
	info := c.info
	info.DocumentCount = len(c.idx.docs)
	info.ChunkCount = c.idx.live
	return info, true
}

// Collections returns every collection, sorted by name, with counts.
func (db *DB) Collections(ctx context.Context) ([]ragd.Collection, error) {
	done, err := db.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	db.mu.RLock()
	colls := make([]*collection, 0, len(db.colls))
	for _, c := range db.colls {
		colls = append(colls, c)
	}
	db.mu.RUnlock()
	out := make([]ragd.Collection, 0, len(colls))
	for _, c := range colls {
		if info, ok := c.withCounts(); ok {
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(a, b ragd.Collection) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteCollection removes a collection and everything in it, or returns
// ENotFound.
func (db *DB) DeleteCollection(ctx context.Context, name string) error {
	done, err := db.enter(ctx)
	if err != nil {
		return err
	}
	defer done()
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	c, err := db.collection(name)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Readers of this collection wait: once its bucket is gone they could
	// not read the chunks their index points at.
	c.mu.Lock()
	defer c.mu.Unlock()
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(c.bucket); err != nil {
			return err
		}
		return tx.Bucket([]byte(bucketCollections)).Delete([]byte(name))
	})
	if err != nil {
		return internal(err, "cannot delete collection %q", name)
	}
	c.dropped = true
	c.idx = nil
	db.mu.Lock()
	delete(db.colls, name)
	db.mu.Unlock()
	return nil
}

// docRecord is a document as stored: a binary header with what the
// in-memory index needs, then the document as JSON.
//
//	uvarint gen, string title, string source, JSON
func encodeDoc(doc ragd.Document, gen uint64) ([]byte, error) {
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(js)+len(doc.Title)+len(doc.Source)+16)
	b = binary.AppendUvarint(b, gen)
	b = appendString(b, doc.Title)
	b = appendString(b, doc.Source)
	return append(b, js...), nil
}

// decodeDocHeader reads a document record's header.
func decodeDocHeader(b []byte) (gen uint64, title, source string, rest []byte, err error) {
	d := decoder{b: b}
	gen = d.uvarint()
	title = string(d.bytes())
	source = string(d.bytes())
	return gen, title, source, d.b, d.err
}

func decodeDoc(b []byte) (ragd.Document, uint64, error) {
	gen, _, _, js, err := decodeDocHeader(b)
	if err != nil {
		return ragd.Document{}, 0, err
	}
	var doc ragd.Document
	if err := json.Unmarshal(js, &doc); err != nil {
		return ragd.Document{}, 0, err
	}
	return doc, gen, nil
}

// Document returns one document, or ENotFound.
func (db *DB) Document(ctx context.Context, collection, id string) (ragd.Document, error) {
	done, err := db.enter(ctx)
	if err != nil {
		return ragd.Document{}, err
	}
	defer done()
	c, err := db.collection(collection)
	if err != nil {
		return ragd.Document{}, err
	}
	var doc ragd.Document
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(c.bucket)
		if b == nil {
			return notFound(collection)
		}
		v := b.Bucket([]byte(bucketDocs)).Get([]byte(id))
		if v == nil || id == "" {
			return docNotFound(collection, id)
		}
		d, _, err := decodeDoc(v)
		if err != nil {
			return internal(err, "cannot read document %q", id)
		}
		doc = d
		return nil
	})
	return doc, err
}

// Documents returns up to limit documents whose ID sorts after the given
// one, in ascending ID order. limit must be positive.
func (db *DB) Documents(ctx context.Context, collection, after string, limit int) ([]ragd.Document, error) {
	done, err := db.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if limit < 1 {
		return nil, ragd.Errorf(ragd.EInvalid, "limit must be positive, got %d", limit)
	}
	c, err := db.collection(collection)
	if err != nil {
		return nil, err
	}
	var docs []ragd.Document
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(c.bucket)
		if b == nil {
			return notFound(collection)
		}
		cur := b.Bucket([]byte(bucketDocs)).Cursor()
		var k, v []byte
		if after == "" {
			k, v = cur.First()
		} else {
			k, v = cur.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, v = cur.Next()
			}
		}
		for ; k != nil && len(docs) < limit; k, v = cur.Next() {
			d, _, err := decodeDoc(v)
			if err != nil {
				return internal(err, "cannot read document %q", k)
			}
			docs = append(docs, d)
		}
		return nil
	})
	return docs, err
}

// Chunks returns a document's chunks in Index order, with their vectors,
// or ENotFound.
func (db *DB) Chunks(ctx context.Context, collection, documentID string) ([]ragd.Chunk, error) {
	done, err := db.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	c, err := db.collection(collection)
	if err != nil {
		return nil, err
	}
	var chunks []ragd.Chunk
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(c.bucket)
		if b == nil {
			return notFound(collection)
		}
		v := b.Bucket([]byte(bucketDocs)).Get([]byte(documentID))
		if v == nil || documentID == "" {
			return docNotFound(collection, documentID)
		}
		gen, _, _, _, err := decodeDocHeader(v)
		if err != nil {
			return internal(err, "cannot read document %q", documentID)
		}
		prefix := chunkPrefix(documentID, gen)
		cur := b.Bucket([]byte(bucketChunks)).Cursor()
		for k, v := cur.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = cur.Next() {
			_, _, index, err := parseChunkKey(k)
			if err != nil {
				return internal(err, "cannot read chunk key %x", k)
			}
			ch, err := chunkFromRecord(v, documentID, index)
			if err != nil {
				return internal(err, "cannot read a chunk of document %q", documentID)
			}
			chunks = append(chunks, ch)
		}
		return nil
	})
	return chunks, err
}

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}

func chunkFromRecord(v []byte, docID string, index int) (ragd.Chunk, error) {
	r, err := decodeRecord(v)
	if err != nil {
		return ragd.Chunk{}, err
	}
	ch := ragd.Chunk{
		ID: r.id, DocumentID: docID, Index: index, Text: r.text, Headings: r.headings,
		Start: r.start, End: r.end, Tokens: r.tokens, Hash: r.hash,
	}
	if len(r.vector) > 0 {
		ch.Vector = r.vector
	}
	if len(r.meta) > 0 {
		if err := json.Unmarshal(r.meta, &ch.Metadata); err != nil {
			return ragd.Chunk{}, err
		}
	}
	return ch, nil
}

// preparedChunk is a chunk checked, encoded and analyzed before the write
// transaction.
type preparedChunk struct {
	rec      record
	index    int
	metaJSON string
	terms    map[string]uint32
	docLen   uint32
}

// PutDocument stores doc and replaces all of its chunks atomically. Every
// non-nil chunk vector must have the collection's dimension (EInvalid
// otherwise); a collection of dimension 0 takes no vectors.
func (db *DB) PutDocument(ctx context.Context, doc ragd.Document, chunks []ragd.Chunk) error {
	done, err := db.enter(ctx)
	if err != nil {
		return err
	}
	defer done()
	if doc.ID == "" {
		return ragd.Errorf(ragd.EInvalid, "document ID is empty")
	}
	if len(doc.ID) > MaxDocumentIDBytes {
		return ragd.Errorf(ragd.EInvalid, "document ID is longer than %d bytes", MaxDocumentIDBytes)
	}
	c, err := db.collection(doc.Collection)
	if err != nil {
		return err
	}
	prepared, err := prepareChunks(c.info, doc.ID, chunks)
	if err != nil {
		return err
	}
	doc.ChunkCount = len(chunks)

	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	if c.isDropped() {
		return notFound(doc.Collection)
	}
	ix := c.idx // only writers change it, and this is the writer
	ch := &change{docID: doc.ID}
	newTerms := map[string]uint32{}
	for i := range prepared {
		p := &prepared[i]
		p.rec.terms = make([]termFreq, 0, len(p.terms))
		for t, tf := range p.terms {
			id, ok := ix.termIDs[t]
			if !ok {
				id, ok = newTerms[t]
				if !ok {
					id = uint32(len(ix.postings) + len(newTerms))
					newTerms[t] = id
					ch.newTerms = append(ch.newTerms, t)
				}
			}
			p.rec.terms = append(p.rec.terms, termFreq{id, tf})
		}
		slices.SortFunc(p.rec.terms, func(a, b termFreq) int { return cmp.Compare(a.id, b.id) })
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(c.bucket)
		if b == nil {
			return notFound(doc.Collection)
		}
		if err := collectGarbage(b); err != nil {
			return err
		}
		if err := retireVersion(b, doc.ID, ch); err != nil {
			return err
		}
		state := b.Bucket([]byte(bucketState))
		gen := getUvarint(state, keyNextGen) + 1
		if err := putUvarint(state, keyNextGen, gen); err != nil {
			return err
		}
		terms := b.Bucket([]byte(bucketTerms))
		for i, t := range ch.newTerms {
			if err := terms.Put([]byte(t), binary.AppendUvarint(nil, uint64(len(ix.postings)+i))); err != nil {
				return err
			}
		}
		if err := putUvarint(state, keyNextTerm, uint64(len(ix.postings)+len(ch.newTerms))); err != nil {
			return err
		}
		cb := b.Bucket([]byte(bucketChunks))
		for _, p := range prepared {
			if err := cb.Put(chunkKey(doc.ID, gen, p.index), p.rec.encode()); err != nil {
				return err
			}
		}
		rec, err := encodeDoc(doc, gen)
		if err != nil {
			return ragd.WrapError(ragd.EInvalid, err, "document metadata cannot be stored as JSON")
		}
		if err := b.Bucket([]byte(bucketDocs)).Put([]byte(doc.ID), rec); err != nil {
			return err
		}
		ch.doc = &docState{id: doc.ID, title: doc.Title, source: doc.Source, gen: gen}
		ch.chunks = prepared
		// A cancelled context rolls the transaction back: the caller is
		// told it failed, so it must not have happened.
		return ctx.Err()
	})
	if err != nil {
		return writeError(err, "cannot store document %q", doc.ID)
	}
	c.apply(ch, db.compactMin)
	return nil
}

// writeError passes *ragd.Error values and context errors through and
// wraps anything else as EInternal.
func writeError(err error, format string, args ...any) error {
	var re *ragd.Error
	if errors.As(err, &re) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return internal(err, format, args...)
}

// prepareChunks validates and encodes chunks and analyzes their text.
func prepareChunks(info ragd.Collection, docID string, chunks []ragd.Chunk) ([]preparedChunk, error) {
	out := make([]preparedChunk, len(chunks))
	seen := make(map[int]bool, len(chunks))
	for i, c := range chunks {
		if c.ID == "" {
			return nil, ragd.Errorf(ragd.EInvalid, "chunk %d of document %q has no ID", c.Index, docID)
		}
		if c.Index < 0 || c.Index > math.MaxUint32 {
			return nil, ragd.Errorf(ragd.EInvalid, "chunk %q has index %d", c.ID, c.Index)
		}
		if seen[c.Index] {
			return nil, ragd.Errorf(ragd.EInvalid, "document %q has two chunks with index %d", docID, c.Index)
		}
		seen[c.Index] = true
		if len(c.Vector) > 0 {
			if len(c.Vector) != info.Dimension {
				if info.Dimension == 0 {
					return nil, ragd.Errorf(ragd.EInvalid, "collection %q is searched lexically only and takes no vectors, chunk %q has one of %d dimensions", info.Name, c.ID, len(c.Vector))
				}
				return nil, ragd.Errorf(ragd.EInvalid, "chunk %q has a vector of %d dimensions, collection %q has %d", c.ID, len(c.Vector), info.Name, info.Dimension)
			}
			for _, x := range c.Vector {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return nil, ragd.Errorf(ragd.EInvalid, "chunk %q has a vector with a NaN or infinite component", c.ID)
				}
			}
		}
		p := preparedChunk{index: c.Index, terms: map[string]uint32{}}
		p.rec = record{
			id: c.ID, text: c.Text, headings: c.Headings, start: c.Start, end: c.End,
			tokens: c.Tokens, hash: c.Hash, vector: c.Vector,
		}
		if len(c.Metadata) > 0 {
			js, err := json.Marshal(c.Metadata)
			if err != nil {
				return nil, ragd.WrapError(ragd.EInvalid, err, "metadata of chunk %q cannot be stored as JSON", c.ID)
			}
			p.rec.meta = js
			p.metaJSON = string(js)
		}
		lexical.Scan(c.EmbeddingText(), func(term []byte) {
			if n, ok := p.terms[string(term)]; ok {
				p.terms[string(term)] = n + 1
			} else {
				p.terms[string(term)] = 1
			}
			p.docLen++
		})
		out[i] = p
	}
	slices.SortFunc(out, func(a, b preparedChunk) int { return cmp.Compare(a.index, b.index) })
	return out, nil
}

// DeleteDocument removes a document and its chunks, or returns ENotFound.
func (db *DB) DeleteDocument(ctx context.Context, collection, id string) error {
	done, err := db.enter(ctx)
	if err != nil {
		return err
	}
	defer done()
	c, err := db.collection(collection)
	if err != nil {
		return err
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	if c.isDropped() {
		return notFound(collection)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ch := &change{docID: id, del: true}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(c.bucket)
		if b == nil {
			return notFound(collection)
		}
		docs := b.Bucket([]byte(bucketDocs))
		if id == "" || docs.Get([]byte(id)) == nil {
			return docNotFound(collection, id)
		}
		if err := collectGarbage(b); err != nil {
			return err
		}
		if err := retireVersion(b, id, ch); err != nil {
			return err
		}
		if err := docs.Delete([]byte(id)); err != nil {
			return err
		}
		return ctx.Err()
	})
	if err != nil {
		return writeError(err, "cannot delete document %q", id)
	}
	c.apply(ch, db.compactMin)
	return nil
}

func (c *collection) isDropped() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.dropped
}

// retireVersion marks the current version of a document (if any) as
// garbage, to be deleted by the next write to the collection, and records
// its chunks' terms in ch so their document frequencies can be taken back.
func retireVersion(b *bolt.Bucket, docID string, ch *change) error {
	v := b.Bucket([]byte(bucketDocs)).Get([]byte(docID))
	if v == nil {
		return nil
	}
	gen, _, _, _, err := decodeDocHeader(v)
	if err != nil {
		return err
	}
	prefix := chunkPrefix(docID, gen)
	cur := b.Bucket([]byte(bucketChunks)).Cursor()
	for k, v := cur.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = cur.Next() {
		d := decoder{b: v}
		d.header()
		d.bytes() // id
		d.skipTextual()
		d.bytes() // metadata
		if n := d.uvarint(); d.err == nil {
			if n > uint64(len(d.b)/4) {
				return errCorrupt
			}
			d.b = d.b[4*n:]
		}
		terms := d.terms(nil)
		if d.err != nil {
			return d.err
		}
		ch.oldTerms = append(ch.oldTerms, terms)
	}
	return b.Bucket([]byte(bucketGarbage)).Put(prefix, nil)
}

// collectGarbage deletes the chunk records of retired versions.
func collectGarbage(b *bolt.Bucket) error {
	g := b.Bucket([]byte(bucketGarbage))
	var prefixes [][]byte
	if err := g.ForEach(func(k, _ []byte) error {
		prefixes = append(prefixes, slices.Clone(k))
		return nil
	}); err != nil {
		return err
	}
	chunks := b.Bucket([]byte(bucketChunks))
	for _, prefix := range prefixes {
		var keys [][]byte
		cur := chunks.Cursor()
		for k, _ := cur.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = cur.Next() {
			keys = append(keys, slices.Clone(k))
		}
		for _, k := range keys {
			if err := chunks.Delete(k); err != nil {
				return err
			}
		}
		if err := g.Delete(prefix); err != nil {
			return err
		}
	}
	return nil
}

func getUvarint(b *bolt.Bucket, key string) uint64 {
	v, _ := binary.Uvarint(b.Get([]byte(key)))
	return v
}

func putUvarint(b *bolt.Bucket, key string, v uint64) error {
	return b.Put([]byte(key), binary.AppendUvarint(nil, v))
}
