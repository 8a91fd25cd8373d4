package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/ragd/ragd"
)

// Each collection with vectors has one partial HNSW index on the shared
// chunks table:
//
//	CREATE INDEX chunks_hnsw_<id> ON chunks
//	    USING hnsw ((embedding::vector(<dimension>)) vector_cosine_ops)
//	    WHERE collection_id = <id>
//
// so each collection gets a graph of its own, for its own dimension, and a
// search (WHERE collection_id = $1 ORDER BY embedding::vector(<dimension>)
// <=> $2) can use only its own collection's index. The index is created
// with the collection, while it is empty, and kept up to date by inserts;
// it is built with CREATE INDEX CONCURRENTLY so that writes to other
// collections never wait for it. A build that was interrupted leaves an
// INVALID index, which ensureVectorIndex detects, drops and builds again
// (RELIABILITY.md D-8); Open does this for every collection.

// maxVectorIndexDimension and maxHalfvecIndexDimension are pgvector's
// limits for HNSW indexes on vector and halfvec.
const (
	maxVectorIndexDimension  = 2000
	maxHalfvecIndexDimension = 4000
)

// vectorType is the type the index of a collection of this dimension is on,
// or "" when there is none.
func vectorType(dim int) string {
	switch {
	case dim <= 0:
		return ""
	case dim <= maxVectorIndexDimension:
		return "vector"
	case dim <= maxHalfvecIndexDimension:
		return "halfvec"
	}
	return ""
}

// orderExpr is the distance expression that a collection's vector search
// orders by: the one its index is on. param is the query vector's
// placeholder.
func orderExpr(dim int, param string) string {
	t := vectorType(dim)
	if t == "" {
		return "c.embedding <=> " + param + "::vector"
	}
	d := strconv.Itoa(dim)
	return "c.embedding::" + t + "(" + d + ") <=> " + param + "::" + t + "(" + d + ")"
}

// ensureVectorIndex makes sure the collection's index exists and is valid,
// building it if not. Another process building the same index at the same
// moment holds an advisory lock on it; then this call leaves it alone.
func (db *DB) ensureVectorIndex(ctx context.Context, collectionID int64, dim int) error {
	if vectorType(dim) == "" {
		return nil
	}
	return db.withIndexLock(ctx, collectionID, func(conn *pgx.Conn) error {
		valid, exists, err := db.indexState(ctx, conn, collectionID)
		if err != nil || (exists && valid) {
			return err
		}
		if exists {
			db.opts.Logger.Warn("rebuilding an invalid vector index (an earlier build was interrupted)", "index", indexName(collectionID))
			if _, err := conn.Exec(ctx, db.sql(`DROP INDEX CONCURRENTLY IF EXISTS {schema}.`+indexName(collectionID))); err != nil {
				return err
			}
		}
		return db.createIndex(ctx, conn, collectionID, dim)
	})
}

// createIndex builds the collection's index. The statement is DDL, so the
// collection ID, dimension and HNSW parameters (all integers) are part of
// its text.
func (db *DB) createIndex(ctx context.Context, conn *pgx.Conn, collectionID int64, dim int) error {
	t := vectorType(dim)
	q := fmt.Sprintf(`CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON {schema}.chunks
		USING hnsw ((embedding::%s(%d)) %s_cosine_ops)
		WITH (m = %d, ef_construction = %d)
		WHERE collection_id = %d`,
		indexName(collectionID), t, dim, t, db.opts.HNSWM, db.opts.HNSWEfConstruction, collectionID)
	if _, err := conn.Exec(ctx, db.sql(q)); err != nil {
		return fmt.Errorf("create index %s: %w", indexName(collectionID), err)
	}
	return nil
}

// indexState reports whether the collection's index exists and is valid.
func (db *DB) indexState(ctx context.Context, conn *pgx.Conn, collectionID int64) (valid, exists bool, err error) {
	err = conn.QueryRow(ctx, `
		SELECT i.indisvalid AND i.indisready
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2`,
		db.opts.Schema, indexName(collectionID)).Scan(&valid)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("read index state: %w", err)
	}
	return valid, true, nil
}

// withIndexLock runs fn on a connection of its own while holding a session
// advisory lock on the collection's index. When another session holds the
// lock, fn does not run and the result is nil.
func (db *DB) withIndexLock(ctx context.Context, collectionID int64, fn func(*pgx.Conn) error) error {
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	conn := c.Conn()
	key := db.opts.Schema + "." + indexName(collectionID)
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('ragd.index.' || $1::text, 0))`, key).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return nil
	}
	defer func() {
		// A connection that cannot unlock is broken; closing it releases
		// the lock with the session.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended('ragd.index.' || $1::text, 0))`, key); err != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
		}
	}()
	return fn(conn)
}

