package qdrant

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/ragd/ragd"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultPort is Qdrant's gRPC port.
const DefaultPort = 6334

// Defaults for the zero values of Options.
const (
	DefaultPrefix         = "ragd_"
	DefaultRequestTimeout = 30 * time.Second
	DefaultSweepInterval  = 5 * time.Minute
	DefaultSweepGrace     = 10 * time.Minute
	DefaultBatchSize      = 256

	DefaultMaxMetadataIndexes = 64
)

// Steps of a document write, in order, as passed to Options.AfterStep.
// PutDocument passes StepIntent, StepPoints (after every batch of points),
// StepSwitch, StepCleanup and StepDone; DeleteDocument passes StepIntent,
// StepSwitch, StepCleanup and StepDone.
const (
	// StepIntent: the intent record naming the versions involved is written.
	StepIntent = "intent"
	// StepPoints: a batch of the new version's points is written.
	StepPoints = "points"
	// StepSwitch: the document record now names the new version (or, for a
	// delete, is gone).
	StepSwitch = "switch"
	// StepCleanup: the old version's points are deleted.
	StepCleanup = "cleanup"
	// StepDone: the intent record is deleted; the write is complete.
	StepDone = "done"
)

// Options configure a Store.
type Options struct {
	// Addr is Qdrant's gRPC address: "host:port" (port 6334 when left
	// out), or a URL "http://host:port" or "https://host:port" (https turns
	// TLS on). Required.
	Addr string
	// APIKey is sent as Qdrant's api-key header when set.
	APIKey string
	// TLS connects with TLS, verified against the system roots unless
	// TLSConfig says otherwise.
	TLS       bool
	TLSConfig *tls.Config

	// Prefix starts the name of every Qdrant collection this store owns: a
	// ragd collection "docs" lives in the Qdrant collection Prefix+"docs".
	// Deployments sharing one Qdrant use different prefixes. Default "ragd_".
	Prefix string
	// RequestTimeout bounds each call to Qdrant whose context has no earlier
	// deadline. Default 30 s.
	RequestTimeout time.Duration
	// BatchSize is the number of points per upsert. Default 256.
	BatchSize int
	// BM25AvgLen is the average chunk length, in lexical terms, that BM25
	// length normalization divides by, for collections created from now on
	// (each collection keeps the value it was created with). Default: an
	// estimate from the collection's chunking (see the package comment).
	BM25AvgLen float64

	// MaxMetadataIndexes caps the payload indexes created, per collection,
	// for metadata keys that filters use (see the package comment); -1
	// creates none. Default 64.
	MaxMetadataIndexes int

	// SweepInterval is how often Run sweeps. Default 5 min.
	SweepInterval time.Duration
	// SweepGrace is how old an unfinished document write must be before a
	// sweep removes what it left. A write that has not switched versions
	// within half of it gives up. Default 10 min.
	SweepGrace time.Duration

	// Logger receives the sweep's reports. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// AfterStep, when set, is called after each step of a document write
	// (the Step constants); a non-nil error stops the write there and is
	// returned, as if the process had crashed at that point. Tests use it to
	// inject crashes.
	AfterStep func(step string) error
}

// Store is ragd's index in Qdrant. It is safe for concurrent use, and any
// number of Stores (in any number of processes) may share one Qdrant.
type Store struct {
	opts   Options
	client *qdrant.Client
	colls  qdrant.CollectionsClient
	points qdrant.PointsClient
	log    *slog.Logger

	mu    sync.Mutex
	cache map[string]*collectionInfo // by ragd collection name

	closeOnce sync.Once
	closed    chan struct{}
}

