package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd"
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
	root := sec10qDocs(b)
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
		start := time.Now()
		j := ingestSEC10Q(ctx, b, app, root)
		wall += time.Since(start)
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

// sec10qDocs returns the absolute path of the SEC 10-Q filings.
func sec10qDocs(b *testing.B) string {
	root, err := filepath.Abs(filepath.Join(evalDir, "sec10q", "docs"))
	if err == nil {
		_, err = os.Stat(root)
	}
	if err != nil {
		b.Fatalf("sec10q eval data: %v", err)
	}
	return root
}

// ingestSEC10Q runs the folder job over the filings in app, with app's job
// runner until ctx ends, and returns the finished job.
func ingestSEC10Q(ctx context.Context, b *testing.B, app *App, root string) jobs.Job {
	go app.RunJobs(ctx)
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
			items, _ := app.Jobs.Items(ctx, j.ID, 0, 100)
			for _, it := range items {
				if it.Status == ragd.StatusFailed {
					b.Errorf("%s: %s: %s", it.Source, it.Reason, it.Error)
				}
			}
			b.Fatalf("job ended %s: %+v", j.Status, j.Progress)
		}
	}
	if j.Progress.Done != 20 || j.Progress.Failed != 0 {
		b.Fatalf("job: %+v", j.Progress)
	}
	return j
}

// BenchmarkRetrieveSEC10Q measures lexical retrieval on the SEC 10-Q
// filings with the 195 reviewed questions of qna_data.csv, whose gold
// labels are documents (a glob such as "*2023 Q3 AAPL*"): a question is
// answered at rank r when the r-th chunk retrieved is from a matching
// filing. It reports the share of questions answered within the first 5
// and 10 chunks and MRR@10, overall and for the single-document questions.
//
//	go test ./cmd/ragd -run '^$' -bench RetrieveSEC10Q -benchtime 1x
func BenchmarkRetrieveSEC10Q(b *testing.B) {
	root := sec10qDocs(b)
	f, err := os.Open(filepath.Join(root, "..", "qna_data.csv"))
	if err != nil {
		b.Fatalf("sec10q eval data: %v", err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) < 2 {
		b.Fatalf("qna_data.csv: %d rows, %v", len(rows), err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[strings.TrimPrefix(name, "\ufeff")] = i
	}
	question, docs, kind := col["Question"], col["Source Docs"], col["Question Type"]
	if question != 0 || docs == 0 || kind == 0 {
		b.Fatalf("qna_data.csv columns: %q", rows[0])
	}
	for b.Loop() {
		cfg := testConfig(b)
		cfg.IngestRoots = []string{root}
		app, err := NewApp(context.Background(), cfg, newLogger(cfg, os.Stderr))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ingestSEC10Q(ctx, b, app, root)
		type tally struct {
			n, at5, at10 int
			rr           float64
		}
		var all, single tally
		for _, row := range rows[1:] {
			hits, _, err := app.Retrieve.Retrieve(ctx, ragd.Question{Collection: "sec10q", Query: row[question], TopK: 10, Mode: ragd.ModeLexical})
			if err != nil {
				b.Fatal(err)
			}
			rank := 0
			for i, h := range hits {
				if ok, err := filepath.Match(row[docs], filepath.Base(h.Source)); err != nil {
					b.Fatalf("glob %q: %v", row[docs], err)
				} else if ok {
					rank = i + 1
					break
				}
			}
			for _, t := range []*tally{&all, &single} {
				if t == &single && !strings.HasPrefix(row[kind], "Single-Doc") {
					continue
				}
				t.n++
				if rank > 0 {
					t.rr += 1 / float64(rank)
					t.at10++
					if rank <= 5 {
						t.at5++
					}
				}
			}
		}
		cancel()
		app.Close()
		if all.n != len(rows)-1 || single.n == 0 {
			b.Fatalf("%d questions, %d single-document", all.n, single.n)
		}
		b.ReportMetric(float64(all.at5)/float64(all.n), "hit@5")
		b.ReportMetric(float64(all.at10)/float64(all.n), "hit@10")
		b.ReportMetric(all.rr/float64(all.n), "MRR@10")
		b.ReportMetric(float64(single.at5)/float64(single.n), "single-doc-hit@5")
		b.ReportMetric(single.rr/float64(single.n), "single-doc-MRR@10")
	}
}
