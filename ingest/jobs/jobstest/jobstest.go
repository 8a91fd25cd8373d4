// Package jobstest is the conformance suite every jobs.Store passes.
package jobstest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/jobs"
)

// Harness describes a store under test.
type Harness struct {
	// Open returns a store over fresh, empty data.
	Open func(t *testing.T) jobs.Store
	// Peer returns another handle over the same data as s, as a second
	// process would have, or s itself for single-process stores.
	Peer func(t *testing.T, s jobs.Store) jobs.Store
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("CreateAndRead", func(t *testing.T) { testCreateAndRead(t, h) })
	t.Run("ClaimOrder", func(t *testing.T) { testClaimOrder(t, h) })
	t.Run("FinishAndChildren", func(t *testing.T) { testFinishAndChildren(t, h) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, h) })
	t.Run("AttemptsExhausted", func(t *testing.T) { testAttemptsExhausted(t, h) })
	t.Run("Release", func(t *testing.T) { testRelease(t, h) })
	t.Run("Cancel", func(t *testing.T) { testCancel(t, h) })
	t.Run("ConcurrentClaims", func(t *testing.T) { testConcurrentClaims(t, h) })
}

var ctx = context.Background()

// NewJob returns a queued job with a fresh ID and the given sources.
func NewJob(collection string, sources ...jobs.Source) jobs.Job {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return jobs.Job{ID: jobs.NewID(), Collection: collection, Sources: sources, Status: jobs.StatusQueued, CreatedAt: now, UpdatedAt: now}
}

func files(keys ...string) []jobs.NewItem {
	var out []jobs.NewItem
	for _, k := range keys {
		out = append(out, jobs.NewItem{Kind: jobs.KindFile, Key: k, Group: -1})
	}
	return out
}

func mustCreate(t *testing.T, s jobs.Store, j jobs.Job, items []jobs.NewItem) {
	t.Helper()
	if err := s.CreateJob(ctx, j, items); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
}

func mustClaim(t *testing.T, s jobs.Store, owner string, lease time.Duration) jobs.Task {
	t.Helper()
	task, ok, err := s.Claim(ctx, jobs.Claim{Owner: owner, Lease: lease, MaxAttempts: 3})
	if err != nil || !ok {
		t.Fatalf("Claim = %v, %v; want a task", ok, err)
	}
	return task
}

func mustNoClaim(t *testing.T, s jobs.Store) {
	t.Helper()
	task, ok, err := s.Claim(ctx, jobs.Claim{Owner: "nobody", Lease: time.Minute, MaxAttempts: 3})
	if err != nil || ok {
		t.Fatalf("Claim = %+v, %v, %v; want none", task, ok, err)
	}
}

func mustFinish(t *testing.T, s jobs.Store, task jobs.Task, out jobs.Item, children []jobs.NewItem) {
	t.Helper()
	if err := s.Finish(ctx, task, out, children); err != nil {
		t.Fatalf("Finish(%s): %v", task.Key, err)
	}
}

func mustJob(t *testing.T, s jobs.Store, id string) jobs.Job {
	t.Helper()
	j, err := s.Job(ctx, id)
	if err != nil {
		t.Fatalf("Job: %v", err)
	}
	return j
}

func indexed(chunks int) jobs.Item {
	return jobs.Item{Status: ragd.StatusIndexed, DocumentID: "d", Title: "t", Documents: 1, Indexed: 1, Chunks: chunks, Embedded: chunks, Bytes: 100}
}

func counts(p jobs.Progress) jobs.Progress {
	return jobs.Progress{
		Total: p.Total, Done: p.Done, Failed: p.Failed, Skipped: p.Skipped, Cancelled: p.Cancelled,
		Running: p.Running, Listing: p.Listing, Indexed: p.Indexed, Updated: p.Updated,
		Unchanged: p.Unchanged, Chunks: p.Chunks, Embedded: p.Embedded, Bytes: p.Bytes,
	}
}

