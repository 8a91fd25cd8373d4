package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgvector/pgvector-go"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/lexical"
)

const documentColumns = `d.id, d.title, d.source, d.content_type, d.metadata, d.content_hash, d.embedder, d.chunk_count, d.bytes, d.created_at, d.updated_at`

// scanDocument reads documentColumns into doc. Columns come from a LEFT
// JOIN, so a missing document reads as a NULL id.
func scanDocument(row pgx.Row, collection string, lead ...any) (ragd.Document, bool, error) {
	var (
		doc                                            ragd.Document
		id, title, source, contentType, hash, embedder *string
		metadata                                       []byte
		chunks                                         *int32
		size                                           *int64
		created, updated                               *time.Time
	)
	dest := append(lead, &id, &title, &source, &contentType, &metadata, &hash, &embedder, &chunks, &size, &created, &updated)
	if err := row.Scan(dest...); err != nil {
		return doc, false, err
	}
	if id == nil {
		return doc, false, nil
	}
	doc = ragd.Document{
		ID: *id, Collection: collection, Title: *title, Source: *source, ContentType: *contentType,
		ContentHash: *hash, Embedder: *embedder, ChunkCount: int(*chunks), Bytes: int(*size),
		CreatedAt: *created, UpdatedAt: *updated,
	}
	if metadata != nil {
		m, err := decodeMetadata(metadata)
		if err != nil {
			return doc, false, err
		}
		doc.Metadata = m
	}
	return doc, true, nil
}

// Document returns one document, or ENotFound when the collection or the
// document does not exist.
func (db *DB) Document(ctx context.Context, collection, id string) (ragd.Document, error) {
	row := db.pool.QueryRow(ctx, db.sql(`
		SELECT `+documentColumns+`
		FROM {schema}.collections c
		LEFT JOIN {schema}.documents d ON d.collection_id = c.id AND d.id = $2
		WHERE c.name = $1`), collection, id)
	doc, found, err := scanDocument(row, collection)
	if errors.Is(err, pgx.ErrNoRows) {
		return ragd.Document{}, notFoundCollection(collection)
	}
	if err != nil {
		return ragd.Document{}, db.wrap(err, "read document")
	}
	if !found {
		return ragd.Document{}, notFoundDocument(collection, id)
	}
	return doc, nil
}

