package postgres_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/postgres"
	"github.com/ragd/ragd/store/postgres/pgtest"
)

// privatePGlite is a PGlite server of the test's own, which it may stop and
// start without disturbing other tests.
type privatePGlite struct {
	dir  string
	port int
}

func newPrivatePGlite(t testing.TB) *privatePGlite {
	t.Helper()
	pgtest.DSN(t) // skipped (or failed in CI) like every database test
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is needed to run a private PGlite server: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := &privatePGlite{dir: t.TempDir(), port: port}
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *privatePGlite) script(name string) string {
	return filepath.Join("..", "..", ".ci", "pglite", name)
}

// start starts the server and returns its DSN in the protocol mode pgx
// uses by default (cached prepared statements), as a production
// deployment does; only one connection may use it at a time.
func (p *privatePGlite) start(t testing.TB) string {
	t.Helper()
	cmd := exec.Command(p.script("start.sh"), strconv.Itoa(p.port), p.dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("start.sh: %v", err)
	}
	dsn := strings.TrimSpace(string(out))
	return strings.Replace(dsn, "default_query_exec_mode=simple_protocol", "default_query_exec_mode=cache_statement", 1)
}

func (p *privatePGlite) stop(t testing.TB) {
	t.Helper()
	cmd := exec.Command(p.script("stop.sh"), p.dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("stop.sh: %v\n%s", err, out)
	}
}

// TestRestartRecovery stops the database under an open store: every call
// fails fast with EUnavailable and a RetryAfter, and once the database is
// back the same store serves again by itself, with nothing lost
// (RELIABILITY.md D-7). It also runs the write and search paths over the
// extended protocol with prepared statements, which the shared test
// database (simple protocol) does not.
func TestRestartRecovery(t *testing.T) {
	t.Parallel() // its server is its own: it overlaps the tests on the shared one
	p := newPrivatePGlite(t)
	dsn := p.start(t)
	ctx := testContext(t)
	db, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 1, RetryAfter: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: "c", Dimension: 3, Chunking: ragd.Chunking{MaxTokens: 300}}); err != nil {
		t.Fatal(err)
	}
	chunks := []ragd.Chunk{
		{ID: "a", Text: "postgres restarts cleanly", Vector: []float32{1, 0, 0}, Metadata: map[string]any{"k": "x"}},
		{ID: "b", Index: 1, Text: "the pool reconnects by itself", Vector: []float32{0, 1, 0}, Metadata: map[string]any{"k": "y"}},
	}
	if err := db.PutDocument(ctx, ragd.Document{ID: "d", Collection: "c"}, chunks); err != nil {
		t.Fatal(err)
	}
	queries := []ragd.SearchQuery{
		{Collection: "c", Mode: ragd.ModeVector, Vector: []float32{0.9, 0.1, 0}, TopK: 2},
		{Collection: "c", Mode: ragd.ModeLexical, Text: "pool reconnects", TopK: 2},
		{Collection: "c", Mode: ragd.ModeHybrid, Text: "restarts", Vector: []float32{0, 1, 0}, TopK: 2, Filter: &ragd.Filter{Op: ragd.OpEq, Key: "k", Values: []any{"y"}}},
	}
	wantFirst := []string{"a", "b", "b"}
	search := func() error {
		for i, q := range queries {
			// Twice: the second run uses the prepared statement.
			for range 2 {
				hits, err := db.Search(ctx, q)
				if err != nil {
					return err
				}
				if len(hits) == 0 || hits[0].ChunkID != wantFirst[i] {
					t.Fatalf("%s search: hits %+v, want %s first", q.Mode, hits, wantFirst[i])
				}
			}
		}
		return nil
	}
	if err := search(); err != nil {
		t.Fatal(err)
	}
	goroutines := runtime.NumGoroutine()

	p.stop(t)
	for _, call := range []struct {
		name string
		fn   func() error
	}{
		{"Search", func() error { _, err := db.Search(ctx, queries[0]); return err }},
		{"PutDocument", func() error { return db.PutDocument(ctx, ragd.Document{ID: "e", Collection: "c"}, nil) }},
		{"Collection", func() error { _, err := db.Collection(ctx, "c"); return err }},
		{"Ping", func() error { return db.Ping(ctx) }},
	} {
		start := time.Now()
		err := call.fn()
		if code := ragd.ErrorCode(err); code != ragd.EUnavailable {
			t.Errorf("%s with the database down: %v (code %q), want %s", call.name, err, code, ragd.EUnavailable)
		}
		if ra := ragd.ErrorRetryAfter(err); ra != 3*time.Second {
			t.Errorf("%s with the database down: RetryAfter %v, want 3s", call.name, ra)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s with the database down took %v, want a fast failure", call.name, d)
		}
	}

	p.start(t)
	back := time.Now()
	deadline := back.Add(30 * time.Second)
	failures := 0
	for {
		err := search()
		if err == nil {
			break
		}
		if code := ragd.ErrorCode(err); code != ragd.EUnavailable {
			t.Fatalf("search while the database comes back: %v (code %q), want %s or success", err, code, ragd.EUnavailable)
		}
		failures++
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover within 30 s of the database's return: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("served again %v after the database came back, after %d failed searches", time.Since(back).Round(time.Millisecond), failures)
	got, err := db.Chunks(ctx, "c", "d")
	if err != nil || len(got) != 2 {
		t.Fatalf("after recovery Chunks = %d chunks, %v; want the 2 stored before the restart", len(got), err)
	}
	// No goroutines left behind by the failed calls (allow the pool's own
	// health checker and connection a little slack).
	time.Sleep(100 * time.Millisecond)
	if n := runtime.NumGoroutine(); n > goroutines+3 {
		t.Errorf("goroutines grew from %d to %d across the outage", goroutines, n)
	}
}
