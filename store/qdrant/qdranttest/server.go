// Package qdranttest runs an in-process stand-in for a Qdrant server, for
// tests on machines where no Qdrant can run. It serves Qdrant's real gRPC API
// (the services generated in github.com/qdrant/go-client) on a real TCP port,
// so the official client talks to it exactly as it talks to Qdrant.
//
// It implements the subset of Qdrant that ragd uses, with Qdrant's documented
// semantics:
//
//   - collections: create (named dense vectors with cosine or dot distance,
//     named sparse vectors with or without the IDF modifier, collection
//     metadata), get, list, exists, delete;
//   - points: upsert (with update_filter and update_mode), get, delete by ids
//     or filter, scroll (id-ordered pages with offsets, or order_by a payload
//     key with a range index), count;
//   - payload indexes (create, delete, reported in the collection's schema;
//     order_by refuses keys without a range index as Qdrant does);
//   - filters: must, should, must_not, min_should, nested filters, match
//     keyword/integer/bool/any, range, is_empty, is_null, has_id, has_vector,
//     dotted key paths and "[]" array paths, arrays matching when any element
//     matches;
//   - the query API: nearest dense (cosine vectors are normalized at insert
//     and query time, as Qdrant does) and sparse queries (dot product over
//     shared indices, query weights multiplied by
//     idf = ln((N - df + 0.5) / (df + 0.5) + 1) for the IDF modifier, over the
//     whole collection or the IDF corpus filter), prefetch with the parent's
//     filter propagated to every prefetch, reciprocal rank fusion where a
//     point at position p (from 0) of a list adds 1 / (p + k) to its score
//     (k is 2 unless given), and batch queries;
//   - errors with Qdrant's gRPC status codes and messages: a missing
//     collection is NotFound "Not found: Collection `x` doesn't exist!", a
//     wrong vector dimension InvalidArgument "Wrong input: Vector dimension
//     error: expected dim: 384, got 3", an existing collection AlreadyExists.
//
// Anything outside that subset answers codes.Unimplemented with a message
// naming it, never a made-up result. Results are deterministic: ties in score
// are broken by ascending point ID.
package qdranttest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Version is the Qdrant version the stand-in reports in its health check.
const Version = "1.19.0"

// Config configures a stand-in server.
type Config struct {
	// Addr is the address to listen on; "" means "127.0.0.1:0" (a free port).
	Addr string
	// APIKey, when set, is required in every request's "api-key" metadata,
	// as Qdrant requires when its service.api_key is set.
	APIKey string
}

// Server is a running stand-in. Its data lives in memory and survives Stop
// and Restart, like a Qdrant server's storage survives a restart of the
// process.
type Server struct {
	cfg   Config
	state *state
	delay atomic.Int64 // nanoseconds every call waits before it is served

	callsMu sync.Mutex
	calls   map[string]int // by full gRPC method name

	mu   sync.Mutex
	addr string
	gs   *grpc.Server
	done chan struct{}
}

// NewServer starts a stand-in on a free local port, stops it when the test
// ends, and returns its gRPC address ("127.0.0.1:PORT").
func NewServer(tb testing.TB) string {
	tb.Helper()
	return Start(tb, Config{}).Addr()
}

// Start starts a stand-in with cfg and stops it when the test ends.
func Start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := Listen(cfg)
	if err != nil {
		tb.Fatalf("qdranttest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Listen starts a stand-in with cfg. The caller stops it with Stop.
func Listen(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s := &Server{cfg: cfg, state: newState()}
	if err := s.listen(cfg.Addr); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

func (s *Server) listen(addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	gs := grpc.NewServer(
		grpc.MaxRecvMsgSize(64<<20),
		grpc.MaxSendMsgSize(64<<20),
		grpc.ChainUnaryInterceptor(s.intercept),
		// Qdrant accepts the client's keepalive pings (every 10 s by
		// default); grpc-go's default policy would answer them with
		// GOAWAY too_many_pings.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
	)
	qdrant.RegisterQdrantServer(gs, &qdrantService{})
	qdrant.RegisterCollectionsServer(gs, &collectionsService{st: s.state})
	qdrant.RegisterPointsServer(gs, &pointsService{st: s.state})
	done := make(chan struct{})
	s.mu.Lock()
	s.addr = lis.Addr().String()
	s.gs = gs
	s.done = done
	s.mu.Unlock()
	go func() {
		defer close(done)
		_ = gs.Serve(lis)
	}()
	return nil
}

// Stop stops serving: open connections are closed and new ones refused,
// as when a Qdrant server goes down. The data is kept. Stop is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	gs, done := s.gs, s.done
	s.gs, s.done = nil, nil
	s.mu.Unlock()
	if gs == nil {
		return
	}
	gs.Stop()
	<-done
}

// Restart serves again on the same address with the same data, as when a
// Qdrant server comes back. It returns an error if the port was taken in
// the meantime.
func (s *Server) Restart() error {
	s.Stop()
	return s.listen(s.Addr())
}

// Collections returns the names of the collections the server holds, for
// tests that check what a client left behind.
func (s *Server) Collections() []string {
	return s.state.collectionNames()
}

// Calls returns how many calls the server has received, by full gRPC
// method name ("/qdrant.Points/QueryBatch"), since it started.
func (s *Server) Calls() map[string]int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	out := make(map[string]int, len(s.calls))
	for m, n := range s.calls {
		out[m] = n
	}
	return out
}

// SetDelay makes every call wait d before it is served (or until its
// deadline), as a Qdrant that accepts connections but stalls does. Zero
// restores normal service.
func (s *Server) SetDelay(d time.Duration) {
	s.delay.Store(int64(d))
}

func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	s.callsMu.Lock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[info.FullMethod]++
	s.callsMu.Unlock()
	if d := time.Duration(s.delay.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if s.cfg.APIKey != "" {
		md, _ := metadata.FromIncomingContext(ctx)
		keys := md.Get("api-key")
		if len(keys) == 0 {
			return nil, status.Error(codes.Unauthenticated, "Must provide an API key or an Authorization bearer token")
		}
		if keys[0] != s.cfg.APIKey {
			return nil, status.Error(codes.Unauthenticated, "Invalid API key or JWT")
		}
	}
	return handler(ctx, req)
}

type qdrantService struct {
	qdrant.UnimplementedQdrantServer
}

func (qdrantService) HealthCheck(context.Context, *qdrant.HealthCheckRequest) (*qdrant.HealthCheckReply, error) {
	return &qdrant.HealthCheckReply{Title: "qdrant - vector search engine", Version: Version}, nil
}
