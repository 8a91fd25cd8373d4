package local_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/local"
	"github.com/ragd/ragd/store/storetest"
)

// Benchmarks. The 100,000-chunk store is built once per test binary run
// (a minute or two) and shared by the vector search and open benchmarks:
//
//	go test -run '^$' -bench 'Search|Put' -benchtime 200x ./store/local
//	go test -run '^$' -bench Open -benchtime 5x ./store/local

const (
	largeChunks = 100_000
	largeDim    = 384
)

// texts returns SciFact abstracts (title and text, about 300 BERT tokens
// each): realistic chunk texts.
func texts(tb testing.TB) []string {
	tb.Helper()
	dir, err := storetest.EvalDir("../..", "scifact")
	if err != nil {
		tb.Fatal(err)
	}
	d, err := storetest.LoadDataset(dir)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]string, len(d.Docs))
	for i, doc := range d.Docs {
		out[i] = doc.Content()
	}
	return out
}

// largeStore holds the shared 100,000 x 384 store.
type largeStore struct {
	once sync.Once
	dir  string
	err  error
}

func (l *largeStore) get(b *testing.B) string {
	l.once.Do(func() {
		l.dir, l.err = os.MkdirTemp("", "ragd-local-bench-")
		if l.err != nil {
			return
		}
		start := time.Now()
		l.err = buildLarge(b, l.dir)
		b.Logf("built %d x %d store in %v", largeChunks, largeDim, time.Since(start).Round(time.Millisecond))
	})
	if l.err != nil {
		b.Fatal(l.err)
	}
	return l.dir
}

func (l *largeStore) remove() {
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}

// large is built on first use and removed by TestMain.
var large largeStore

func TestMain(m *testing.M) {
	code := m.Run()
	large.remove()
	os.Exit(code)
}

// buildLarge stores 1,000 documents of 100 chunks: SciFact texts, random
// unit vectors, and metadata {"bucket": n % 10} so that a filter on one
// bucket matches 10 %.
func buildLarge(b *testing.B, dir string) error {
	db, err := local.Open(dir, local.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: "large", Embedder: "random", Dimension: largeDim}); err != nil {
		return err
	}
	tx := texts(b)
	rng := rand.New(rand.NewPCG(1, 1))
	for d := 0; d < largeChunks/100; d++ {
		doc := ragd.Document{ID: fmt.Sprintf("doc-%05d", d), Collection: "large", Title: fmt.Sprint("Document ", d)}
		chunks := make([]ragd.Chunk, 100)
		for i := range chunks {
			n := d*100 + i
			chunks[i] = ragd.Chunk{ID: fmt.Sprintf("c-%06d", n), Index: i, Text: tx[n%len(tx)],
				Metadata: map[string]any{"bucket": n % 10}, Vector: storetest.RandomUnitVector(rng, largeDim, false)}
		}
		if err := db.PutDocument(ctx, doc, chunks); err != nil {
			return err
		}
	}
	return nil
}

// latencies records per-search durations and reports their quantiles.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(l[len(l)/2]), "p50-ms")
	b.ReportMetric(ms(l[min(len(l)-1, len(l)*99/100)]), "p99-ms")
}

func runSearches(b *testing.B, db *local.DB, next func(i int) ragd.SearchQuery) {
	ctx := context.Background()
	var lat latencies
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := next(i)
		start := time.Now()
		hits, err := db.Search(ctx, q)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if len(hits) == 0 {
			b.Fatalf("no hits for %+v", q)
		}
	}
	lat.report(b)
}

// BenchmarkSearchVector is exact search over 100,000 chunks of 384
// dimensions, top 10, without a filter and with one that matches 10 %.
func BenchmarkSearchVector(b *testing.B) {
	dir := large.get(b)
	db := mustOpen(b, dir)
	rng := rand.New(rand.NewPCG(2, 2))
	queries := make([][]float32, 64)
	for i := range queries {
		queries[i] = storetest.RandomUnitVector(rng, largeDim, false)
	}
	b.Run("nofilter", func(b *testing.B) {
		runSearches(b, db, func(i int) ragd.SearchQuery {
			return ragd.SearchQuery{Collection: "large", Mode: ragd.ModeVector, Vector: queries[i%len(queries)], TopK: 10, MinScore: -2}
		})
	})
	filter := &ragd.Filter{Op: ragd.OpEq, Key: "bucket", Values: []any{3.0}}
	b.Run("filter10pct", func(b *testing.B) {
		runSearches(b, db, func(i int) ragd.SearchQuery {
			return ragd.SearchQuery{Collection: "large", Mode: ragd.ModeVector, Vector: queries[i%len(queries)], TopK: 10, MinScore: -2, Filter: filter}
		})
	})
}