// Documents returns up to limit documents whose ID sorts after the given
// one ("" for the first page), in ascending byte order of ID. It returns
// ENotFound for a missing collection and EInvalid for a limit below 1.
func (db *DB) Documents(ctx context.Context, collection, after string, limit int) ([]ragd.Document, error) {
	if limit < 1 {
		return nil, ragd.Errorf(ragd.EInvalid, "limit must be at least 1, got %d", limit)
	}
	rows, err := db.pool.Query(ctx, db.sql(`
		SELECT `+documentColumns+`
		FROM {schema}.collections c
		LEFT JOIN LATERAL (
			SELECT * FROM {schema}.documents x
			WHERE x.collection_id = c.id AND x.id > $2
			ORDER BY x.id
			LIMIT $3
		) d ON true
		WHERE c.name = $1
		ORDER BY d.id`), collection, after, limit)
	if err != nil {
		return nil, db.wrap(err, "list documents")
	}
	defer rows.Close()
	seen := false
	out := []ragd.Document{}
	for rows.Next() {
		seen = true
		doc, found, err := scanDocument(rows, collection)
		if err != nil {
			return nil, db.wrap(err, "list documents")
		}
		if found {
			out = append(out, doc)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(err, "list documents")
	}
	if !seen {
		return nil, notFoundCollection(collection)
	}
	return out, nil
}

// Chunks returns a document's chunks in Index order, with their vectors.
// It returns ENotFound when the collection or the document does not exist.
func (db *DB) Chunks(ctx context.Context, collection, documentID string) ([]ragd.Chunk, error) {
	// The first row tells whether the collection and the document exist;
	// the chunks follow.
	rows, err := db.pool.Query(ctx, db.sql(`
		SELECT c.id IS NOT NULL, d.id IS NOT NULL, k.chunk_id, k.ord, k.text, k.headings, k.start_offset, k.end_offset, k.tokens, k.hash, k.metadata, k.embedding
		FROM (SELECT 1) one
		LEFT JOIN {schema}.collections c ON c.name = $1
		LEFT JOIN {schema}.documents d ON d.collection_id = c.id AND d.id = $2
		LEFT JOIN {schema}.chunks k ON k.collection_id = c.id AND k.document_id = d.id
		ORDER BY k.ord, k.pos`), collection, documentID)
	if err != nil {
		return nil, db.wrap(err, "read chunks")
	}
	defer rows.Close()
	out := []ragd.Chunk{}
	for rows.Next() {
		var (
			hasCollection, hasDocument bool
			ch                         ragd.Chunk
			chunkID, text, hash        *string
			ord, start, end, tokens    *int32
			metadata                   []byte
			vec                        *pgvector.Vector
		)
		if err := rows.Scan(&hasCollection, &hasDocument, &chunkID, &ord, &text, &ch.Headings, &start, &end, &tokens, &hash, &metadata, &vec); err != nil {
			return nil, db.wrap(err, "read chunks")
		}
		if !hasCollection {
			return nil, notFoundCollection(collection)
		}
		if !hasDocument {
			return nil, notFoundDocument(collection, documentID)
		}
		if chunkID == nil {
			break // a document without chunks
		}
		ch.ID, ch.DocumentID, ch.Index, ch.Text, ch.Hash = *chunkID, documentID, int(*ord), *text, *hash
		ch.Start, ch.End, ch.Tokens = int(*start), int(*end), int(*tokens)
		if metadata != nil {
			if ch.Metadata, err = decodeMetadata(metadata); err != nil {
				return nil, db.wrap(err, "read chunks")
			}
		}
		if vec != nil {
			ch.Vector = vec.Slice()
		}
		out = append(out, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(err, "read chunks")
	}
	return out, nil
}

// PutDocument stores doc and replaces all of its chunks in one transaction:
// readers see the old version or the new one, never a mix. doc.ChunkCount
// is set from len(chunks); a zero CreatedAt or UpdatedAt is now. Every
// non-nil vector must have the collection's dimension (EInvalid otherwise,
// checked before anything is written). NUL bytes and invalid UTF-8 are
// removed from text and metadata, which PostgreSQL cannot store; lexical
// terms are taken from the text as given, as every store does.
func (db *DB) PutDocument(ctx context.Context, doc ragd.Document, chunks []ragd.Chunk) error {
	if doc.ID == "" {
		return ragd.Errorf(ragd.EInvalid, "document ID is empty")
	}
	if cleanString(doc.ID) != doc.ID {
		return ragd.Errorf(ragd.EInvalid, "document ID contains NUL or invalid UTF-8")
	}
	w, err := newChunkWrite(chunks)
	if err != nil {
		return err
	}
	docMeta, err := encodeMetadata(doc.Metadata)
	if err != nil {
		return err
	}
	now := time.Now()
	if doc.CreatedAt.IsZero() {
		doc.CreatedAt = now
	}
	if doc.UpdatedAt.IsZero() {
		doc.UpdatedAt = now
	}

	for attempt := 0; ; attempt++ {
		coll, err := db.lookupCollection(ctx, doc.Collection, attempt > 0)
		if err != nil {
			return err
		}
		if err := w.checkDimension(coll.dimension, doc.Collection); err != nil {
			return err
		}
		// The upsert locks the document's row, so the second statement,
		// whose snapshot is taken after it, sees the chunks of any
		// concurrent writer of the same document that committed first and
		// replaces them.
		err = db.sendTx(ctx, func(b *pgx.Batch) {
			b.Queue(db.sql(upsertDocumentSQL),
				coll.id, doc.ID, cleanString(doc.Title), cleanString(doc.Source), cleanString(doc.ContentType),
				docMeta, cleanString(doc.ContentHash), cleanString(doc.Embedder), len(chunks), doc.Bytes,
				doc.CreatedAt, doc.UpdatedAt)
			b.Queue(db.sql(replaceChunksSQL), append(append([]any{coll.id, doc.ID}, w.args()...), w.totalLength)...)
		})
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23503" {
			// The collection is gone: deleted meanwhile, or deleted and
			// created again under a new ID since it was cached.
			db.colls.forget(doc.Collection)
			if attempt == 0 {
				continue
			}
			return ragd.WrapError(ragd.ENotFound, err, "Collection %q not found.", doc.Collection)
		}
		return db.wrap(err, "put document")
	}
}

const upsertDocumentSQL = `
INSERT INTO {schema}.documents (collection_id, id, title, source, content_type, metadata, content_hash, embedder, chunk_count, bytes, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12)
ON CONFLICT (collection_id, id) DO UPDATE SET
	title = EXCLUDED.title, source = EXCLUDED.source, content_type = EXCLUDED.content_type,
	metadata = EXCLUDED.metadata, content_hash = EXCLUDED.content_hash, embedder = EXCLUDED.embedder,
	chunk_count = EXCLUDED.chunk_count, bytes = EXCLUDED.bytes,
	created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at`

// replaceChunksSQL replaces a document's chunks and their postings and
// updates the collection's BM25 statistics, in one statement. The new
// chunks come as arrays ($3 to $13) and are matched to their postings ($14
// to $16) by their position in the input; $17 is the sum of their lengths.
// The collection's row, which every writer of the collection updates, is
// locked last and held only until the COMMIT that follows.
const replaceChunksSQL = `
WITH old_postings AS (
	DELETE FROM {schema}.postings
	WHERE chunk IN (SELECT id FROM {schema}.chunks WHERE collection_id = $1 AND document_id = $2)
), old AS (
	DELETE FROM {schema}.chunks WHERE collection_id = $1 AND document_id = $2
	RETURNING lex_length
), ins AS (
	INSERT INTO {schema}.chunks (collection_id, document_id, chunk_id, ord, pos, text, headings, start_offset, end_offset, tokens, hash, metadata, embedding, lex_length)
	SELECT $1, $2, u.chunk_id, u.ord, u.pos::integer - 1, u.text,
	       CASE WHEN u.headings IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.headings)) END,
	       u.start_offset, u.end_offset, u.tokens, u.hash, u.metadata, u.embedding, u.lex_length
	FROM unnest($3::text[], $4::integer[], $5::text[], $6::jsonb[], $7::integer[], $8::integer[], $9::integer[], $10::text[], $11::jsonb[], $12::vector[], $13::integer[])
	     WITH ORDINALITY AS u(chunk_id, ord, text, headings, start_offset, end_offset, tokens, hash, metadata, embedding, lex_length, pos)
	RETURNING id, pos, lex_length
), new_postings AS (
	INSERT INTO {schema}.postings (collection_id, term, chunk, tf, dl)
	SELECT $1, p.term, ins.id, p.tf, ins.lex_length
	FROM unnest($14::integer[], $15::text[], $16::integer[]) AS p(pos, term, tf)
	JOIN ins ON ins.pos = p.pos
)
UPDATE {schema}.collections
SET chunk_count = chunk_count - (SELECT count(*) FROM old) + (SELECT count(*) FROM ins),
    lex_length = lex_length - (SELECT coalesce(sum(lex_length), 0) FROM old) + $17::bigint
WHERE id = $1`

// chunkWrite is a document's chunks as the column arrays of replaceChunksSQL,
// with their postings.
type chunkWrite struct {
	ids, texts, hashes               []string
	headings, metadata               []*string
	ords, starts, ends, tokens, lens []int32
	vectors                          []*pgvector.Vector
	postPos, postTF                  []int32
	postTerms                        []string
	dims                             map[int]struct{}
	totalLength                      int64
}

func newChunkWrite(chunks []ragd.Chunk) (*chunkWrite, error) {
	n := len(chunks)
	w := &chunkWrite{
		ids: make([]string, n), texts: make([]string, n), hashes: make([]string, n),
		headings: make([]*string, n), metadata: make([]*string, n),
		ords: make([]int32, n), starts: make([]int32, n), ends: make([]int32, n), tokens: make([]int32, n), lens: make([]int32, n),
		vectors: make([]*pgvector.Vector, n),
		dims:    map[int]struct{}{},
	}
	for i := range chunks {
		c := &chunks[i]
		if c.ID == "" {
			return nil, ragd.Errorf(ragd.EInvalid, "chunk %d has an empty ID", i)
		}
		if cleanString(c.ID) != c.ID {
			return nil, ragd.Errorf(ragd.EInvalid, "chunk %d has an ID with NUL or invalid UTF-8", i)
		}
		for _, v := range []int{c.Index, c.Start, c.End, c.Tokens} {
			if v < math.MinInt32 || v > math.MaxInt32 {
				return nil, ragd.Errorf(ragd.EInvalid, "chunk %q has an index, offset or token count out of range", c.ID)
			}
		}
		w.ids[i], w.texts[i], w.hashes[i] = c.ID, cleanString(c.Text), cleanString(c.Hash)
		w.ords[i], w.starts[i], w.ends[i], w.tokens[i] = int32(c.Index), int32(c.Start), int32(c.End), int32(c.Tokens)
		if c.Headings != nil {
			b, err := json.Marshal(cleanStrings(c.Headings))
			if err != nil {
				return nil, ragd.Errorf(ragd.EInvalid, "chunk %q: headings: %v", c.ID, err)
			}
			s := string(b)
			w.headings[i] = &s
		}
		meta, err := encodeMetadata(c.Metadata)
		if err != nil {
			return nil, err
		}
		w.metadata[i] = meta
		if c.Vector != nil {
			for _, x := range c.Vector {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return nil, ragd.Errorf(ragd.EInvalid, "chunk %q has a vector with NaN or infinite components", c.ID)
				}
			}
			v := pgvector.NewVector(c.Vector)
			w.vectors[i] = &v
			w.dims[len(c.Vector)] = struct{}{}
		}

		// Postings: each distinct term once, with its frequency, in the
		// order of first occurrence.
		terms := lexical.Terms(c.EmbeddingText())
		w.lens[i] = int32(len(terms))
		w.totalLength += int64(len(terms))
		tf := make(map[string]int32, len(terms))
		var order []string
		for _, t := range terms {
			t = cleanString(t)
			if tf[t] == 0 {
				order = append(order, t)
			}
			tf[t]++
		}
		sort.Strings(order)
		for _, t := range order {
			w.postPos = append(w.postPos, int32(i))
			w.postTerms = append(w.postTerms, t)
			w.postTF = append(w.postTF, tf[t])
		}
	}
	return w, nil
}

