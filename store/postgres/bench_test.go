package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/postgres"
	"github.com/ragd/ragd/store/storetest"
)

// The benchmarks run against a PGlite server of their own, over the
// extended protocol with prepared statements and binary vectors, as a
// production deployment talks to PostgreSQL. PGlite is PostgreSQL compiled
// to WebAssembly and runs single-threaded: its timings are far slower than
// a native server's and only compare with each other.
//
//	go test ./store/postgres -run '^$' -bench . -benchtime 200x -timeout 60m

const (
	benchChunks   = 100_000
	benchDim      = 384
	benchClusters = 1000
)

// benchCorpus is synthetic data shaped like embeddings of real text: unit
// vectors drawn around benchClusters random centres (a Gaussian mixture),
// so that neighbourhoods exist, as they do for sentence embeddings and not
// for uniform random vectors; texts of 10 to 40 words from a 2,000-word
// vocabulary with a Zipf distribution; every tenth chunk marked
// {"kind": "rare"}.
type benchCorpus struct {
	vecs    [][]float32
	texts   []string
	rare    []bool
	queries [][]float32
	words   []string
}

func newBenchCorpus(n, queries int) *benchCorpus {
	r := rand.New(rand.NewPCG(2026, 11))
	centres := make([][]float32, benchClusters)
	for i := range centres {
		centres[i] = storetest.RandomUnitVector(r, benchDim, false)
	}
	point := func() []float32 {
		c := centres[r.IntN(len(centres))]
		v := make([]float32, benchDim)
		var norm float64
		for i := range v {
			x := float64(c[i]) + 0.9*r.NormFloat64()/math.Sqrt(benchDim)
			v[i] = float32(x)
			norm += x * x
		}
		for i := range v {
			v[i] /= float32(math.Sqrt(norm))
		}
		return v
	}
	bc := &benchCorpus{}
	for i := range 2000 {
		bc.words = append(bc.words, fmt.Sprintf("w%x", i*2654435761%1000003))
	}
	zipf := rand.NewZipf(r, 1.1, 1, uint64(len(bc.words)-1))
	for i := range n {
		bc.vecs = append(bc.vecs, point())
		words := make([]string, 10+r.IntN(31))
		for j := range words {
			words[j] = bc.words[zipf.Uint64()]
		}
		bc.texts = append(bc.texts, strings.Join(words, " "))
		bc.rare = append(bc.rare, i%10 == 0)
	}
	for range queries {
		bc.queries = append(bc.queries, point())
	}
	return bc
}

// exact returns the IDs of the k chunks nearest to q by cosine (dot
// product of unit vectors), among those for which keep is true.
func (bc *benchCorpus) exact(q []float32, k int, keep func(i int) bool) []string {
	type scored struct {
		i int
		s float64
	}
	var all []scored
	for i, v := range bc.vecs {
		if keep != nil && !keep(i) {
			continue
		}
		var dot float64
		for j := range v {
			dot += float64(v[j]) * float64(q[j])
		}
		all = append(all, scored{i, dot})
	}
	sort.Slice(all, func(a, b int) bool { return all[a].s > all[b].s })
	out := make([]string, 0, k)
	for _, s := range all[:min(k, len(all))] {
		out = append(out, benchChunkID(s.i))
	}
	return out
}

func benchChunkID(i int) string { return fmt.Sprintf("c%06d", i) }

// put stores chunks [from, to) as documents of per chunks each.
func (bc *benchCorpus) put(ctx context.Context, db *postgres.DB, coll string, from, to, per int) error {
	for start := from; start < to; start += per {
		doc := ragd.Document{ID: fmt.Sprintf("d%06d", start), Collection: coll}
		var chunks []ragd.Chunk
		for i := start; i < min(start+per, to); i++ {
			kind := "common"
			if bc.rare[i] {
				kind = "rare"
			}
			chunks = append(chunks, ragd.Chunk{ID: benchChunkID(i), Index: i - start, Text: bc.texts[i], End: len(bc.texts[i]),
				Vector: bc.vecs[i], Metadata: map[string]any{"kind": kind}})
		}
		if err := db.PutDocument(ctx, doc, chunks); err != nil {
			return err
		}
	}
	return nil
}

