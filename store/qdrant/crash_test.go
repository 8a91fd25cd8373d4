package qdrant_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/qdrant"
)

var errCrash = errors.New("injected crash")

// crashAt returns an AfterStep seam that fails the nth time (from 1) step
// is reached.
func crashAt(step string, nth int) func(string) error {
	var seen atomic.Int32
	return func(s string) error {
		if s == step && int(seen.Add(1)) == nth {
			return errCrash
		}
		return nil
	}
}

// versionDoc is a document whose every chunk says which version it is:
// "marker VERSION i". All chunks have the same vector, so every search for
// "marker" along it returns all of them.
func versionDoc(id, version string, n int) (ragd.Document, []ragd.Chunk) {
	doc := ragd.Document{ID: id, Collection: "crash", Title: version}
	var chunks []ragd.Chunk
	for i := 0; i < n; i++ {
		chunks = append(chunks, ragd.Chunk{
			ID: fmt.Sprintf("%s-%s-%d", id, version, i), Index: i,
			Text: fmt.Sprintf("marker %s %d", version, i), Vector: []float32{1, 0},
		})
	}
	return doc, chunks
}

// visible checks what readers see of document id: every search mode, the
// document, its chunks and the collection's counts must show exactly
// version want with n chunks ("" and 0: the document does not exist).
func visible(t *testing.T, s *qdrant.Store, id, want string, n int) {
	t.Helper()
	ctx := context.Background()
	for _, mode := range []string{ragd.ModeVector, ragd.ModeLexical, ragd.ModeHybrid} {
		hits, err := s.Search(ctx, ragd.SearchQuery{Collection: "crash", Mode: mode, Text: "marker", Vector: []float32{1, 0}, TopK: 50})
		if err != nil {
			t.Fatalf("%s search: %v", mode, err)
		}
		got := map[string]int{}
		for _, h := range hits {
			if h.DocumentID == id {
				got[strings.Fields(h.Text)[1]]++
			}
		}
		switch {
		case want == "" && len(got) != 0:
			t.Errorf("%s search shows deleted/unborn %s: %v", mode, id, got)
		case want != "" && (len(got) != 1 || got[want] != n):
			t.Errorf("%s search shows versions %v of %s, want exactly %d chunks of %q", mode, got, id, n, want)
		}
	}
	doc, err := s.Document(ctx, "crash", id)
	if want == "" {
		wantCode(t, err, ragd.ENotFound)
		return
	}
	if err != nil || doc.Title != want || doc.ChunkCount != n {
		t.Errorf("Document = %+v, %v; want version %q with %d chunks", doc, err, want, n)
	}
	chunks, err := s.Chunks(ctx, "crash", id)
	if err != nil || len(chunks) != n {
		t.Fatalf("Chunks = %d chunks, %v; want %d", len(chunks), err, n)
	}
	for _, c := range chunks {
		if !strings.Contains(c.Text, " "+want+" ") {
			t.Errorf("Chunks has %q, want version %q", c.Text, want)
		}
	}
}

// sweepLater sweeps as a process would once the grace period has passed.
func sweepLater(t *testing.T, b *backend) qdrant.SweepStats {
	t.Helper()
	later := b.open(t, qdrant.Options{Now: func() time.Time { return time.Now().Add(qdrant.DefaultSweepGrace + time.Minute) }})
	st, err := later.Sweep(context.Background())
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	return st
}