// checkDimension returns EInvalid unless every vector has the collection's
// dimension.
func (w *chunkWrite) checkDimension(dim int, collection string) error {
	for d := range w.dims {
		if dim == 0 {
			return ragd.Errorf(ragd.EInvalid, "collection %q stores no vectors (dimension 0), got a %d-dimensional vector", collection, d)
		}
		if d != dim {
			return ragd.Errorf(ragd.EInvalid, "collection %q has dimension %d, got a %d-dimensional vector", collection, dim, d)
		}
	}
	return nil
}

// args returns the arrays of replaceChunksSQL, $3 to $16.
func (w *chunkWrite) args() []any {
	return []any{w.ids, w.ords, w.texts, w.headings, w.starts, w.ends, w.tokens, w.hashes, w.metadata, w.vectors, w.lens,
		w.postPos, w.postTerms, w.postTF}
}

// DeleteDocument removes a document and its chunks, or returns ENotFound.
func (db *DB) DeleteDocument(ctx context.Context, collection, id string) error {
	for attempt := 0; ; attempt++ {
		coll, err := db.lookupCollection(ctx, collection, attempt > 0)
		if err != nil {
			return err
		}
		var found int64
		err = db.sendTx(ctx, func(b *pgx.Batch) {
			// Lock the row first: a concurrent PutDocument of the document
			// finishes before the chunks are read for deletion.
			b.Queue(db.sql(`SELECT count(*) FROM (SELECT 1 FROM {schema}.documents WHERE collection_id = $1 AND id = $2 FOR UPDATE) x`), coll.id, id).
				QueryRow(func(r pgx.Row) error { return r.Scan(&found) })
			b.Queue(db.sql(deleteDocumentSQL), coll.id, id)
		})
		if err != nil {
			return db.wrap(err, "delete document")
		}
		if found == 0 {
			if attempt == 0 {
				// The cached collection may be a deleted one of the same
				// name: look again before saying the document is missing.
				if fresh, err := db.lookupCollection(ctx, collection, true); err != nil || fresh.id != coll.id {
					if err != nil {
						return err
					}
					continue
				}
			}
			return notFoundDocument(collection, id)
		}
		return nil
	}
}