func testCreateAndRead(t *testing.T, h Harness) {
	s := h.Open(t)
	a := NewJob("alpha", jobs.Source{Path: "docs"})
	a.Options = jobs.Options{Metadata: map[string]any{"team": "x"}, IncludeHidden: true}
	mustCreate(t, s, a, []jobs.NewItem{{Kind: jobs.KindPath, Key: "docs", Group: -1}})
	b := NewJob("beta", jobs.Source{URL: "https://example.com/"})
	mustCreate(t, s, b, []jobs.NewItem{{Kind: jobs.KindURL, Key: "https://example.com/", Group: -1}})
	c := NewJob("alpha", jobs.Source{URL: "https://example.org/"})
	mustCreate(t, s, c, []jobs.NewItem{{Kind: jobs.KindURL, Key: "https://example.org/", Group: -1}})

	got := mustJob(t, s, a.ID)
	if got.ID != a.ID || got.Collection != "alpha" || got.Status != jobs.StatusQueued ||
		!cmp.Equal(got.Sources, a.Sources) || !cmp.Equal(got.Options, a.Options) || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("Job = %+v, want %+v", got, a)
	}
	if want := (jobs.Progress{Listing: 1}); counts(got.Progress) != want {
		t.Errorf("progress = %+v, want %+v", counts(got.Progress), want)
	}
	if err := s.CreateJob(ctx, a, nil); ragd.ErrorCode(err) != ragd.EConflict {
		t.Errorf("CreateJob with a used ID: %v, want conflict", err)
	}
	for _, id := range []string{jobs.NewID(), "short", ""} {
		if _, err := s.Job(ctx, id); ragd.ErrorCode(err) != ragd.ENotFound {
			t.Errorf("Job(%q) = %v, want not_found", id, err)
		}
	}

	ids := func(js []jobs.Job, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatalf("Jobs: %v", err)
		}
		var out []string
		for _, j := range js {
			out = append(out, j.ID)
		}
		return out
	}
	if diff := cmp.Diff([]string{c.ID, b.ID, a.ID}, ids(s.Jobs(ctx, jobs.Filter{}))); diff != "" {
		t.Errorf("Jobs newest first (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{c.ID, a.ID}, ids(s.Jobs(ctx, jobs.Filter{Collection: "alpha"}))); diff != "" {
		t.Errorf("Jobs by collection (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{b.ID}, ids(s.Jobs(ctx, jobs.Filter{Before: c.ID, Limit: 1}))); diff != "" {
		t.Errorf("Jobs page 2 (-want +got):\n%s", diff)
	}
	if got := ids(s.Jobs(ctx, jobs.Filter{Status: jobs.StatusRunning})); len(got) != 0 {
		t.Errorf("running jobs = %v, want none", got)
	}
}

func testClaimOrder(t *testing.T, h Harness) {
	s := h.Open(t)
	a := NewJob("c", jobs.Source{Path: "docs"})
	mustCreate(t, s, a, files("docs/1", "docs/2", "docs/1"))
	b := NewJob("c", jobs.Source{Path: "more"})
	mustCreate(t, s, b, files("more/1"))

	var got []string
	for range 3 {
		task := mustClaim(t, s, "w1", time.Minute)
		got = append(got, task.JobID[:4]+":"+task.Key)
		if task.Collection != "c" || task.Owner != "w1" || task.Attempt != 1 || task.Kind != jobs.KindFile {
			t.Errorf("task = %+v", task)
		}
	}
	want := []string{a.ID[:4] + ":docs/1", a.ID[:4] + ":docs/2", b.ID[:4] + ":more/1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claim order (-want +got):\n%s", diff)
	}
	mustNoClaim(t, s)
	j := mustJob(t, s, a.ID)
	if j.Status != jobs.StatusRunning || j.StartedAt == nil {
		t.Errorf("claimed job: status %s, started %v", j.Status, j.StartedAt)
	}
	if want := (jobs.Progress{Total: 2, Running: 2}); counts(j.Progress) != want {
		t.Errorf("progress = %+v, want %+v (duplicate key added once)", counts(j.Progress), want)
	}
	running, err := s.Running(ctx, a.ID, 10)
	if err != nil || len(running) != 2 || running[0].Status != jobs.ItemRunning {
		t.Errorf("Running = %+v, %v", running, err)
	}
}