func TestReplaceCrashAtEveryStep(t *testing.T) {
	const oldN, newN = 3, 5
	cases := []struct {
		step string
		nth  int
		// after the crash, readers see the new version
		switched bool
	}{
		{qdrant.StepIntent, 1, false},
		{qdrant.StepPoints, 1, false}, // half the new points written
		{qdrant.StepPoints, 3, false}, // all of them
		{qdrant.StepSwitch, 1, true},
		{qdrant.StepCleanup, 1, true},
		{qdrant.StepDone, 1, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s-%d", tc.step, tc.nth), func(t *testing.T) {
			b := newBackend(t)
			reader := b.open(t, qdrant.Options{BM25AvgLen: 3})
			mustCreate(t, reader, "crash", 2)
			other, otherChunks := versionDoc("other", "stable", 2)
			mustPut(t, reader, other, otherChunks)
			oldDoc, oldChunks := versionDoc("d", "old", oldN)
			mustPut(t, reader, oldDoc, oldChunks)

			writer := b.open(t, qdrant.Options{BatchSize: 2, AfterStep: crashAt(tc.step, tc.nth)})
			newDoc, newChunks := versionDoc("d", "new", newN)
			err := writer.PutDocument(context.Background(), newDoc, newChunks)
			if !errors.Is(err, errCrash) {
				t.Fatalf("PutDocument = %v, want the injected crash", err)
			}
			want, n := "old", oldN
			if tc.switched {
				want, n = "new", newN
			}
			visible(t, reader, "d", want, n)
			visible(t, reader, "other", "stable", 2)

			// A sweep within the grace period leaves the write alone: it
			// could still be running.
			if st, err := reader.Sweep(context.Background()); err != nil || st.Intents != 0 {
				t.Fatalf("early Sweep = %+v, %v; want nothing swept", st, err)
			}
			st := sweepLater(t, b)
			wantIntents := 1
			if tc.step == qdrant.StepDone {
				wantIntents = 0
			}
			if st.Intents != wantIntents {
				t.Errorf("Sweep resolved %d intents, want %d", st.Intents, wantIntents)
			}
			visible(t, reader, "d", want, n)
			if got := b.countPoints(t, "crash", "chunk"); got != n+2 {
				t.Errorf("after the sweep %d chunk points, want %d", got, n+2)
			}
			if got := b.countPoints(t, "crash", "intent"); got != 0 {
				t.Errorf("after the sweep %d intents remain", got)
			}
		})
	}
}

func TestCreateCrash(t *testing.T) {
	for _, step := range []string{qdrant.StepIntent, qdrant.StepPoints} {
		t.Run(step, func(t *testing.T) {
			b := newBackend(t)
			reader := b.open(t, qdrant.Options{})
			mustCreate(t, reader, "crash", 2)
			writer := b.open(t, qdrant.Options{AfterStep: crashAt(step, 1)})
			doc, chunks := versionDoc("d", "new", 3)
			if err := writer.PutDocument(context.Background(), doc, chunks); !errors.Is(err, errCrash) {
				t.Fatalf("PutDocument = %v", err)
			}
			visible(t, reader, "d", "", 0)
			c, err := reader.Collection(context.Background(), "crash")
			if err != nil || c.DocumentCount != 0 || c.ChunkCount != 0 {
				t.Errorf("Collection = %+v, %v; want no documents", c, err)
			}
			sweepLater(t, b)
			if got := b.countPoints(t, "crash", "chunk") + b.countPoints(t, "crash", "intent"); got != 0 {
				t.Errorf("after the sweep %d points remain", got)
			}
		})
	}
}

func TestDeleteCrashAtEveryStep(t *testing.T) {
	for _, tc := range []struct {
		step    string
		deleted bool
	}{
		{qdrant.StepIntent, false},
		{qdrant.StepSwitch, true},
		{qdrant.StepCleanup, true},
		{qdrant.StepDone, true},
	} {
		t.Run(tc.step, func(t *testing.T) {
			b := newBackend(t)
			reader := b.open(t, qdrant.Options{})
			mustCreate(t, reader, "crash", 2)
			doc, chunks := versionDoc("d", "old", 4)
			mustPut(t, reader, doc, chunks)
			writer := b.open(t, qdrant.Options{AfterStep: crashAt(tc.step, 1)})
			if err := writer.DeleteDocument(context.Background(), "crash", "d"); !errors.Is(err, errCrash) {
				t.Fatalf("DeleteDocument = %v", err)
			}
			if tc.deleted {
				visible(t, reader, "d", "", 0)
			} else {
				visible(t, reader, "d", "old", 4)
			}
			sweepLater(t, b)
			wantChunks := 4
			if tc.deleted {
				wantChunks = 0
				visible(t, reader, "d", "", 0)
			}
			if got := b.countPoints(t, "crash", "chunk"); got != wantChunks {
				t.Errorf("after the sweep %d chunk points, want %d", got, wantChunks)
			}
			if got := b.countPoints(t, "crash", "intent"); got != 0 {
				t.Errorf("after the sweep %d intents remain", got)
			}
		})
	}
}

