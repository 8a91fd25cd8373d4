package main

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd/bge/bgetest"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/jobs"
)

// BenchmarkIngestSEC10Q ingests the 20 SEC 10-Q filings (PDF) as one
// folder job into a fresh local store and reports pages/s, chunks/s, and
// the share of ingest time spent in each stage (extraction, chunking,
// embedding, storing; summed over the job's concurrent items). It runs
// twice: with hash:384, which costs next to nothing and so shows the rest
// of the pipeline, and with the in-process BGE encoder on a model of
// bge-small-en-v1.5's exact shape and vocabulary with random weights (the
// real weights cannot be downloaded everywhere; the cost is the same):
//
//	go test ./cmd/ragd -run '^$' -bench IngestSEC10Q -benchtime 1x
func BenchmarkIngestSEC10Q(b *testing.B) {
	root, err := filepath.Abs(filepath.Join(evalDir, "sec10q", "docs"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		b.Fatalf("sec10q eval data: %v", err)
	}
	b.Run("embedder=hash", func(b *testing.B) {
		benchIngestJob(b, root, func(cfg *Config) { cfg.Embedder = "hash:384" })
	})
	b.Run("embedder=bge-small-shape", func(b *testing.B) {
		dir := b.TempDir()
		err := bgetest.WriteTinyModel(dir, bgetest.TinyConfig{
			Hidden: 384, Layers: 12, Heads: 12, Intermediate: 1536, MaxPosition: 512,
			VocabWords: 1 << 20, Name: "bge-small-shape",
		}, 1)
		if err != nil {
			b.Fatal(err)
		}
		benchIngestJob(b, root, func(cfg *Config) {
			cfg.Embedder = "bge-small-en-v1.5"
			cfg.ModelDir = dir
		})
	})
}

func benchIngestJob(b *testing.B, root string, configure func(*Config)) {
	var pages, chunks float64
	var mu sync.Mutex
	stages := map[string]time.Duration{}
	var wall time.Duration
	for b.Loop() {
		cfg := testConfig(b)
		configure(&cfg)
		cfg.IngestRoots = []string{root}
		if l := os.Getenv("RAGD_BENCH_LOG_LEVEL"); l != "" {
			cfg.LogLevel = l
		}
		app, err := NewApp(context.Background(), cfg, newLogger(cfg, os.Stderr))
		if err != nil {
			b.Fatal(err)
		}
		observe := app.Ingest.Observe
		app.Ingest.Observe = func(stage string, d time.Duration) {
			observe(stage, d)
			mu.Lock()
			stages[stage] += d
			mu.Unlock()
		}
		ctx, cancel := context.WithCancel(context.Background())
		go app.RunJobs(ctx)
		start := time.Now()
		j, err := app.Jobs.Submit(ctx, jobs.Spec{Collection: "sec10q", Sources: []jobs.Source{{Path: root}}})
		if err != nil {
			b.Fatal(err)
		}
		for j.Status != jobs.StatusSucceeded {
			time.Sleep(10 * time.Millisecond)
			if j, err = app.Jobs.Job(ctx, j.ID); err != nil {
				b.Fatal(err)
			}
			if j.Status == jobs.StatusFailed || j.Status == jobs.StatusCancelled {
				b.Fatalf("job ended %s: %+v", j.Status, j.Progress)
			}
		}
		wall += time.Since(start)
		if j.Progress.Done != 20 || j.Progress.Failed != 0 {
			b.Fatalf("job: %+v", j.Progress)
		}
		chunks += float64(j.Progress.Chunks)
		docs, err := app.Store.Documents(ctx, "sec10q", "", 100)
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range docs {
			switch n := d.Metadata["pages"].(type) {
			case float64:
				pages += n
			case int:
				pages += float64(n)
			default:
				b.Fatalf("%s: pages metadata %T %v", d.Source, n, n)
			}
		}
		cancel()
		app.Close()
	}
	b.ReportMetric(pages/wall.Seconds(), "pages/s")
	b.ReportMetric(chunks/wall.Seconds(), "chunks/s")
	var total time.Duration
	for _, d := range stages {
		total += d
	}
	for _, s := range []string{ingest.StageExtract, ingest.StageChunk, ingest.StageEmbed, ingest.StageStore} {
		b.ReportMetric(100*stages[s].Seconds()/total.Seconds(), s+"-%")
	}
}