const deleteDocumentSQL = `
WITH old_postings AS (
	DELETE FROM {schema}.postings
	WHERE chunk IN (SELECT id FROM {schema}.chunks WHERE collection_id = $1 AND document_id = $2)
), old AS (
	DELETE FROM {schema}.chunks WHERE collection_id = $1 AND document_id = $2
	RETURNING lex_length
), doc AS (
	DELETE FROM {schema}.documents WHERE collection_id = $1 AND id = $2
)
UPDATE {schema}.collections
SET chunk_count = chunk_count - (SELECT count(*) FROM old),
    lex_length = lex_length - (SELECT coalesce(sum(lex_length), 0) FROM old)
WHERE id = $1`

// encodeMetadata returns metadata as jsonb text, or nil (SQL NULL) for a
// nil map, with NUL removed from every string in it.
func encodeMetadata(m map[string]any) (*string, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, ragd.Errorf(ragd.EInvalid, "metadata cannot be stored as JSON: %v", err)
	}
	// encoding/json already replaced invalid UTF-8; NUL survives as an
	// escape, which jsonb rejects.
	if bytes.Contains(b, []byte(`\u0000`)) {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, ragd.Errorf(ragd.EInvalid, "metadata cannot be stored as JSON: %v", err)
		}
		if b, err = json.Marshal(cleanValue(v)); err != nil {
			return nil, ragd.Errorf(ragd.EInvalid, "metadata cannot be stored as JSON: %v", err)
		}
	}
	s := string(b)
	return &s, nil
}

// decodeMetadata decodes stored metadata; numbers come back as float64, as
// from every store.
func decodeMetadata(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}
