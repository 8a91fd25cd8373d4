package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/postgres/pgtest"
)

// explain returns the plan of the statement that Search runs for q, planned
// under the same settings.
func explain(t *testing.T, db *DB, q ragd.SearchQuery) string {
	t.Helper()
	ctx := context.Background()
	coll, err := db.lookupCollection(ctx, q.Collection, true)
	if err != nil {
		t.Fatal(err)
	}
	query, args, _, err := db.searchSQL(coll, q)
	if err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	db.queueSearchSettings(b)
	var plan []string
	b.Queue("EXPLAIN "+query, args...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			plan = append(plan, line)
		}
		return rows.Err()
	})
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

func openInternal(t *testing.T) *DB {
	t.Helper()
	dsn := pgtest.DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := Open(ctx, dsn, Options{Schema: pgtest.Schema(t, dsn), Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func randomUnit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	for i := range v {
		v[i] /= float32(sqrt(n))
	}
	return v
}

// TestExplainUsesCollectionIndex checks that vector and hybrid searches,
// filtered or not, are answered by the HNSW index of their own collection,
// for collections of different dimensions sharing the chunks table.
func TestExplainUsesCollectionIndex(t *testing.T) {
	db := openInternal(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	dims := map[string]int{"small": 8, "large": 24}
	for name, dim := range dims {
		if _, err := db.CreateCollection(ctx, ragd.Collection{Name: name, Dimension: dim, Chunking: ragd.Chunking{MaxTokens: 300}}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		// Load without the index, then build it once, as a bulk load
		// should.
		if err := db.DropVectorIndex(ctx, name); err != nil {
			t.Fatal(err)
		}
		for d := 0; d < 60; d++ {
			var chunks []ragd.Chunk
			for i := 0; i < 100; i++ {
				chunks = append(chunks, ragd.Chunk{
					ID: fmt.Sprintf("%s-%d-%d", name, d, i), Index: i,
					Text:     fmt.Sprintf("chunk %d of document %d about topic%d", i, d, i%7),
					Vector:   randomUnit(r, dim),
					Metadata: map[string]any{"group": float64(i % 10), "lang": []any{"en", "de"}},
				})
			}
			if err := db.PutDocument(ctx, ragd.Document{ID: fmt.Sprint(d), Collection: name}, chunks); err != nil {
				t.Fatal(err)
			}
		}
		loaded := time.Now()
		if err := db.BuildVectorIndex(ctx, name, ""); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: loaded in %v, index built in %v", name, loaded.Sub(start), time.Since(loaded))
	}
	if _, err := db.pool.Exec(ctx, db.sql(`ANALYZE {schema}.chunks`)); err != nil {
		t.Fatal(err)
	}
	filter := &ragd.Filter{Op: ragd.OpAnd, Children: []ragd.Filter{
		{Op: ragd.OpEq, Key: "group", Values: []any{3.0}},
		{Op: ragd.OpIn, Key: "lang", Values: []any{"en", "fr"}},
	}}
	for name, dim := range dims {
		var id int64
		if err := db.pool.QueryRow(ctx, db.sql(`SELECT id FROM {schema}.collections WHERE name = $1`), name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []string{ragd.ModeVector, ragd.ModeHybrid} {
			for _, f := range []*ragd.Filter{nil, filter} {
				plan := explain(t, db, ragd.SearchQuery{Collection: name, Mode: mode, Text: "topic3 chunk", Vector: randomUnit(r, dim), TopK: 10, Filter: f})
				want := "Index Scan using " + indexName(id) + " on chunks"
				if !strings.Contains(plan, want) {
					t.Errorf("%s search in %s (filter %v): plan does not use %s:\n%s", mode, name, f != nil, indexName(id), plan)
				}
			}
		}
	}
}

func sqrt(x float64) float64 { return math.Sqrt(x) }
