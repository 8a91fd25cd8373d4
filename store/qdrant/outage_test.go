package qdrant_test

import (
	"context"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/qdrant"
)

// TestOutage (RELIABILITY D-7): with Qdrant down every call fails fast with
// EUnavailable and a Retry-After, and the same Store works again once
// Qdrant is back on the same address.
func TestOutage(t *testing.T) {
	b := newBackend(t)
	b.needStandIn(t)
	s := b.open(t, qdrant.Options{})
	ctx := context.Background()
	mustCreate(t, s, "up", 2)
	doc, chunks := versionDoc("d", "v1", 2)
	doc.Collection = "up"
	mustPut(t, s, doc, chunks)

	b.server.Stop()
	calls := map[string]func() error{
		"Search": func() error {
			_, err := s.Search(ctx, ragd.SearchQuery{Collection: "up", Mode: ragd.ModeHybrid, Text: "marker", Vector: []float32{1, 0}, TopK: 3})
			return err
		},
		"PutDocument": func() error { return s.PutDocument(ctx, doc, chunks) },
		"Collection":  func() error { _, err := s.Collection(ctx, "up"); return err },
		"Collections": func() error { _, err := s.Collections(ctx); return err },
		"Documents":   func() error { _, err := s.Documents(ctx, "up", "", 10); return err },
		"Delete":      func() error { return s.DeleteDocument(ctx, "up", "d") },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		wantCode(t, err, ragd.EUnavailable)
		if ragd.ErrorRetryAfter(err) <= 0 {
			t.Errorf("%s: no Retry-After on %v", name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v to fail", name, d)
		}
		if msg := ragd.ErrorMessage(err); msg == "" || msg == "Internal error." {
			t.Errorf("%s: message %q", name, msg)
		}
	}
	_, err := qdrant.Open(ctx, qdrant.Options{Addr: b.addr, Prefix: b.prefix, RequestTimeout: 2 * time.Second})
	wantCode(t, err, ragd.EUnavailable)

	if err := b.server.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		hits, err := s.Search(ctx, ragd.SearchQuery{Collection: "up", Mode: ragd.ModeHybrid, Text: "marker", Vector: []float32{1, 0}, TopK: 3})
		if err == nil {
			if len(hits) != 2 {
				t.Errorf("after recovery %d hits, want 2", len(hits))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered 5 s after Qdrant came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRequestTimeout: a Qdrant that accepts connections but never answers
// makes calls fail with EUnavailable after RequestTimeout.
func TestRequestTimeout(t *testing.T) {
	b := newBackend(t)
	b.needStandIn(t)
	s := b.open(t, qdrant.Options{RequestTimeout: 200 * time.Millisecond})
	mustCreate(t, s, "slow", 2)
	b.server.SetDelay(2 * time.Second)
	start := time.Now()
	_, err := s.Collection(context.Background(), "slow")
	wantCode(t, err, ragd.EUnavailable)
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v with a 200ms timeout", d)
	}
	b.server.SetDelay(0)
	if _, err := s.Collection(context.Background(), "slow"); err != nil {
		t.Errorf("after the delay: %v", err)
	}
}

func TestOpenOptions(t *testing.T) {
	ctx := context.Background()
	for _, addr := range []string{"", "http://", "ftp://x:1", "host:notaport", "host:70000"} {
		_, err := qdrant.Open(ctx, qdrant.Options{Addr: addr})
		wantCode(t, err, ragd.EInvalid)
	}
	b := newBackend(t)
	b.needStandIn(t)
	s, err := qdrant.Open(ctx, qdrant.Options{Addr: "http://" + b.addr, Prefix: b.prefix})
	if err != nil {
		t.Fatalf("Open with an http URL: %v", err)
	}
	s.Close()
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRunSweepsAndStops(t *testing.T) {
	b := newBackend(t)
	reader := b.open(t, qdrant.Options{})
	mustCreate(t, reader, "crash", 2)
	writer := b.open(t, qdrant.Options{AfterStep: crashAt(qdrant.StepPoints, 1)})
	doc, chunks := versionDoc("d", "new", 2)
	if err := writer.PutDocument(context.Background(), doc, chunks); err == nil {
		t.Fatal("the injected crash did not stop the write")
	}
	sweeper := b.open(t, qdrant.Options{
		SweepInterval: 10 * time.Millisecond,
		Now:           func() time.Time { return time.Now().Add(qdrant.DefaultSweepGrace + time.Minute) },
	})
	done := make(chan error, 1)
	go func() { done <- sweeper.Run(context.Background()) }()
	deadline := time.Now().Add(5 * time.Second)
	for b.countPoints(t, "crash", "intent") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not sweep the interrupted write")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := b.countPoints(t, "crash", "chunk"); n != 0 {
		t.Errorf("%d chunk points of the interrupted write remain", n)
	}
	sweeper.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}