// TestSlowWriteGivesUp: a write that has not switched within half the
// grace period must not switch, since a sweep may already be removing its
// points.
func TestSlowWriteGivesUp(t *testing.T) {
	b := newBackend(t)
	reader := b.open(t, qdrant.Options{})
	mustCreate(t, reader, "crash", 2)
	old, oldChunks := versionDoc("d", "old", 2)
	mustPut(t, reader, old, oldChunks)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	writer := b.open(t, qdrant.Options{
		SweepGrace: time.Minute,
		Now:        func() time.Time { return time.Unix(0, clock.Load()) },
		AfterStep: func(step string) error {
			if step == qdrant.StepPoints {
				clock.Add(int64(31 * time.Second))
			}
			return nil
		},
	})
	doc, chunks := versionDoc("d", "new", 2)
	err := writer.PutDocument(context.Background(), doc, chunks)
	wantCode(t, err, ragd.EUnavailable)
	visible(t, reader, "d", "old", 2)
}

// TestConcurrentReplace races writers replacing one document against
// readers: every read sees exactly one complete version.
func TestConcurrentReplace(t *testing.T) {
	b := newBackend(t)
	s := b.open(t, qdrant.Options{BatchSize: 2})
	mustCreate(t, s, "crash", 2)
	first, firstChunks := versionDoc("d", "v0", 3)
	mustPut(t, s, first, firstChunks)

	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var reads atomic.Int32
	for r := 0; r < 3; r++ {
		wg.Go(func() {
			reader := b.open(t, qdrant.Options{})
			for {
				select {
				case <-stop:
					return
				default:
				}
				hits, err := reader.Search(ctx, ragd.SearchQuery{Collection: "crash", Mode: ragd.ModeHybrid, Text: "marker", Vector: []float32{1, 0}, TopK: 50})
				if err != nil {
					t.Errorf("Search: %v", err)
					return
				}
				versions := map[string]int{}
				for _, h := range hits {
					versions[strings.Fields(h.Text)[1]]++
				}
				if len(versions) != 1 {
					t.Errorf("a search saw versions %v", versions)
					return
				}
				for v, n := range versions {
					var want int
					fmt.Sscanf(v, "v%d", &want)
					if n != 3+want%4 {
						t.Errorf("a search saw %d chunks of %s, want %d", n, v, 3+want%4)
					}
				}
				reads.Add(1)
			}
		})
	}
	var writers sync.WaitGroup
	for w := 1; w <= 4; w++ {
		writers.Go(func() {
			writer := b.open(t, qdrant.Options{BatchSize: 2})
			for i := 0; i < 5; i++ {
				v := w*10 + i
				doc, chunks := versionDoc("d", fmt.Sprintf("v%d", v), 3+v%4)
				if err := writer.PutDocument(ctx, doc, chunks); err != nil {
					t.Errorf("PutDocument: %v", err)
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("no reads completed")
	}
	doc, err := s.Document(ctx, "crash", "d")
	if err != nil {
		t.Fatal(err)
	}
	if got := b.countPoints(t, "crash", "chunk"); got != doc.ChunkCount {
		t.Errorf("%d chunk points remain for a current version of %d chunks", got, doc.ChunkCount)
	}
	if got := b.countPoints(t, "crash", "intent"); got != 0 {
		t.Errorf("%d intents remain after every write completed", got)
	}
}
