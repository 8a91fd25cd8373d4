package jobs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/fetch"
	"github.com/ragd/ragd/ingest/jobs"
	"github.com/ragd/ragd/ingest/jobs/boltstore"
)

// The production implementations satisfy the interfaces the Manager
// consumes.
var (
	_ jobs.Ingester = (*ingest.Service)(nil)
	_ jobs.Fetcher  = (*fetch.Fetcher)(nil)
)

// fakeIngester models ingest.Service as the jobs engine sees it: a
// document per source key, a content hash per document so that the same
// content again is "unchanged" and costs no embedding, and the errors of
// the real service. With dir set it keeps its documents and a call log on
// disk, so that it survives the process being killed.
type fakeIngester struct {
	dir string // "" keeps everything in memory

	mu          sync.Mutex
	docs        map[string]string // source key -> content hash
	calls       map[string]int    // calls by source key
	embedded    map[string]int    // calls that embedded, by source key
	inflight    int
	maxInflight int
	seen        [][]byte // every file's data, for canary checks

	// hook, when set, runs before each call; an error it returns is the
	// call's.
	hook func(ctx context.Context, f ingest.File, call int) error
}

func newFakeIngester(dir string) *fakeIngester {
	return &fakeIngester{dir: dir, docs: map[string]string{}, calls: map[string]int{}, embedded: map[string]int{}}
}

func (fi *fakeIngester) IngestFile(ctx context.Context, collection string, f ingest.File, md map[string]any) ([]ingest.Result, error) {
	fi.mu.Lock()
	fi.calls[f.Name]++
	call := fi.calls[f.Name]
	fi.inflight++
	fi.maxInflight = max(fi.maxInflight, fi.inflight)
	fi.seen = append(fi.seen, f.Data)
	fi.mu.Unlock()
	defer func() {
		fi.mu.Lock()
		fi.inflight--
		fi.mu.Unlock()
	}()
	fi.log("start", f.Name, "")
	if fi.hook != nil {
		if err := fi.hook(ctx, f, call); err != nil {
			return nil, err
		}
	}
	switch {
	case strings.HasSuffix(f.Name, ".png"):
		return nil, ragd.Errorf(ragd.EUnsupported, "%s: image files are not supported", f.Name)
	case strings.HasSuffix(f.Name, ".bad"):
		return nil, ragd.Errorf(ragd.EInvalid, "%s is damaged", f.Name)
	case len(f.Data) == 0:
		return nil, ragd.Errorf(ragd.EInvalid, "%s is empty", f.Name)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(f.Data)
	hash := hex.EncodeToString(sum[:])
	id := docID(f.Name)
	chunks := len(f.Data)/64 + 1
	res := ingest.Result{DocumentID: id, Title: filepath.Base(f.Name), Source: f.Name, Chunks: chunks}
	prev, known := fi.doc(id)
	switch {
	case known && prev == hash:
		res.Status = ragd.StatusUnchanged
	case known:
		res.Status, res.Embedded = ragd.StatusUpdated, chunks
	default:
		res.Status, res.Embedded = ragd.StatusIndexed, chunks
	}
	if res.Embedded > 0 {
		fi.storeDoc(id, hash)
		fi.mu.Lock()
		fi.embedded[f.Name]++
		fi.mu.Unlock()
	}
	fi.log("done", f.Name, res.Status)
	return []ingest.Result{res}, nil
}

func docID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:8])
}

func (fi *fakeIngester) doc(id string) (string, bool) {
	if fi.dir == "" {
		fi.mu.Lock()
		defer fi.mu.Unlock()
		h, ok := fi.docs[id]
		return h, ok
	}
	data, err := os.ReadFile(filepath.Join(fi.dir, "docs", id))
	return string(data), err == nil
}

// storeDoc commits a document atomically, as the store's transaction does.
func (fi *fakeIngester) storeDoc(id, hash string) {
	if fi.dir == "" {
		fi.mu.Lock()
		fi.docs[id] = hash
		fi.mu.Unlock()
		return
	}
	d := filepath.Join(fi.dir, "docs")
	os.MkdirAll(d, 0o755)
	tmp := filepath.Join(d, id+".tmp")
	if err := os.WriteFile(tmp, []byte(hash), 0o644); err != nil {
		panic(err)
	}
	if err := os.Rename(tmp, filepath.Join(d, id)); err != nil {
		panic(err)
	}
}

// log appends a line to the on-disk call log.
func (fi *fakeIngester) log(what, name, status string) {
	if fi.dir == "" {
		return
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(fi.dir, "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s %s\n", what, name, status)
}

func (fi *fakeIngester) stats() (calls, embedded map[string]int, maxInflight int) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	calls, embedded = map[string]int{}, map[string]int{}
	for k, v := range fi.calls {
		calls[k] = v
	}
	for k, v := range fi.embedded {
		embedded[k] = v
	}
	return calls, embedded, fi.maxInflight
}

func mustBolt(tb testing.TB, path string) *boltstore.Store {
	tb.Helper()
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// testConfig is a Manager config with fast retries and polling.
func testConfig(store jobs.Store, ing jobs.Ingester) jobs.Config {
	return jobs.Config{
		Store:        store,
		Ingester:     ing,
		Concurrency:  2,
		RetryBase:    time.Millisecond,
		RetryMax:     5 * time.Millisecond,
		PollInterval: 20 * time.Millisecond,
		Lease:        time.Minute,
	}
}

// startManager runs a Manager until the test ends.
func startManager(tb testing.TB, cfg jobs.Config) *jobs.Manager {
	tb.Helper()
	m, err := jobs.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	tb.Cleanup(func() {
		m.Close()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
	return m
}

// waitEnd follows a job's events to its end and returns them.
func waitEnd(tb testing.TB, m *jobs.Manager, id string) ([]jobs.Event, jobs.Job) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ch, err := m.Events(ctx, id)
	if err != nil {
		tb.Fatal(err)
	}
	var evs []jobs.Event
	for ev := range ch {
		evs = append(evs, ev)
	}
	if len(evs) == 0 || evs[len(evs)-1].Type != jobs.EventDone {
		tb.Fatalf("events of job %s ended without a done event (after %d events)", id, len(evs))
	}
	return evs, *evs[len(evs)-1].Job
}

// outcomes maps each finished item's source to its status and reason.
func outcomes(tb testing.TB, m *jobs.Manager, id string) map[string]string {
	tb.Helper()
	items, err := m.Items(context.Background(), id, 0, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	out := make(map[string]string)
	for _, it := range items {
		s := it.Status
		if it.Reason != "" {
			s += ":" + it.Reason
		}
		out[it.Source] = s
	}
	return out
}

func newRoots(dirs ...string) (*fetch.Roots, error) {
	return fetch.NewRoots(fetch.RootsConfig{Paths: dirs, MaxFileBytes: 4096})
}

func mustRoots(tb testing.TB, dirs ...string) *fetch.Roots {
	tb.Helper()
	r, err := newRoots(dirs...)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func mustWrite(tb testing.TB, name, data string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
}