// Open connects to Qdrant and checks that it answers. It returns an
// EUnavailable error when Qdrant cannot be reached and EInvalid for bad
// options. It does not start the sweep: call Run for that.
func Open(ctx context.Context, opts Options) (*Store, error) {
	cfg, err := clientConfig(opts)
	if err != nil {
		return nil, err
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if err := CheckPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.MaxMetadataIndexes == 0 {
		opts.MaxMetadataIndexes = DefaultMaxMetadataIndexes
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.SweepGrace <= 0 {
		opts.SweepGrace = DefaultSweepGrace
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := qdrant.NewClient(cfg)
	if err != nil {
		return nil, ragd.WrapError(ragd.EInvalid, err, "qdrant: cannot set up a client for %q", opts.Addr)
	}
	s := &Store{
		opts:   opts,
		client: client,
		colls:  client.GetCollectionsClient(),
		points: client.GetPointsClient(),
		log:    log.With("component", "qdrant"),
		cache:  map[string]*collectionInfo{},
		closed: make(chan struct{}),
	}
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	if _, err := client.GetQdrantClient().HealthCheck(cctx, &qdrant.HealthCheckRequest{}); err != nil {
		client.Close()
		return nil, s.wrap(ctx, err, "connect")
	}
	return s, nil
}

// clientConfig turns Options into the go-client's configuration.
// CheckPrefix reports whether p can start the names of ragd's Qdrant
// collections: 1 to 64 ASCII letters, digits, '_' or '-'.
func CheckPrefix(p string) error {
	ok := p != "" && len(p) <= 64
	for _, r := range p {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}
	if !ok {
		return ragd.Errorf(ragd.EInvalid, "qdrant prefix %q must be 1 to 64 letters, digits, '_' or '-'", p)
	}
	return nil
}

func clientConfig(opts Options) (*qdrant.Config, error) {
	addr := strings.TrimSpace(opts.Addr)
	if addr == "" {
		return nil, ragd.Errorf(ragd.EInvalid, "qdrant address is not set")
	}
	useTLS := opts.TLS || opts.TLSConfig != nil
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil || u.Host == "" {
			return nil, ragd.Errorf(ragd.EInvalid, "qdrant address %q is not a URL or host:port", opts.Addr)
		}
		switch u.Scheme {
		case "http", "grpc":
		case "https", "grpcs":
			useTLS = true
		default:
			return nil, ragd.Errorf(ragd.EInvalid, "qdrant address %q: scheme must be http or https", opts.Addr)
		}
		addr = u.Host
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		host, portStr = addr, strconv.Itoa(DefaultPort)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 || host == "" {
		return nil, ragd.Errorf(ragd.EInvalid, "qdrant address %q has no usable host and port", opts.Addr)
	}
	return &qdrant.Config{
		Host:                   host,
		Port:                   port,
		APIKey:                 opts.APIKey,
		UseTLS:                 useTLS,
		TLSConfig:              opts.TLSConfig,
		SkipCompatibilityCheck: true,
		PoolSize:               1,
		GrpcOptions: []grpc.DialOption{
			// Reconnect quickly once Qdrant is back (grpc-go's default
			// backoff grows to two minutes).
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
				MinConnectTimeout: 5 * time.Second,
			}),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20)),
		},
	}, nil
}

// Close stops Run and closes the connection. It is idempotent.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		err = s.client.Close()
	})
	return err
}

// callContext bounds a call to Qdrant by RequestTimeout unless ctx has an
// earlier deadline.
func (s *Store) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= s.opts.RequestTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.opts.RequestTimeout)
}

// retryAfter is the Retry-After ragd suggests when Qdrant is unavailable.
const retryAfter = time.Second

// wrap turns an error from the Qdrant client into a *ragd.Error. ctx is the
// caller's context: its cancellation is reported as such.
func (s *Store) wrap(ctx context.Context, err error, op string) error {
	if err == nil {
		return nil
	}
	var re *ragd.Error
	if errors.As(err, &re) {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &ragd.Error{Code: ragd.EUnavailable, Message: "The request was cancelled before the vector store answered.", Err: fmt.Errorf("qdrant %s: %w", op, errors.Join(ctxErr, err))}
	}
	st, ok := status.FromError(err)
	if !ok {
		return ragd.WrapError(ragd.EInternal, fmt.Errorf("qdrant %s: %w", op, err), "")
	}
	cause := fmt.Errorf("qdrant %s: %w", op, err)
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.Canceled:
		return &ragd.Error{Code: ragd.EUnavailable, Message: "The vector store (Qdrant) is unavailable.", RetryAfter: retryAfter, Err: cause}
	case codes.ResourceExhausted:
		return &ragd.Error{Code: ragd.EUnavailable, Message: "The vector store (Qdrant) is overloaded.", RetryAfter: retryAfter, Err: cause}
	case codes.Unauthenticated, codes.PermissionDenied:
		return &ragd.Error{Code: ragd.EUnavailable, Message: "The vector store (Qdrant) refused ragd's credentials.", Err: cause}
	case codes.InvalidArgument:
		if strings.Contains(st.Message(), "Vector dimension error") {
			return &ragd.Error{Code: ragd.EInvalid, Message: "The vector does not have the collection's dimension.", Err: cause}
		}
	}
	return ragd.WrapError(ragd.EInternal, cause, "")
}

func isAlreadyExists(err error) bool {
	st, ok := status.FromError(err)
	return ok && (st.Code() == codes.AlreadyExists || strings.Contains(st.Message(), "already exists"))
}

// fail turns an error from a call on a collection into a *ragd.Error, and
// forgets what the store knew about the collection when Qdrant's answer
// shows it changed: gone (ENotFound), or re-created with another dimension
// by another process (EInvalid).
func (s *Store) fail(ctx context.Context, info *collectionInfo, err error, op string) error {
	if isNotFound(err) {
		return s.notFound(info.c.Name)
	}
	werr := s.wrap(ctx, err, op)
	if ragd.ErrorCode(werr) == ragd.EInvalid {
		s.forget(info.c.Name)
	}
	return werr
}

// isNotFound reports whether err is Qdrant's answer for a missing collection.
func isNotFound(err error) bool {
	return status.Code(err) == codes.NotFound
}

func notFoundCollection(name string) error {
	return ragd.Errorf(ragd.ENotFound, "collection %q does not exist", name)
}

func notFoundDocument(collection, id string) error {
	return ragd.Errorf(ragd.ENotFound, "document %q does not exist in collection %q", id, collection)
}

// step runs the AfterStep seam.
func (s *Store) step(name string) error {
	if s.opts.AfterStep == nil {
		return nil
	}
	if err := s.opts.AfterStep(name); err != nil {
		return fmt.Errorf("qdrant: stopped after step %q: %w", name, err)
	}
	return nil
}
