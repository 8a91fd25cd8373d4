package local_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/local"
	"github.com/ragd/ragd/store/storetest"
)

// The crash test runs a writer in a child process (this test binary, run
// again with crashEnvDir set), kills it with SIGKILL at a random moment,
// reopens the store and checks it against a model of the acknowledged
// operations (RELIABILITY.md D-1, D-2, D-4).
const (
	crashEnvDir   = "RAGD_LOCAL_CRASH_DIR"
	crashEnvSeed  = "RAGD_LOCAL_CRASH_SEED"
	crashEnvStart = "RAGD_LOCAL_CRASH_START"
	crashColl     = "crash"
	crashDim      = 8
	crashDocs     = 12
)

// crashOp is the n-th operation of a seed's stream: every put and delete
// follows from (seed, n), so the parent can replay what was acknowledged.
type crashOp struct {
	del    bool
	doc    ragd.Document
	chunks []ragd.Chunk
}

func makeCrashOp(seed uint64, n int) crashOp {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	id := fmt.Sprintf("doc-%02d", rng.IntN(crashDocs))
	if rng.IntN(6) == 0 {
		return crashOp{del: true, doc: ragd.Document{ID: id, Collection: crashColl}}
	}
	doc := ragd.Document{ID: id, Collection: crashColl, Title: fmt.Sprintf("%s op %d", id, n),
		ContentHash: fmt.Sprintf("op-%d", n), Metadata: map[string]any{"op": n},
		CreatedAt: storetest.FixtureTime(), UpdatedAt: storetest.FixtureTime()}
	var chunks []ragd.Chunk
	for i := 0; i < 1+rng.IntN(8); i++ {
		// Chunk IDs are stable by position, as ingest makes them.
		text := fmt.Sprintf("op%d ", n) + storetest.RandomText(rng, 20+rng.IntN(200), 0)
		c := ragd.Chunk{ID: fmt.Sprintf("%s-%d", id, i), DocumentID: id, Index: i, Text: text, End: len(text),
			Metadata: map[string]any{"op": n, "kind": []string{"a", "b", "c"}[rng.IntN(3)]}}
		if rng.IntN(5) != 0 {
			c.Vector = storetest.RandomUnitVector(rng, crashDim, false)
		}
		chunks = append(chunks, c)
	}
	return crashOp{doc: doc, chunks: chunks}
}

// apply replays an operation on the model.
func (op crashOp) apply(ref *storetest.Reference) {
	if op.del {
		ref.Delete(op.doc.ID)
		return
	}
	ref.Put(op.doc, op.chunks)
}

// TestCrashChild is the writer. It runs only as the crash test's child.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("the crash test's writer process")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashEnvSeed), 10, 64)
	start, _ := strconv.Atoi(os.Getenv(crashEnvStart))
	db, err := local.Open(dir, local.Options{})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	ctx := context.Background()
	if start == 0 {
		if _, err := db.CreateCollection(ctx, ragd.Collection{Name: crashColl, Embedder: "e", Dimension: crashDim}); err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
	}
	fmt.Println("ready")
	for n := start; ; n++ {
		op := makeCrashOp(seed, n)
		if op.del {
			err = db.DeleteDocument(ctx, crashColl, op.doc.ID)
			if ragd.ErrorCode(err) == ragd.ENotFound {
				err = nil
			}
		} else {
			err = db.PutDocument(ctx, op.doc, op.chunks)
		}
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("ack %d\n", n)
	}
}

// TestCrash kills the writer at random points, several times per seed on
// the same store, and checks after each kill that every acknowledged
// operation is there whole, nothing is half there, and searches give what
// the acknowledged documents give.
func TestCrash(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(seed, 77))
			ref := storetest.NewReference(ragd.Collection{Name: crashColl, Dimension: crashDim})
			next := 0 // the first operation not acknowledged
			for cycle := 0; cycle < 3; cycle++ {
				acked := runCrashChild(t, dir, seed, next, 3+rng.IntN(40), time.Duration(rng.IntN(3000))*time.Microsecond)
				for n := next; n < acked; n++ {
					makeCrashOp(seed, n).apply(ref)
				}
				next = acked
				checkAfterCrash(t, dir, seed, next, ref)
			}
		})
	}
}