// dropVectorIndex drops a collection's index without blocking writers.
func (db *DB) dropVectorIndex(ctx context.Context, collectionID int64) error {
	_, err := db.pool.Exec(ctx, db.sql(`DROP INDEX CONCURRENTLY IF EXISTS {schema}.`+indexName(collectionID)))
	return err
}

// reconcileIndexes builds the indexes that collections lack (a crash or an
// outage between creating a collection and its index, or an interrupted
// build) and drops those of deleted collections.
func (db *DB) reconcileIndexes(ctx context.Context) error {
	rows, err := db.pool.Query(ctx, db.sql(`
		SELECT c.id, c.dimension
		FROM {schema}.collections c
		WHERE c.dimension BETWEEN 1 AND $2
		  AND NOT EXISTS (
			SELECT 1 FROM pg_index i
			JOIN pg_class x ON x.oid = i.indexrelid
			JOIN pg_namespace n ON n.oid = x.relnamespace
			WHERE n.nspname = $1 AND x.relname = 'chunks_hnsw_' || c.id AND i.indisvalid AND i.indisready)
		ORDER BY c.id`), db.opts.Schema, maxHalfvecIndexDimension)
	if err != nil {
		return db.wrap(err, "find missing vector indexes")
	}
	missing, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		ID  int64
		Dim int
	}])
	if err != nil {
		return db.wrap(err, "find missing vector indexes")
	}
	for _, m := range missing {
		if err := db.ensureVectorIndex(ctx, m.ID, m.Dim); err != nil {
			return db.wrap(err, "build vector index")
		}
	}

	rows, err = db.pool.Query(ctx, db.sql(`
		SELECT x.relname
		FROM pg_class x
		JOIN pg_namespace n ON n.oid = x.relnamespace
		WHERE n.nspname = $1 AND x.relkind = 'i' AND x.relname ~ '^chunks_hnsw_[0-9]+$'
		  AND NOT EXISTS (SELECT 1 FROM {schema}.collections c WHERE 'chunks_hnsw_' || c.id = x.relname)`), db.opts.Schema)
	if err != nil {
		return db.wrap(err, "find leftover vector indexes")
	}
	orphans, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return db.wrap(err, "find leftover vector indexes")
	}
	for _, name := range orphans {
		if _, err := db.pool.Exec(ctx, db.sql(`DROP INDEX CONCURRENTLY IF EXISTS {schema}.`+pgx.Identifier{name}.Sanitize())); err != nil {
			return db.wrap(err, "drop leftover vector index")
		}
	}
	return nil
}

// DropVectorIndex drops a collection's vector index, for bulk loads:
// inserting into an HNSW index costs far more than building it once
// afterwards. Searches stay correct without the index (they scan the
// collection) until [DB.BuildVectorIndex] or the next Open builds it again.
// It returns ENotFound for a missing collection.
func (db *DB) DropVectorIndex(ctx context.Context, collection string) error {
	c, err := db.lookupCollection(ctx, collection, true)
	if err != nil {
		return err
	}
	if err := db.dropVectorIndex(ctx, c.id); err != nil {
		return db.wrap(err, "drop vector index")
	}
	return nil
}

// BuildVectorIndex (re)builds a collection's vector index with the HNSW
// parameters of the DB's Options, without blocking writes. Use it after a
// bulk load or to apply new parameters. maintenanceWorkMem, when not empty
// (for example "1GB"), is the memory the build may use: an HNSW build that
// fits in it is much faster. When another process is building the same
// index at that moment, it leaves the build to it and returns nil. It
// returns ENotFound for a missing collection and EInvalid for a collection
// without vectors (or too wide for an HNSW index).
func (db *DB) BuildVectorIndex(ctx context.Context, collection, maintenanceWorkMem string) error {
	c, err := db.lookupCollection(ctx, collection, true)
	if err != nil {
		return err
	}
	if vectorType(c.dimension) == "" {
		return ragd.Errorf(ragd.EInvalid, "Collection %q has no vectors to index (dimension %d).", collection, c.dimension)
	}
	err = db.withIndexLock(ctx, c.id, func(conn *pgx.Conn) error {
		if maintenanceWorkMem != "" {
			if _, err := conn.Exec(ctx, `SELECT set_config('maintenance_work_mem', $1, false)`, maintenanceWorkMem); err != nil {
				return err
			}
			defer conn.Exec(context.WithoutCancel(ctx), `RESET maintenance_work_mem`) //nolint:errcheck // a reset that fails leaves a larger limit on one connection
		}
		if _, err := conn.Exec(ctx, db.sql(`DROP INDEX CONCURRENTLY IF EXISTS {schema}.`+indexName(c.id))); err != nil {
			return err
		}
		return db.createIndex(ctx, conn, c.id, c.dimension)
	})
	if err != nil {
		return db.wrap(err, "build vector index")
	}
	return nil
}
