// Package api is ragd's HTTP interface: the routes of API.md on echo v4,
// the error envelope, request ids, authentication, body limits, metrics, and
// the Server-Sent Events stream of answers. Handlers decode, validate, call
// one use case and encode; the use cases live in ingest, retrieve and
// generate.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/generate"
	"github.com/ragd/ragd/ingest"
)

// Catalog reads and deletes collections and documents.
type Catalog interface {
	Collection(ctx context.Context, name string) (ragd.Collection, error)
	Collections(ctx context.Context) ([]ragd.Collection, error)
	DeleteCollection(ctx context.Context, name string) error
	Document(ctx context.Context, collection, id string) (ragd.Document, error)
	Documents(ctx context.Context, collection, after string, limit int) ([]ragd.Document, error)
	Chunks(ctx context.Context, collection, documentID string) ([]ragd.Chunk, error)
	DeleteDocument(ctx context.Context, collection, id string) error
}

// Ingester creates collections and ingests documents.
type Ingester interface {
	CreateCollection(ctx context.Context, c ragd.Collection) (ragd.Collection, error)
	IngestFile(ctx context.Context, collection string, f ingest.File, metadata map[string]any) ([]ingest.Result, error)
	IngestText(ctx context.Context, collection string, t ingest.Text) (ingest.Result, error)
}

// Retriever searches a collection.
type Retriever interface {
	Retrieve(ctx context.Context, q ragd.Question) ([]ragd.Hit, ragd.Retrieval, error)
}

// Answerer answers a question as a stream of events.
type Answerer interface {
	Answer(ctx context.Context, q ragd.Question, emit func(generate.Event) error) error
}

// Readiness reports whether ragd can serve, and what it serves with.
type Readiness struct {
	Ready bool `json:"-"`
	// Status is "ready" or "unavailable".
	Status string `json:"status"`
	// Details names the store, embedder, LLM and retrieval mode.
	Details map[string]any `json:"details"`
}

// Limits bound request sizes.
type Limits struct {
	// MaxUploadBytes bounds a document upload body (multipart or JSON).
	MaxUploadBytes int64
	// MaxRequestBytes bounds other request bodies.
	MaxRequestBytes int64
	// MaxParts bounds the parts of a multipart upload.
	MaxParts int
	// BodyGrace and BodyMinRate bound how slowly a request body may arrive:
	// after BodyGrace, at least BodyMinRate bytes a second on average, or
	// the read fails and the request gets 408 request_timeout, so a client
	// sending 1 byte a second cannot hold a connection and a handler for
	// hours. A zero BodyGrace sets no deadline.
	BodyGrace   time.Duration
	BodyMinRate int64
}

// DefaultLimits are the limits of a Server that sets none.
var DefaultLimits = Limits{
	MaxUploadBytes:  100 << 20,
	MaxRequestBytes: 1 << 20,
	MaxParts:        1000,
	BodyGrace:       30 * time.Second,
	BodyMinRate:     16 << 10,
}

// Server serves ragd's HTTP API. Fill in the dependencies, then call
// Handler once.
type Server struct {
	Catalog   Catalog
	Ingester  Ingester
	Retriever Retriever
	Answerer  Answerer
	// Jobs runs batch ingest jobs; nil leaves the /v1/jobs routes out.
	Jobs Jobs
	// OpenAI configures the OpenAI-compatible endpoints; nil leaves them out.
	OpenAI *OpenAI
	// Ready reports readiness for /readyz.
	Ready func(ctx context.Context) Readiness
	// APIKeys, when not empty, are the bearer tokens every /v1 route needs.
	APIKeys []string
	Limits  Limits
	Logger  *slog.Logger
	// Metrics records request and use-case metrics; nil records nothing.
	Metrics *Metrics

	closeOnce sync.Once
	closing   chan struct{}
	echo      *echo.Echo
}

// Handler builds the routes and returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	if s.echo != nil {
		return s.echo
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Limits == (Limits{}) {
		s.Limits = DefaultLimits
	}
	s.closing = make(chan struct{})
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	// ragd reads no client IP headers: X-Forwarded-For is not trusted.
	e.IPExtractor = echo.ExtractIPDirect()
	s.echo = e
	s.routes()
	return e
}

// BeginShutdown tells open answer streams that the server is going away:
// each ends with an error event instead of being cut.
func (s *Server) BeginShutdown() {
	s.closeOnce.Do(func() {
		if s.closing != nil {
			close(s.closing)
		}
	})
}

func (s *Server) routes() {
	e := s.echo
	e.Use(s.requestID, s.recoverPanics, s.observe)
	e.GET("/healthz", s.handleHealth)
	e.GET("/readyz", s.handleReady)
	if s.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(s.Metrics.Handler()))
	}

	v1 := e.Group("/v1", s.authenticate)
	small := s.bodyLimit(s.Limits.MaxRequestBytes)
	upload := s.bodyLimit(s.Limits.MaxUploadBytes)

	v1.POST("/collections", s.handleCreateCollection, small)
	v1.GET("/collections", s.handleListCollections)
	v1.GET("/collections/:name", s.handleGetCollection)
	v1.DELETE("/collections/:name", s.handleDeleteCollection)

	v1.POST("/collections/:name/documents", s.handleCreateDocuments, upload)
	v1.GET("/collections/:name/documents", s.handleListDocuments)
	v1.GET("/collections/:name/documents/:id", s.handleGetDocument)
	v1.PUT("/collections/:name/documents/:id", s.handlePutDocument, upload)
	v1.DELETE("/collections/:name/documents/:id", s.handleDeleteDocument)

	v1.POST("/collections/:name/search", s.handleSearch, small)
	v1.POST("/collections/:name/query", s.handleQuery, small)

	if s.OpenAI != nil {
		v1.GET("/models", s.handleOpenAIModels)
		v1.POST("/embeddings", s.handleOpenAIEmbeddings, upload)
		v1.POST("/chat/completions", s.handleOpenAIChat, small)
	}
	if s.Jobs != nil {
		v1.POST("/jobs", s.handleSubmitJob, small)
		v1.GET("/jobs", s.handleListJobs)
		v1.GET("/jobs/:id", s.handleGetJob)
		v1.GET("/jobs/:id/items", s.handleJobItems)
		v1.POST("/jobs/:id/cancel", s.handleCancelJob)
		v1.GET("/jobs/:id/events", s.handleJobEvents)
	}
}
