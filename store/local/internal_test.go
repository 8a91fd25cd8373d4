package local

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/storetest"
	bolt "go.etcd.io/bbolt"
)

// countChunkRecords counts the records in a collection's chunks bucket,
// retired versions included.
func countChunkRecords(t *testing.T, db *DB, name string) int {
	t.Helper()
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(collectionBucket(name)).Bucket([]byte(bucketChunks)).ForEach(func(_, _ []byte) error {
			n++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRetiredVersionsAreCollected(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: "c", Dimension: 4}); err != nil {
		t.Fatal(err)
	}
	docs := storetest.Corpus("c")
	for _, fd := range docs {
		if err := db.PutDocument(ctx, fd.Doc, fd.Chunks); err != nil {
			t.Fatal(err)
		}
	}
	if got := countChunkRecords(t, db, "c"); got != 10 {
		t.Fatalf("%d chunk records, want 10", got)
	}
	// Replacing animals-1 (3 chunks) keeps the old records until the next
	// write, which deletes them.
	if err := db.PutDocument(ctx, docs[0].Doc, docs[0].Chunks[:1]); err != nil {
		t.Fatal(err)
	}
	if got := countChunkRecords(t, db, "c"); got != 11 {
		t.Errorf("after a replace: %d chunk records, want 11 (10 + 1 new, 3 retired kept)", got)
	}
	if err := db.DeleteDocument(ctx, "c", "mixed"); err != nil {
		t.Fatal(err)
	}
	if got := countChunkRecords(t, db, "c"); got != 8 {
		t.Errorf("after the next write: %d chunk records, want 8 (3 retired collected, 1 newly retired kept)", got)
	}
	// Reopening collects what is left.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := countChunkRecords(t, db, "c"); got != 7 {
		t.Errorf("after reopening: %d chunk records, want 7", got)
	}
	c, _ := db.Collection(ctx, "c")
	if c.DocumentCount != 4 || c.ChunkCount != 7 {
		t.Errorf("counts %d/%d, want 4/7", c.DocumentCount, c.ChunkCount)
	}
}

// TestCompaction replaces documents until the index compacts several
// times, comparing every search with the reference model.
func TestCompaction(t *testing.T) {
	ctx := context.Background()
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.compactMin = 8
	coll, err := db.CreateCollection(ctx, ragd.Collection{Name: "c", Dimension: 4})
	if err != nil {
		t.Fatal(err)
	}
	ref := storetest.NewReference(coll)
	rng := rand.New(rand.NewPCG(9, 9))
	for op := 0; op < 200; op++ {
		id := fmt.Sprintf("d%d", rng.IntN(10))
		if op%7 == 6 {
			err := db.DeleteDocument(ctx, "c", id)
			if existed := ref.Delete(id); existed != (err == nil) {
				t.Fatalf("delete %s: %v (existed %v)", id, err, existed)
			}
		} else {
			doc := ragd.Document{ID: id, Collection: "c", Title: fmt.Sprint("t", op)}
			var chunks []ragd.Chunk
			for i := 0; i < 1+rng.IntN(4); i++ {
				chunks = append(chunks, ragd.Chunk{ID: fmt.Sprintf("%s-%d", id, i), Index: i, Text: storetest.RandomText(rng, 3+rng.IntN(8), 10),
					Vector: storetest.RandomUnitVector(rng, 4, false), Metadata: map[string]any{"g": rng.IntN(3)}})
			}
			if err := db.PutDocument(ctx, doc, chunks); err != nil {
				t.Fatal(err)
			}
			ref.Put(doc, chunks)
		}
		ix := db.colls["c"].idx
		if ix.live+ix.dead != len(ix.slots) {
			t.Fatalf("op %d: %d live + %d dead != %d slots", op, ix.live, ix.dead, len(ix.slots))
		}
		for i := 0; i < 3; i++ {
			q := ragd.SearchQuery{Collection: "c", Mode: []string{ragd.ModeVector, ragd.ModeLexical, ragd.ModeHybrid}[i],
				Text: storetest.RandomText(rng, 2, 10), Vector: storetest.RandomUnitVector(rng, 4, false), TopK: 20, MinScore: -2}
			if i == 2 {
				q.MinScore = 0
			}
			if rng.IntN(2) == 0 {
				q.Filter = &ragd.Filter{Op: ragd.OpEq, Key: "g", Values: []any{1.0}}
			}
			got, err := db.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			ranked, _ := ref.Rank(q)
			if q.Mode == ragd.ModeHybrid {
				continue // fusion is checked by the conformance suite
			}
			if err := storetest.CompareHits(got, ranked, q.TopK); err != nil {
				t.Fatalf("op %d: %s: %v", op, q.Mode, err)
			}
		}
	}
	compactions := db.colls["c"].compactions
	if compactions < 3 {
		t.Errorf("the index compacted %d times, want several", compactions)
	}
	t.Logf("%d compactions", compactions)
}

// TestConformanceCompacting runs the conformance suite with an index that
// compacts after a few dead slots, so that searches run while compacted
// indexes are swapped in.
func TestConformanceCompacting(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		db, err := Open(t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.compactMin = 4
		t.Cleanup(func() { db.Close() })
		return db
	})
}
