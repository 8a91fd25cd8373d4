package jobs_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ragd/ragd/ingest/jobs"
)

// BenchmarkFolderJob measures the engine's own cost per item with the local
// store: listing, claiming, reading and recording (one fsynced bbolt
// transaction per claim and per outcome), with an ingester that does
// nothing but hash.
func BenchmarkFolderJob(b *testing.B) {
	const files = 200
	base := b.TempDir()
	for i := range files {
		mustWrite(b, filepath.Join(base, "docs", fmt.Sprintf("%03d.txt", i)), fmt.Sprint("document ", i))
	}
	cfg := testConfig(mustBolt(b, filepath.Join(b.TempDir(), "jobs.db")), newFakeIngester(""))
	cfg.Roots = mustRoots(b, filepath.Join(base, "docs"))
	m := startManager(b, cfg)
	b.ResetTimer()
	for range b.N {
		j, err := m.Submit(context.Background(), jobs.Spec{Collection: "kb", Sources: []jobs.Source{{Path: "docs"}}})
		if err != nil {
			b.Fatal(err)
		}
		waitEnd(b, m, j.ID)
	}
	b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "items/s")
}