func testFinishAndChildren(t *testing.T, h Harness) {
	s := h.Open(t)
	crawl := &jobs.Crawl{Depth: 2, MaxPages: 3}
	j := NewJob("c", jobs.Source{Path: "docs"}, jobs.Source{URL: "https://example.com/", Crawl: crawl})
	mustCreate(t, s, j, []jobs.NewItem{
		{Kind: jobs.KindPath, Key: "docs", Group: -1},
		{Kind: jobs.KindURL, Key: "https://example.com/", Group: 1},
	})

	// The folder lists into files, one of them skipped at once; a file key
	// equal to the folder's is a different item.
	folder := mustClaim(t, s, "w", time.Minute)
	if folder.Kind != jobs.KindPath || folder.Key != "docs" {
		t.Fatalf("first task = %+v", folder)
	}
	skipped := &jobs.Item{Status: ragd.StatusSkipped, Reason: "path_escape", Error: "escapes"}
	mustFinish(t, s, folder, jobs.Item{Status: jobs.ItemExpanded}, []jobs.NewItem{
		{Kind: jobs.KindFile, Key: "docs", Group: -1},
		{Kind: jobs.KindFile, Key: "docs/a.md", Group: -1},
		{Kind: jobs.KindFile, Key: "docs/link", Group: -1, Done: skipped},
	})
	p := mustJob(t, s, j.ID).Progress
	if want := (jobs.Progress{Total: 4, Done: 1, Skipped: 1}); counts(p) != want {
		t.Errorf("after listing: %+v, want %+v", counts(p), want)
	}

	seed := mustClaim(t, s, "w", time.Minute)
	if seed.Kind != jobs.KindURL || seed.Crawl == nil || *seed.Crawl != *crawl || seed.Group != 1 || seed.Depth != 0 {
		t.Fatalf("seed task = %+v", seed)
	}
	// The crawl finds 4 pages and the seed again; with MaxPages 3 only
	// two are added.
	mustFinish(t, s, seed, indexed(3), []jobs.NewItem{
		{Kind: jobs.KindURL, Key: "https://example.com/", Depth: 1, Group: 1},
		{Kind: jobs.KindURL, Key: "https://example.com/a", Depth: 1, Group: 1},
		{Kind: jobs.KindURL, Key: "https://example.com/b", Depth: 1, Group: 1},
		{Kind: jobs.KindURL, Key: "https://example.com/c", Depth: 1, Group: 1},
	})

	var keys []string
	for {
		task, ok, err := s.Claim(ctx, jobs.Claim{Owner: "w", Lease: time.Minute, MaxAttempts: 3})
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		keys = append(keys, task.Key)
		out := indexed(2)
		if task.Key == "docs/a.md" {
			out = jobs.Item{Status: ragd.StatusFailed, Reason: "invalid", Error: "damaged", Bytes: 7}
		}
		if task.Key == "https://example.com/a" {
			if task.Depth != 1 || task.Group != 1 {
				t.Errorf("crawl page task = %+v", task)
			}
			out = jobs.Item{Status: ragd.StatusUnchanged, Documents: 1, Unchanged: 1, Chunks: 2}
		}
		mustFinish(t, s, task, out, nil)
	}
	want := []string{"docs", "docs/a.md", "https://example.com/a", "https://example.com/b"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("claimed (-want +got):\n%s", diff)
	}

	got := mustJob(t, s, j.ID)
	if got.Status != jobs.StatusFailed || got.FinishedAt == nil || !got.Ended() {
		t.Errorf("job status %s, finished %v; want failed and finished", got.Status, got.FinishedAt)
	}
	wantP := jobs.Progress{Total: 6, Done: 6, Failed: 1, Skipped: 1, Indexed: 3, Unchanged: 1, Chunks: 9, Embedded: 7, Bytes: 307}
	if counts(got.Progress) != wantP {
		t.Errorf("final progress = %+v, want %+v", counts(got.Progress), wantP)
	}
	if got.Seq != 6 {
		t.Errorf("job seq = %d, want 6", got.Seq)
	}

	items, err := s.Items(ctx, j.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for i, it := range items {
		order = append(order, it.Source+"="+it.Status)
		if it.Seq != int64(i+1) || it.FinishedAt == nil {
			t.Errorf("item %d: seq %d, finished %v", i, it.Seq, it.FinishedAt)
		}
	}
	wantOrder := []string{
		"docs/link=skipped", "https://example.com/=indexed", "docs=indexed", "docs/a.md=failed",
		"https://example.com/a=unchanged", "https://example.com/b=indexed",
	}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("items in finishing order (-want +got):\n%s", diff)
	}
	if it := items[3]; it.Reason != "invalid" || it.Error != "damaged" || it.Attempts != 1 || it.Kind != jobs.KindFile {
		t.Errorf("failed item = %+v", it)
	}
	if it := items[1]; it.DocumentID != "d" || it.Title != "t" || it.Chunks != 3 || it.Embedded != 3 || it.Documents != 1 {
		t.Errorf("indexed item = %+v", it)
	}
	page, err := s.Items(ctx, j.ID, 4, 1)
	if err != nil || len(page) != 1 || page[0].Seq != 5 {
		t.Errorf("Items(after 4, limit 1) = %+v, %v", page, err)
	}
	fails, err := s.Failures(ctx, j.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var fs []string
	for _, it := range fails {
		fs = append(fs, it.Source+"="+it.Reason)
	}
	if diff := cmp.Diff([]string{"docs/link=path_escape", "docs/a.md=invalid"}, fs); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	// A job that ended takes no more outcomes.
	if err := s.Finish(ctx, seed, indexed(1), nil); ragd.ErrorCode(err) != ragd.EConflict {
		t.Errorf("finishing twice: %v, want conflict", err)
	}
	if _, err := s.Cancel(ctx, j.ID); ragd.ErrorCode(err) != ragd.EConflict {
		t.Errorf("cancelling a failed job: %v, want conflict", err)
	}
}

func testLeases(t *testing.T, h Harness) {
	s := h.Open(t)
	peer := h.Peer(t, s)
	j := NewJob("c", jobs.Source{Path: "docs"})
	mustCreate(t, s, j, files("docs/a"))
	const lease = 300 * time.Millisecond
	first := mustClaim(t, s, "w1", lease)
	if cancelled, err := s.Extend(ctx, first, lease); err != nil || cancelled {
		t.Errorf("Extend = %v, %v", cancelled, err)
	}
	wrong := first
	wrong.Owner = "w2"
	if _, err := s.Extend(ctx, wrong, lease); ragd.ErrorCode(err) != ragd.EConflict {
		t.Errorf("Extend by another owner: %v, want conflict", err)
	}
	mustNoClaim(t, peer)

	time.Sleep(lease + 200*time.Millisecond)
	second := mustClaim(t, peer, "w2", time.Minute)
	if second.Key != "docs/a" || second.Attempt != 2 {
		t.Errorf("taken-over task = %+v", second)
	}
	if _, err := s.Extend(ctx, first, lease); ragd.ErrorCode(err) != ragd.EConflict {
		t.Errorf("Extend after losing the lease: %v, want conflict", err)
	}
	if err := s.Finish(ctx, first, indexed(1), nil); ragd.ErrorCode(err) != ragd.EConflict {
		t.Errorf("Finish after losing the lease: %v, want conflict", err)
	}
	if p := mustJob(t, s, j.ID).Progress; p.Running != 1 || p.Done != 0 {
		t.Errorf("progress after takeover = %+v", counts(p))
	}
	mustFinish(t, peer, second, indexed(1), nil)
	got := mustJob(t, s, j.ID)
	if got.Status != jobs.StatusSucceeded || got.Progress.Done != 1 || got.Progress.Running != 0 {
		t.Errorf("job = %s %+v", got.Status, counts(got.Progress))
	}
	items, _ := s.Items(ctx, j.ID, 0, 10)
	if len(items) != 1 || items[0].Attempts != 2 {
		t.Errorf("items = %+v", items)
	}
}

func testAttemptsExhausted(t *testing.T, h Harness) {
	s := h.Open(t)
	j := NewJob("c", jobs.Source{Path: "docs"})
	mustCreate(t, s, j, files("docs/poison", "docs/fine"))
	const lease = 100 * time.Millisecond
	for attempt := 1; attempt <= 2; attempt++ {
		task := mustClaim(t, s, fmt.Sprint("dies-", attempt), lease)
		if task.Key != "docs/poison" || task.Attempt != attempt {
			t.Fatalf("attempt %d: task %+v", attempt, task)
		}
		time.Sleep(lease + 150*time.Millisecond) // the worker died
	}
	task, ok, err := s.Claim(ctx, jobs.Claim{Owner: "w", Lease: time.Minute, MaxAttempts: 2})
	if err != nil || !ok || task.Key != "docs/fine" {
		t.Fatalf("claim after exhaustion = %+v, %v, %v; want docs/fine", task, ok, err)
	}
	mustFinish(t, s, task, indexed(1), nil)
	got := mustJob(t, s, j.ID)
	if got.Status != jobs.StatusFailed || got.Progress.Failed != 1 || got.Progress.Done != 2 {
		t.Errorf("job = %s %+v", got.Status, counts(got.Progress))
	}
	fails, _ := s.Failures(ctx, j.ID, 10)
	if len(fails) != 1 || fails[0].Reason != jobs.ReasonAttemptsExhausted || fails[0].Attempts != 2 {
		t.Errorf("failures = %+v", fails)
	}
}

func testRelease(t *testing.T, h Harness) {
	s := h.Open(t)
	j := NewJob("c", jobs.Source{Path: "docs"})
	mustCreate(t, s, j, files("docs/a"))
	for range 5 {
		task := mustClaim(t, s, "w", time.Minute)
		if task.Attempt != 1 {
			t.Fatalf("attempt = %d after releases, want 1", task.Attempt)
		}
		if err := s.Release(ctx, task); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, task); ragd.ErrorCode(err) != ragd.EConflict {
			t.Errorf("releasing twice: %v", err)
		}
	}
	p := mustJob(t, s, j.ID).Progress
	if want := (jobs.Progress{Total: 1}); counts(p) != want {
		t.Errorf("progress = %+v, want %+v", counts(p), want)
	}
}

