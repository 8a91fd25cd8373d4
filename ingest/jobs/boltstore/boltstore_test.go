package boltstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/jobs"
	"github.com/ragd/ragd/ingest/jobs/boltstore"
	"github.com/ragd/ragd/ingest/jobs/jobstest"
)

var _ jobs.Store = (*boltstore.Store)(nil)

var ctx = context.Background()

func mustOpen(tb testing.TB, path string) *boltstore.Store {
	tb.Helper()
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	jobstest.Run(t, jobstest.Harness{
		Open: func(t *testing.T) jobs.Store { return mustOpen(t, filepath.Join(t.TempDir(), "jobs.db")) },
		Peer: func(t *testing.T, s jobs.Store) jobs.Store { return s },
	})
}

func TestOneProcessAtATime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	mustOpen(t, path)
	if _, err := boltstore.Open(path, boltstore.Options{}); ragd.ErrorCode(err) != ragd.EUnavailable {
		t.Errorf("second Open = %v, want unavailable", err)
	}
}

// TestReopenResumes: items a process held when it died are pending again
// when the file is reopened, their attempt counted; finished items stay.
func TestReopenResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j := jobstest.NewJob("c", jobs.Source{Path: "docs"})
	items := []jobs.NewItem{{Kind: jobs.KindFile, Key: "docs/a", Group: -1}, {Kind: jobs.KindFile, Key: "docs/b", Group: -1}}
	if err := s.CreateJob(ctx, j, items); err != nil {
		t.Fatal(err)
	}
	claim := jobs.Claim{Owner: "w", Lease: time.Hour, MaxAttempts: 3}
	a, _, _ := s.Claim(ctx, claim)
	if err := s.Finish(ctx, a, jobs.Item{Status: ragd.StatusIndexed, Indexed: 1, Chunks: 2}, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Claim(ctx, claim); !ok || err != nil {
		t.Fatalf("claim b: %v %v", ok, err)
	}
	s.Close() // the process dies holding docs/b

	s = mustOpen(t, path)
	got, err := s.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != jobs.StatusRunning || got.Progress.Running != 0 || got.Progress.Done != 1 {
		t.Errorf("after reopen: %s %+v", got.Status, got.Progress)
	}
	b, ok, err := s.Claim(ctx, claim)
	if !ok || err != nil || b.Key != "docs/b" || b.Attempt != 2 {
		t.Fatalf("claim after reopen = %+v, %v, %v", b, ok, err)
	}
	if err := s.Finish(ctx, b, jobs.Item{Status: ragd.StatusIndexed, Indexed: 1, Chunks: 3}, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Job(ctx, j.ID)
	if got.Status != jobs.StatusSucceeded || got.Progress.Chunks != 5 {
		t.Errorf("final: %s %+v", got.Status, got.Progress)
	}
}
