package qdrant_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	qc "github.com/qdrant/go-client/qdrant"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/qdrant"
	"github.com/ragd/ragd/store/qdrant/qdranttest"
)

// backend is where a test's store lives: the in-process stand-in, or the
// real Qdrant at RAGD_TEST_QDRANT_ADDR.
type backend struct {
	addr   string
	server *qdranttest.Server // nil for a real Qdrant
	prefix string             // unique per test, so tests never share collections
}

func newBackend(tb testing.TB) *backend {
	tb.Helper()
	b := &backend{prefix: "ragdtest_" + randomHex(4) + "_"}
	if addr := os.Getenv("RAGD_TEST_QDRANT_ADDR"); addr != "" {
		b.addr = addr
		tb.Cleanup(func() { b.dropAll(tb) })
		return b
	}
	b.server = qdranttest.Start(tb, qdranttest.Config{})
	b.addr = b.server.Addr()
	return b
}

// needStandIn skips tests that stop and restart the server.
func (b *backend) needStandIn(tb testing.TB) {
	tb.Helper()
	if b.server == nil {
		tb.Skip("stops and restarts the server: runs against the stand-in only")
	}
}

func (b *backend) options() qdrant.Options {
	return qdrant.Options{Addr: b.addr, Prefix: b.prefix, RequestTimeout: 10 * time.Second}
}

func (b *backend) open(tb testing.TB, opts qdrant.Options) *qdrant.Store {
	tb.Helper()
	if opts.Addr == "" {
		opts.Addr = b.addr
	}
	if opts.Prefix == "" {
		opts.Prefix = b.prefix
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	s, err := qdrant.Open(context.Background(), opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// raw returns a plain Qdrant client, for looking at what the store wrote.
func (b *backend) raw(tb testing.TB) *qc.Client {
	tb.Helper()
	host, port := splitAddr(tb, b.addr)
	c, err := qc.NewClient(&qc.Config{Host: host, Port: port, SkipCompatibilityCheck: true, PoolSize: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func (b *backend) dropAll(tb testing.TB) {
	c := b.raw(tb)
	names, err := c.ListCollections(context.Background())
	if err != nil {
		return
	}
	for _, n := range names {
		if strings.HasPrefix(n, b.prefix) {
			_ = c.DeleteCollection(context.Background(), n)
		}
	}
}

// countPoints counts a collection's points of one kind ("doc", "chunk" or
// "intent").
func (b *backend) countPoints(tb testing.TB, collection, kind string) int {
	tb.Helper()
	n, err := b.raw(tb).Count(context.Background(), &qc.CountPoints{
		CollectionName: b.prefix + collection,
		Filter:         &qc.Filter{Must: []*qc.Condition{qc.NewMatchKeyword("kind", kind)}},
		Exact:          qc.PtrOf(true),
	})
	if err != nil {
		tb.Fatalf("count %s points: %v", kind, err)
	}
	return int(n)
}

func splitAddr(tb testing.TB, addr string) (string, int) {
	tb.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatalf("address %q has no port: %v", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		tb.Fatalf("address %q: bad port: %v", addr, err)
	}
	return host, n
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func mustCreate(tb testing.TB, s *qdrant.Store, name string, dim int) ragd.Collection {
	tb.Helper()
	c, err := s.CreateCollection(context.Background(), ragd.Collection{
		Name: name, Embedder: "test", Dimension: dim,
		Chunking: ragd.Chunking{MaxTokens: ragd.DefaultMaxTokens, OverlapTokens: ragd.DefaultOverlapTokens},
	})
	if err != nil {
		tb.Fatalf("CreateCollection(%s): %v", name, err)
	}
	return c
}

func mustPut(tb testing.TB, s *qdrant.Store, doc ragd.Document, chunks []ragd.Chunk) {
	tb.Helper()
	if err := s.PutDocument(context.Background(), doc, chunks); err != nil {
		tb.Fatalf("PutDocument(%s): %v", doc.ID, err)
	}
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := ragd.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// unit returns the dim-dimensional unit vector along axis i.
func unit(dim, i int) []float32 {
	v := make([]float32, dim)
	v[i%dim] = 1
	return v
}