// openBench starts a server and opens a store on it, over one connection.
func openBench(b *testing.B, opts postgres.Options) *postgres.DB {
	b.Helper()
	p := newPrivatePGlite(b)
	dsn := p.start(b)
	opts.MaxConns = 1
	db, err := postgres.Open(context.Background(), dsn, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkPutDocument measures writes: documents of 10 chunks of about 300
// tokens (SciFact abstracts) with 384-d vectors, into a collection with its
// HNSW index (as ragd runs) and without (a bulk load, the index built
// afterwards).
func BenchmarkPutDocument(b *testing.B) {
	d := loadSciFact(b)
	bc := newBenchCorpus(1000, 0)
	db := openBench(b, postgres.Options{})
	ctx := context.Background()
	for _, index := range []bool{true, false} {
		name := "with-index"
		if !index {
			name = "bulk-no-index"
		}
		b.Run(name, func(b *testing.B) {
			coll := fmt.Sprintf("put-%s-%d", name, b.N)
			if _, err := db.CreateCollection(ctx, ragd.Collection{Name: coll, Dimension: benchDim}); err != nil {
				b.Fatal(err)
			}
			if !index {
				if err := db.DropVectorIndex(ctx, coll); err != nil {
					b.Fatal(err)
				}
			}
			const per = 10
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var chunks []ragd.Chunk
				for j := range per {
					n := (i*per + j) % len(d.Docs)
					text := d.Docs[n].Content()
					chunks = append(chunks, ragd.Chunk{ID: fmt.Sprintf("%d-%d", i, j), Index: j, Text: text, End: len(text),
						Vector: bc.vecs[n%len(bc.vecs)], Metadata: map[string]any{"n": n}})
				}
				if err := db.PutDocument(ctx, ragd.Document{ID: fmt.Sprint(i), Collection: coll}, chunks); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "chunks/s")
		})
	}
}

// BenchmarkSearch100k measures searches over 100,000 chunks of 384
// dimensions: latency percentiles per mode, with and without a filter that
// matches 10 % of the chunks, and recall@10 of the HNSW search against an
// exact search of the same data. The collection is loaded without its
// index, which is then built once (on PGlite, inserting into an HNSW index
// costs milliseconds per vector).
func BenchmarkSearch100k(b *testing.B) {
	const queries = 200
	bc := newBenchCorpus(benchChunks, queries)
	db := openBench(b, postgres.Options{})
	ctx := context.Background()
	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: "bench", Dimension: benchDim}); err != nil {
		b.Fatal(err)
	}
	if err := db.DropVectorIndex(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := bc.put(ctx, db, "bench", 0, benchChunks, 100); err != nil {
		b.Fatal(err)
	}
	load := time.Since(start)
	start = time.Now()
	if err := db.BuildVectorIndex(ctx, "bench", "1GB"); err != nil {
		b.Fatal(err)
	}
	build := time.Since(start)
	if _, err := db.Pool().Exec(ctx, `ANALYZE `+db.Schema()+`.chunks, `+db.Schema()+`.postings, `+db.Schema()+`.documents`); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d chunks in %v (%.0f chunks/s without the index); HNSW index (m=%d, ef_construction=%d) built in %v",
		benchChunks, load.Round(time.Second), benchChunks/load.Seconds(), postgres.DefaultHNSWM, postgres.DefaultHNSWEfConstruction, build.Round(time.Second))

	rare := &ragd.Filter{Op: ragd.OpEq, Key: "kind", Values: []any{"rare"}}
	r := rand.New(rand.NewPCG(5, 6))
	textOf := func(i int) string {
		return bc.words[r.IntN(50)] + " " + bc.words[r.IntN(2000)]
	}
	for _, tc := range []struct {
		name   string
		mode   string
		filter *ragd.Filter
	}{
		{"vector", ragd.ModeVector, nil},
		{"vector-filter10", ragd.ModeVector, rare},
		{"lexical", ragd.ModeLexical, nil},
		{"hybrid", ragd.ModeHybrid, nil},
		{"hybrid-filter10", ragd.ModeHybrid, rare},
	} {
		b.Run(tc.name, func(b *testing.B) {
			durs := make([]time.Duration, 0, b.N)
			var found, wanted int
			for i := 0; i < b.N; i++ {
				q := ragd.SearchQuery{Collection: "bench", Mode: tc.mode, Vector: bc.queries[i%queries], Text: textOf(i), TopK: 10, Filter: tc.filter, MinScore: -1}
				start := time.Now()
				hits, err := db.Search(ctx, q)
				durs = append(durs, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if tc.mode == ragd.ModeVector && i < queries {
					var keep func(int) bool
					if tc.filter != nil {
						keep = func(j int) bool { return bc.rare[j] }
					}
					want := bc.exact(q.Vector, 10, keep)
					got := map[string]bool{}
					for _, h := range hits {
						got[h.ChunkID] = true
					}
					for _, id := range want {
						if got[id] {
							found++
						}
					}
					wanted += len(want)
				}
			}
			b.ReportMetric(float64(percentile(durs, 50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(durs, 99).Microseconds())/1000, "p99-ms")
			if wanted > 0 {
				b.ReportMetric(float64(found)/float64(wanted), "recall@10")
			}
		})
	}
}

// percentile returns the p-th percentile (0..100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