// BenchmarkOpen measures opening the 100,000-chunk store: loading the
// vectors and rebuilding the BM25 index from stored term frequencies.
func BenchmarkOpen(b *testing.B) {
	dir := large.get(b)
	b.ResetTimer()
	for b.Loop() {
		db, err := local.Open(dir, local.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
}

// sciFactStore stores SciFact (5,183 chunks) with random 384-d vectors.
func sciFactStore(b *testing.B) (*local.DB, *storetest.Dataset) {
	db := mustOpen(b, b.TempDir())
	d := loadDataset(b, db, "scifact")
	ctx := context.Background()
	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: "scifact384", Embedder: "random", Dimension: largeDim}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for start := 0; start < len(d.Docs); start += 100 {
		doc := ragd.Document{ID: fmt.Sprintf("batch-%05d", start), Collection: "scifact384"}
		var chunks []ragd.Chunk
		for i, bd := range d.Docs[start:min(start+100, len(d.Docs))] {
			chunks = append(chunks, ragd.Chunk{ID: bd.ID, Index: i, Text: bd.Content(), Vector: storetest.RandomUnitVector(rng, largeDim, false)})
		}
		if err := db.PutDocument(ctx, doc, chunks); err != nil {
			b.Fatal(err)
		}
	}
	return db, d
}

// BenchmarkSearchLexical is BM25 over SciFact's 5,183 abstracts with its
// test queries, top 10.
func BenchmarkSearchLexical(b *testing.B) {
	db, d := sciFactStore(b)
	runSearches(b, db, func(i int) ragd.SearchQuery {
		return ragd.SearchQuery{Collection: "scifact", Mode: ragd.ModeLexical, Text: d.Queries[i%len(d.Queries)].Text, TopK: 10}
	})
}

// BenchmarkSearchHybrid fuses exact vector search and BM25 over SciFact
// with 384-d vectors, top 10.
func BenchmarkSearchHybrid(b *testing.B) {
	db, d := sciFactStore(b)
	rng := rand.New(rand.NewPCG(4, 4))
	vecs := make([][]float32, len(d.Queries))
	for i := range vecs {
		vecs[i] = storetest.RandomUnitVector(rng, largeDim, false)
	}
	runSearches(b, db, func(i int) ragd.SearchQuery {
		j := i % len(d.Queries)
		return ragd.SearchQuery{Collection: "scifact384", Mode: ragd.ModeHybrid, Text: d.Queries[j].Text, Vector: vecs[j], TopK: 10}
	})
}

// BenchmarkPut stores documents of 10 chunks with SciFact texts (about 300
// tokens each) and 384-d vectors, one fsynced transaction per document.
func BenchmarkPut(b *testing.B) {
	db := mustOpen(b, b.TempDir())
	ctx := context.Background()
	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: "put", Embedder: "random", Dimension: largeDim}); err != nil {
		b.Fatal(err)
	}
	tx := texts(b)
	rng := rand.New(rand.NewPCG(5, 5))
	vecs := make([][]float32, 1000)
	for i := range vecs {
		vecs[i] = storetest.RandomUnitVector(rng, largeDim, false)
	}
	const perDoc = 10
	b.ResetTimer()
	start := time.Now()
	n := 0
	for i := 0; b.Loop(); i++ {
		doc := ragd.Document{ID: fmt.Sprintf("doc-%07d", i), Collection: "put", Title: "T", Metadata: map[string]any{"i": i}}
		chunks := make([]ragd.Chunk, perDoc)
		for j := range chunks {
			k := i*perDoc + j
			chunks[j] = ragd.Chunk{ID: fmt.Sprintf("c-%08d", k), Index: j, Text: tx[k%len(tx)], Vector: vecs[k%len(vecs)],
				Metadata: map[string]any{"i": i, "page": j}}
		}
		if err := db.PutDocument(ctx, doc, chunks); err != nil {
			b.Fatal(err)
		}
		n += perDoc
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "chunks/s")
}