func testCancel(t *testing.T, h Harness) {
	s := h.Open(t)
	j := NewJob("c", jobs.Source{Path: "docs"}, jobs.Source{Path: "more"})
	mustCreate(t, s, j, append(files("docs/a", "docs/b", "docs/c"), jobs.NewItem{Kind: jobs.KindPath, Key: "more", Group: -1}))
	const lease = 200 * time.Millisecond
	a := mustClaim(t, s, "w", time.Minute)
	b := mustClaim(t, s, "dead", lease)
	got, err := s.Cancel(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != jobs.StatusCancelled || got.Ended() {
		t.Errorf("cancelled with items in flight: %s, ended %v", got.Status, got.Ended())
	}
	if want := (jobs.Progress{Total: 4, Done: 2, Cancelled: 2, Running: 2}); counts(got.Progress) != want {
		t.Errorf("progress = %+v, want %+v", counts(got.Progress), want)
	}
	mustNoClaim(t, s)
	if cancelled, err := s.Extend(ctx, a, time.Minute); err != nil || !cancelled {
		t.Errorf("Extend of a cancelled job's item = %v, %v; want cancelled", cancelled, err)
	}
	// An item that finished anyway keeps its real outcome.
	mustFinish(t, s, a, indexed(1), nil)
	// The dead worker's item is cancelled once its lease runs out.
	time.Sleep(lease + 150*time.Millisecond)
	mustNoClaim(t, s)
	got = mustJob(t, s, j.ID)
	if !got.Ended() || got.FinishedAt == nil || got.Status != jobs.StatusCancelled {
		t.Errorf("job = %s, ended %v, finished %v", got.Status, got.Ended(), got.FinishedAt)
	}
	if want := (jobs.Progress{Total: 4, Done: 4, Cancelled: 3, Indexed: 1, Chunks: 1, Embedded: 1, Bytes: 100}); counts(got.Progress) != want {
		t.Errorf("progress = %+v, want %+v", counts(got.Progress), want)
	}
	if err := s.Finish(ctx, b, indexed(1), nil); ragd.ErrorCode(err) != ragd.EConflict {
		t.Errorf("Finish by the dead worker: %v, want conflict", err)
	}
	again, err := s.Cancel(ctx, j.ID)
	if err != nil || again.Status != jobs.StatusCancelled {
		t.Errorf("cancelling again = %s, %v", again.Status, err)
	}
	if _, err := s.Cancel(ctx, jobs.NewID()); ragd.ErrorCode(err) != ragd.ENotFound {
		t.Errorf("cancelling an unknown job: %v", err)
	}
}

// testConcurrentClaims has workers on several handles claim and finish
// items at once: every item is claimed exactly once.
func testConcurrentClaims(t *testing.T, h Harness) {
	s := h.Open(t)
	handles := []jobs.Store{s, h.Peer(t, s), h.Peer(t, s), h.Peer(t, s)}
	const nJobs, nItems = 3, 40
	var ids []string
	for i := range nJobs {
		j := NewJob("c", jobs.Source{Path: "docs"})
		var keys []string
		for k := range nItems {
			keys = append(keys, fmt.Sprintf("docs/%d/%03d", i, k))
		}
		mustCreate(t, s, j, files(keys...))
		ids = append(ids, j.ID)
	}
	var mu sync.Mutex
	claimed := make(map[string]int)
	var wg sync.WaitGroup
	for w := range 8 {
		st := handles[w%len(handles)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprint("w", w)
			for {
				task, ok, err := st.Claim(ctx, jobs.Claim{Owner: owner, Lease: time.Minute, MaxAttempts: 3})
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				claimed[task.JobID+task.Key]++
				mu.Unlock()
				if err := st.Finish(ctx, task, indexed(1), nil); err != nil {
					t.Errorf("Finish: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(claimed) != nJobs*nItems {
		t.Errorf("claimed %d distinct items, want %d", len(claimed), nJobs*nItems)
	}
	for k, n := range claimed {
		if n != 1 {
			t.Errorf("%s claimed %d times", k, n)
		}
	}
	for _, id := range ids {
		j := mustJob(t, s, id)
		if j.Status != jobs.StatusSucceeded || j.Progress.Done != nItems || j.Progress.Running != 0 || j.Seq != nItems {
			t.Errorf("job %s: %s %+v seq %d", id, j.Status, counts(j.Progress), j.Seq)
		}
		items, err := s.Items(ctx, id, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, it := range items {
			seqs = append(seqs, it.Seq)
		}
		if len(seqs) != nItems || !slices.IsSorted(seqs) || seqs[0] != 1 || seqs[len(seqs)-1] != nItems {
			t.Errorf("job %s: seqs %v, want 1..%d", id, seqs, nItems)
		}
	}
}
