package main

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/jobs"
)

// BenchmarkIngestSEC10Q ingests the 20 SEC 10-Q filings (PDF) as one
// folder job into a fresh local store and reports pages/s, chunks/s, and
// the share of ingest time spent in each stage (extraction, chunking,
// embedding, storing; summed over the job's concurrent items). The embedder
// is hash:384 unless RAGD_BENCH_EMBEDDER names another (bge-small-en-v1.5
// measures the in-process encoder):
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
	embedder := os.Getenv("RAGD_BENCH_EMBEDDER")
	if embedder == "" {
		embedder = "hash:384"
	}
	var pages, chunks float64
	var mu sync.Mutex
	stages := map[string]time.Duration{}
	var wall time.Duration
	for b.Loop() {
		cfg := testConfig(b)
		cfg.Embedder = embedder
		cfg.Offline = false
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
