package postgres

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/postgres/pgtest"
)

func indexDefs(t *testing.T, db *DB) map[string]string {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), `
		SELECT x.relname, pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END
		FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_namespace n ON n.oid = x.relnamespace
		WHERE n.nspname = $1 AND x.relname LIKE 'chunks_hnsw_%'`, db.opts.Schema)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		out[name] = def
	}
	return out
}

// TestReconcileIndexes: Open rebuilds a collection's vector index that an
// interrupted build left INVALID or that is missing, and drops the index
// of a deleted collection (RELIABILITY.md D-8).
func TestReconcileIndexes(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
	ctx := context.Background()
	var logs bytes.Buffer
	open := func() *DB {
		db, err := Open(ctx, dsn, Options{Schema: schema, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db := open()
	var ids []int64
	for _, name := range []string{"a", "b", "c"} {
		if _, err := db.CreateCollection(ctx, ragd.Collection{Name: name, Dimension: 3}); err != nil {
			t.Fatal(err)
		}
		c, err := db.lookupCollection(ctx, name, true)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.id)
	}
	if defs := indexDefs(t, db); len(defs) != 3 {
		t.Fatalf("indexes after creating 3 collections: %v", defs)
	}
	// a: a build that was interrupted (PostgreSQL leaves the index
	// INVALID); b: an index that was never built; c: a collection deleted
	// while its index could not be dropped.
	for _, q := range []string{
		`UPDATE pg_index SET indisvalid = false WHERE indexrelid = '` + schema + `.` + indexName(ids[0]) + `'::regclass`,
		`DROP INDEX ` + schema + `.` + indexName(ids[1]),
		`DELETE FROM ` + schema + `.collections WHERE id = ` + itoa(ids[2]),
	} {
		if _, err := db.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if def := indexDefs(t, db)[indexName(ids[0])]; !strings.HasSuffix(def, "INVALID") {
		t.Fatalf("index of a is not invalid: %q", def)
	}

	db = open()
	defs := indexDefs(t, db)
	for _, id := range ids[:2] {
		def, ok := defs[indexName(id)]
		if !ok || strings.HasSuffix(def, "INVALID") || !strings.Contains(def, "hnsw") || !strings.Contains(def, "vector(3)") {
			t.Errorf("after Open, index %s = %q, want a valid HNSW index on vector(3)", indexName(id), def)
		}
	}
	if _, ok := defs[indexName(ids[2])]; ok {
		t.Errorf("the index of the deleted collection is still there")
	}
	if !strings.Contains(logs.String(), "rebuilding an invalid vector index") {
		t.Errorf("no warning about the invalid index in the log:\n%s", logs.String())
	}
}

// TestWideVectors: collections of 2,001 to 4,000 dimensions are indexed on
// halfvec (pgvector's HNSW limit for vector is 2,000) and wider ones not at
// all; both search exactly as the reference does, with full-precision
// scores.
func TestWideVectors(t *testing.T) {
	db := openInternal(t)
	ctx := context.Background()
	for _, dim := range []int{2500, 4500} {
		name := "wide" + itoa(int64(dim))
		if _, err := db.CreateCollection(ctx, ragd.Collection{Name: name, Dimension: dim}); err != nil {
			t.Fatal(err)
		}
		var chunks []ragd.Chunk
		for i := range 5 {
			v := make([]float32, dim)
			v[i] = 0.6
			v[dim-1] = 0.8
			chunks = append(chunks, ragd.Chunk{ID: "c" + itoa(int64(i)), Index: i, Text: "x", Vector: v})
		}
		if err := db.PutDocument(ctx, ragd.Document{ID: "d", Collection: name}, chunks); err != nil {
			t.Fatal(err)
		}
		q := make([]float32, dim)
		q[2] = 1
		hits, err := db.Search(ctx, ragd.SearchQuery{Collection: name, Mode: ragd.ModeVector, Vector: q, TopK: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 2 || hits[0].ChunkID != "c2" || abs(hits[0].Score-0.6) > 1e-6 || hits[1].ChunkID != "c0" || abs(hits[1].Score) > 1e-6 {
			t.Errorf("%d-d search = %+v, want c2 (0.6) then c0 (0)", dim, hits)
		}
		c, _ := db.lookupCollection(ctx, name, false)
		def, ok := indexDefs(t, db)[indexName(c.id)]
		switch {
		case dim <= maxHalfvecIndexDimension && (!ok || !strings.Contains(def, "halfvec(2500)")):
			t.Errorf("%d-d collection: index %q, want one on halfvec(2500)", dim, def)
		case dim > maxHalfvecIndexDimension && ok:
			t.Errorf("%d-d collection has an index %q, which pgvector cannot build", dim, def)
		}
	}
}

// TestOpenUnreachable: a database that cannot be reached at start-up is
// EUnavailable, not a crash or a hang.
func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://ragd@127.0.0.1:1/ragd?connect_timeout=2", Options{})
	if code := ragd.ErrorCode(err); code != ragd.EUnavailable {
		t.Errorf("Open of an unreachable database: %v (code %q), want %s", err, code, ragd.EUnavailable)
	}
	_, err = Open(ctx, "postgres://ragd:secret@[bad", Options{})
	if code := ragd.ErrorCode(err); code != ragd.EInvalid || strings.Contains(ragd.ErrorMessage(err), "secret") {
		t.Errorf("Open of a malformed DSN: %v (code %q), want %s without the password in the message", err, code, ragd.EInvalid)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
