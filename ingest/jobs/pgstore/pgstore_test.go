package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/fetch"
	"github.com/ragd/ragd/ingest/jobs"
	"github.com/ragd/ragd/ingest/jobs/jobstest"
	"github.com/ragd/ragd/ingest/jobs/pgstore"
)

var _ jobs.Store = (*pgstore.Store)(nil)

// testURL returns the URL of a native PostgreSQL (not PGlite: it
// serializes transactions, so row locking cannot be tested on it).
func testURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("RAGD_TEST_PG_NATIVE_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("RAGD_TEST_PG_NATIVE_URL is not set; .ci/run starts Debian's PostgreSQL 15 for these tests")
		}
		tb.Skip("set RAGD_TEST_PG_NATIVE_URL to a native PostgreSQL to run the job queue tests")
	}
	return url
}

// schema is an isolated schema with the job tables, dropped after the
// test.
type schema struct{ url, name string }

func mustSchema(t *testing.T) schema {
	t.Helper()
	url := testURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := "jobs_test_" + jobs.NewID()[:12]
	ddl, err := os.ReadFile(filepath.Join("..", "..", "..", "migrations", "0010_ingest_jobs.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE SCHEMA %s; SET search_path TO %s; %s", name, name, ddl)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	return schema{url, name}
}

// open returns a store on its own pool, as one ragd process has.
func (s schema) open(t *testing.T) *pgstore.Store {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(s.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = s.name
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pgstore.New(pool)
}

func TestConformance(t *testing.T) {
	schemas := map[jobs.Store]schema{}
	jobstest.Run(t, jobstest.Harness{
		Open: func(t *testing.T) jobs.Store {
			sc := mustSchema(t)
			s := sc.open(t)
			schemas[s] = sc
			return s
		},
		Peer: func(t *testing.T, s jobs.Store) jobs.Store { return schemas[s].open(t) },
	})
}

// countingIngester counts calls by source and models content hashes.
type countingIngester struct {
	mu    sync.Mutex
	calls map[string]int
	docs  map[string]string
}

func (c *countingIngester) IngestFile(ctx context.Context, collection string, f ingest.File, md map[string]any) ([]ingest.Result, error) {
	time.Sleep(2 * time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[f.Name]++
	status := ragd.StatusIndexed
	if c.docs[f.Name] == string(f.Data) {
		status = ragd.StatusUnchanged
	}
	c.docs[f.Name] = string(f.Data)
	return []ingest.Result{{DocumentID: f.Name, Status: status, Chunks: 1}}, nil
}

func runManager(t *testing.T, cfg jobs.Config) *jobs.Manager {
	t.Helper()
	m, err := jobs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	t.Cleanup(func() {
		m.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return m
}

// TestManagersShareQueue: three ragd processes (each its own pool and
// Manager) work on one folder job together; every item is ingested exactly
// once, and each process's event stream sees every item.
func TestManagersShareQueue(t *testing.T) {
	sc := mustSchema(t)
	base := t.TempDir()
	const n = 60
	for i := range n {
		name := filepath.Join(base, "docs", fmt.Sprintf("%02d.txt", i))
		os.MkdirAll(filepath.Dir(name), 0o755)
		os.WriteFile(name, []byte(fmt.Sprint("doc ", i)), 0o644)
	}
	roots, err := fetch.NewRoots(fetch.RootsConfig{Paths: []string{filepath.Join(base, "docs")}})
	if err != nil {
		t.Fatal(err)
	}
	ing := &countingIngester{calls: map[string]int{}, docs: map[string]string{}}
	var ms []*jobs.Manager
	for i := range 3 {
		ms = append(ms, runManager(t, jobs.Config{
			Store: sc.open(t), Ingester: ing, Roots: roots, Concurrency: 2,
			PollInterval: 20 * time.Millisecond, Owner: fmt.Sprint("proc-", i),
		}))
	}
	ctx := context.Background()
	j, err := ms[0].Submit(ctx, jobs.Spec{Collection: "kb", Sources: []jobs.Source{{Path: "docs"}}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, m := range ms {
		ch, err := m.Events(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			items := 0
			var last jobs.Event
			for ev := range ch {
				if ev.Type == jobs.EventItem {
					items++
				}
				last = ev
			}
			if last.Type != jobs.EventDone || last.Job.Status != jobs.StatusSucceeded || last.Job.Progress.Indexed != n {
				t.Errorf("process %d: last event %+v", i, last)
			}
			// A stream opened after some items finished sees the rest.
			if items == 0 || items > n {
				t.Errorf("process %d saw %d item events", i, items)
			}
		}()
	}
	wg.Wait()
	if len(ing.calls) != n {
		t.Errorf("%d sources ingested, want %d", len(ing.calls), n)
	}
	for src, c := range ing.calls {
		if c != 1 {
			t.Errorf("%s ingested %d times", src, c)
		}
	}
}

// TestDeadWorkerTakeover: a process claims items and dies; once its leases
// run out another process finishes them.
func TestDeadWorkerTakeover(t *testing.T) {
	sc := mustSchema(t)
	base := t.TempDir()
	for i := range 4 {
		name := filepath.Join(base, "docs", fmt.Sprintf("%d.txt", i))
		os.MkdirAll(filepath.Dir(name), 0o755)
		os.WriteFile(name, []byte(fmt.Sprint("doc ", i)), 0o644)
	}
	roots, err := fetch.NewRoots(fetch.RootsConfig{Paths: []string{filepath.Join(base, "docs")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dead := sc.open(t)
	m0, err := jobs.New(jobs.Config{Store: dead, Ingester: &countingIngester{}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := m0.Submit(ctx, jobs.Spec{Collection: "kb", Sources: []jobs.Source{{Path: "docs"}}})
	if err != nil {
		t.Fatal(err)
	}
	// The dead process listed the folder, then claimed two files and
	// vanished.
	claim := jobs.Claim{Owner: "dead", Lease: 300 * time.Millisecond, MaxAttempts: 3}
	folder, _, err := dead.Claim(ctx, claim)
	if err != nil {
		t.Fatal(err)
	}
	var children []jobs.NewItem
	for i := range 4 {
		children = append(children, jobs.NewItem{Kind: jobs.KindFile, Key: fmt.Sprintf("docs/%d.txt", i), Group: -1})
	}
	if err := dead.Finish(ctx, folder, jobs.Item{Status: jobs.ItemExpanded}, children); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, ok, err := dead.Claim(ctx, claim); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}

	ing := &countingIngester{calls: map[string]int{}, docs: map[string]string{}}
	m := runManager(t, jobs.Config{Store: sc.open(t), Ingester: ing, Roots: roots, PollInterval: 50 * time.Millisecond, Owner: "alive"})
	ch, err := m.Events(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	var last jobs.Event
	for ev := range ch {
		last = ev
	}
	if last.Type != jobs.EventDone || last.Job.Status != jobs.StatusSucceeded || last.Job.Progress.Indexed != 4 {
		t.Fatalf("last event %+v", last)
	}
	items, err := m.Items(ctx, j.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	attempts := map[string]int{}
	for _, it := range items {
		attempts[it.Source] = it.Attempts
	}
	want := map[string]int{"docs/0.txt": 2, "docs/1.txt": 2, "docs/2.txt": 1, "docs/3.txt": 1}
	if !reflect.DeepEqual(attempts, want) {
		t.Errorf("attempts = %v, want %v", attempts, want)
	}
}

// BenchmarkFolderJob measures the queue's cost per item on native
// PostgreSQL with two processes of two workers each and an ingester that
// does nothing.
func BenchmarkFolderJob(b *testing.B) {
	url := testURL(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	name := "jobs_bench_" + jobs.NewID()[:12]
	ddl, err := os.ReadFile(filepath.Join("..", "..", "..", "migrations", "0010_ingest_jobs.sql"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE SCHEMA %s; SET search_path TO %s; %s", name, name, ddl)); err != nil {
		b.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
	const files = 200
	base := b.TempDir()
	for i := range files {
		p := filepath.Join(base, "docs", fmt.Sprintf("%03d.txt", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(fmt.Sprint("document ", i)), 0o644)
	}
	roots, err := fetch.NewRoots(fetch.RootsConfig{Paths: []string{filepath.Join(base, "docs")}})
	if err != nil {
		b.Fatal(err)
	}
	ing := &countingIngester{calls: map[string]int{}, docs: map[string]string{}}
	var ms []*jobs.Manager
	for i := range 2 {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			b.Fatal(err)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = name
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		m, err := jobs.New(jobs.Config{Store: pgstore.New(pool), Ingester: ing, Roots: roots, PollInterval: 20 * time.Millisecond, Owner: fmt.Sprint("p", i)})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		defer func() { m.Close(); <-done }()
		ms = append(ms, m)
	}
	b.ResetTimer()
	for range b.N {
		j, err := ms[0].Submit(ctx, jobs.Spec{Collection: "kb", Sources: []jobs.Source{{Path: "docs"}}})
		if err != nil {
			b.Fatal(err)
		}
		ch, err := ms[0].Events(ctx, j.ID)
		if err != nil {
			b.Fatal(err)
		}
		for range ch {
		}
	}
	b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "items/s")
}
