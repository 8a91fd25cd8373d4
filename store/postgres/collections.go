package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ragd/ragd"
)

// MaxDimension is the largest vector dimension pgvector stores. Collections
// up to 2,000 dimensions get an HNSW index on vector, up to 4,000 on
// halfvec (with exact re-scoring); larger ones are searched exactly.
const MaxDimension = 16000

// collectionRow is what searches and writes need to know of a collection.
// Both fields are fixed for the collection's life, so a DB caches them by
// name; a collection deleted and created again under the same name gets a
// new ID, which the statements that use the cache detect (a foreign-key
// violation on write, a different ID in the same batch on search).
type collectionRow struct {
	id        int64
	dimension int
}

// collectionCache maps collection names to their rows.
type collectionCache struct {
	mu sync.Mutex
	m  map[string]collectionRow
}

func (c *collectionCache) get(name string) (collectionRow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[name]
	return r, ok
}

func (c *collectionCache) put(name string, r collectionRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]collectionRow)
	}
	if len(c.m) >= 10000 {
		clear(c.m)
	}
	c.m[name] = r
}

func (c *collectionCache) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, name)
}

// CreateCollection stores a new collection and creates its vector index.
// It returns EConflict if the name is taken and EInvalid for a bad name or
// dimension. CreatedAt defaults to now.
func (db *DB) CreateCollection(ctx context.Context, c ragd.Collection) (ragd.Collection, error) {
	if err := ragd.ValidateCollectionName(c.Name); err != nil {
		return ragd.Collection{}, err
	}
	if c.Dimension < 0 || c.Dimension > MaxDimension {
		return ragd.Collection{}, ragd.Errorf(ragd.EInvalid, "dimension must be between 0 and %d, got %d", MaxDimension, c.Dimension)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	c.CreatedAt = c.CreatedAt.Truncate(time.Microsecond)
	c.Embedder = cleanString(c.Embedder)
	c.DocumentCount, c.ChunkCount = 0, 0

	var id int64
	err := db.pool.QueryRow(ctx, db.sql(`
		INSERT INTO {schema}.collections (name, embedder, dimension, max_tokens, overlap_tokens, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING id`),
		c.Name, c.Embedder, c.Dimension, c.Chunking.MaxTokens, c.Chunking.OverlapTokens, c.CreatedAt,
	).Scan(&id)
	if err != nil {
		err = db.wrap(err, "create collection")
		if ragd.ErrorCode(err) == ragd.EConflict {
			return ragd.Collection{}, ragd.WrapError(ragd.EConflict, err, "Collection %q already exists.", c.Name)
		}
		return ragd.Collection{}, err
	}
	if c.Dimension > 0 {
		// Searches are correct without the index (they scan), so a failure
		// here does not undo the collection: Open creates missing indexes.
		if err := db.ensureVectorIndex(ctx, id, c.Dimension); err != nil {
			db.opts.Logger.Warn("could not create the vector index of a new collection; it is created at the next start",
				"collection", c.Name, "error", err)
		}
	}
	return c, nil
}

const collectionColumns = `c.name, c.embedder, c.dimension, c.max_tokens, c.overlap_tokens, c.created_at,
	(SELECT count(*) FROM {schema}.documents d WHERE d.collection_id = c.id), c.chunk_count`

func scanCollection(row pgx.Row) (ragd.Collection, error) {
	var c ragd.Collection
	var docs, chunks int64
	err := row.Scan(&c.Name, &c.Embedder, &c.Dimension, &c.Chunking.MaxTokens, &c.Chunking.OverlapTokens, &c.CreatedAt, &docs, &chunks)
	c.DocumentCount, c.ChunkCount = int(docs), int(chunks)
	return c, err
}

// Collection returns the named collection with its document and chunk
// counts, or ENotFound.
func (db *DB) Collection(ctx context.Context, name string) (ragd.Collection, error) {
	c, err := scanCollection(db.pool.QueryRow(ctx, db.sql(`SELECT `+collectionColumns+` FROM {schema}.collections c WHERE c.name = $1`), name))
	if errors.Is(err, pgx.ErrNoRows) {
		return ragd.Collection{}, notFoundCollection(name)
	}
	if err != nil {
		return ragd.Collection{}, db.wrap(err, "read collection")
	}
	return c, nil
}

// Collections returns every collection, sorted by name, with counts.
func (db *DB) Collections(ctx context.Context) ([]ragd.Collection, error) {
	rows, err := db.pool.Query(ctx, db.sql(`SELECT `+collectionColumns+` FROM {schema}.collections c ORDER BY c.name`))
	if err != nil {
		return nil, db.wrap(err, "list collections")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ragd.Collection, error) { return scanCollection(r) })
	if err != nil {
		return nil, db.wrap(err, "list collections")
	}
	if out == nil {
		out = []ragd.Collection{}
	}
	return out, nil
}

// DeleteCollection removes a collection and everything in it, or returns
// ENotFound. It locks the collection first, so writes racing with it wait
// and then fail with ENotFound instead of leaving anything behind.
func (db *DB) DeleteCollection(ctx context.Context, name string) error {
	var id int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, db.sql(`SELECT id FROM {schema}.collections WHERE name = $1 FOR UPDATE`), name).Scan(&id); err != nil {
			return err
		}
		// Postings first in one statement, so that deleting the chunks
		// finds nothing left to cascade to.
		for _, q := range []string{
			`DELETE FROM {schema}.postings WHERE collection_id = $1`,
			`DELETE FROM {schema}.chunks WHERE collection_id = $1`,
			`DELETE FROM {schema}.documents WHERE collection_id = $1`,
			`DELETE FROM {schema}.collections WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, db.sql(q), id); err != nil {
				return err
			}
		}
		return nil
	})
	db.colls.forget(name)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFoundCollection(name)
	}
	if err != nil {
		return db.wrap(err, "delete collection")
	}
	// The index of a deleted collection matches no row (IDs are never
	// reused); drop it without blocking writers. Open drops leftovers.
	if err := db.dropVectorIndex(ctx, id); err != nil {
		db.opts.Logger.Warn("could not drop the vector index of a deleted collection; it is dropped at the next start",
			"collection", name, "error", err)
	}
	return nil
}

// lookupCollection returns the ID and dimension of the named collection,
// or ENotFound: from the cache unless fresh is set.
func (db *DB) lookupCollection(ctx context.Context, name string, fresh bool) (collectionRow, error) {
	if !fresh {
		if c, ok := db.colls.get(name); ok {
			return c, nil
		}
	}
	var c collectionRow
	err := db.pool.QueryRow(ctx, db.sql(`SELECT id, dimension FROM {schema}.collections WHERE name = $1`), name).Scan(&c.id, &c.dimension)
	if errors.Is(err, pgx.ErrNoRows) {
		db.colls.forget(name)
		return c, notFoundCollection(name)
	}
	if err != nil {
		return c, db.wrap(err, "read collection")
	}
	db.colls.put(name, c)
	return c, nil
}

func notFoundCollection(name string) error {
	return ragd.Errorf(ragd.ENotFound, "Collection %q not found.", name)
}

func notFoundDocument(collection, id string) error {
	return ragd.Errorf(ragd.ENotFound, "Document %q not found in collection %q.", id, collection)
}

// indexName is the name of a collection's vector index.
func indexName(collectionID int64) string {
	return fmt.Sprintf("chunks_hnsw_%d", collectionID)
}