// runCrashChild runs the writer from operation start, kills it a random
// moment after it acknowledged kill operations, and returns the number of
// the first operation it did not acknowledge.
func runCrashChild(t *testing.T, dir string, seed uint64, start, kill int, delay time.Duration) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvSeed+"="+fmt.Sprint(seed), crashEnvStart+"="+fmt.Sprint(start))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	next := start
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "ack "):
			n, err := strconv.Atoi(strings.TrimPrefix(line, "ack "))
			if err != nil || n != next {
				t.Fatalf("child acknowledged %q, want ack %d", line, next)
			}
			next++
			if !killed && next-start >= kill {
				time.Sleep(delay)
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		case strings.HasPrefix(line, "error "):
			t.Fatalf("child failed: %s", line)
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before it was killed: %v", err)
	}
	// Acknowledgements read after the kill count too: they were printed
	// after their operation returned.
	return next
}

// checkAfterCrash reopens the store and compares it with the model of the
// acknowledged operations. The operation in flight when the child died
// (number next) may or may not have landed: the store must match the model
// without it or the model with it, whole.
func checkAfterCrash(t *testing.T, dir string, seed uint64, next int, ref *storetest.Reference) {
	t.Helper()
	db, err := local.Open(dir, local.Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer db.Close()
	ctx := context.Background()
	inflight := makeCrashOp(seed, next)
	with := storetest.NewReference(ragd.Collection{Name: crashColl, Dimension: crashDim})
	for _, id := range ref.DocumentIDs() {
		d, cs, _ := ref.Document(id)
		with.Put(d, cs)
	}
	inflight.apply(with)

	// Which state did the in-flight document end up in?
	model := ref
	stored, err := db.Document(ctx, crashColl, inflight.doc.ID)
	_, _, inRef := ref.Document(inflight.doc.ID)
	_, _, inWith := with.Document(inflight.doc.ID)
	switch {
	case err != nil && ragd.ErrorCode(err) != ragd.ENotFound:
		t.Fatalf("Document: %v", err)
	case err != nil && !inRef:
		model = ref
	case err != nil && !inWith:
		model = with
	case err == nil && inWith && stored.ContentHash == fmt.Sprintf("op-%d", next):
		model = with
	}
	landed := model == with
	t.Logf("killed after %d acknowledged operations; the one in flight (delete: %v) landed: %v", next, inflight.del, landed)

	// Every document is exactly as the model has it.
	docs, err := db.Documents(ctx, crashColl, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range docs {
		ids = append(ids, d.ID)
		wantDoc, wantChunks, _ := model.Document(d.ID)
		if diff := cmp.Diff(wantDoc, d, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("after kill at op %d: document %s (-want +got):\n%s", next, d.ID, diff)
		}
		chunks, err := db.Chunks(ctx, crashColl, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) != d.ChunkCount {
			t.Errorf("after kill at op %d: document %s says %d chunks, has %d", next, d.ID, d.ChunkCount, len(chunks))
		}
		if diff := cmp.Diff(wantChunks, chunks, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("after kill at op %d: chunks of %s (-want +got):\n%s", next, d.ID, diff)
		}
	}
	if diff := cmp.Diff(model.DocumentIDs(), ids, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("after kill at op %d: documents (-want +got):\n%s", next, diff)
	}
	nd, nc := model.Counts()
	c, err := db.Collection(ctx, crashColl)
	if err != nil || c.DocumentCount != nd || c.ChunkCount != nc {
		t.Errorf("after kill at op %d: counts %d/%d (%v), want %d/%d", next, c.DocumentCount, c.ChunkCount, err, nd, nc)
	}

	// Searches give what the acknowledged documents give.
	rng := rand.New(rand.NewPCG(seed, uint64(next)))
	for i := 0; i < 12; i++ {
		q := ragd.SearchQuery{Collection: crashColl, Mode: []string{ragd.ModeVector, ragd.ModeLexical, ragd.ModeHybrid}[i%3],
			Text: storetest.RandomText(rng, 2, 0), Vector: storetest.RandomUnitVector(rng, crashDim, false), TopK: 10, MinScore: -2}
		if i%2 == 1 {
			q.Filter = &ragd.Filter{Op: ragd.OpEq, Key: "kind", Values: []any{"b"}}
		}
		got, err := db.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if q.Mode == ragd.ModeHybrid {
			// The conformance suite checks fusion; here only the set of
			// documents matters.
			for _, h := range got {
				if _, _, ok := model.Document(h.DocumentID); !ok {
					t.Errorf("after kill at op %d: hybrid search returned %s of a document that is not there", next, h.ChunkID)
				}
			}
			continue
		}
		ranked, _ := model.Rank(q)
		if err := storetest.CompareHits(got, ranked, q.TopK); err != nil {
			t.Errorf("after kill at op %d: %s search: %v", next, q.Mode, err)
		}
	}
}
