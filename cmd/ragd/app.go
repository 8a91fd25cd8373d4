package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/api"
	"github.com/ragd/ragd/generate"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
	"github.com/ragd/ragd/ingest/fetch"
	"github.com/ragd/ragd/ingest/jobs"
	"github.com/ragd/ragd/ingest/jobs/boltstore"
	"github.com/ragd/ragd/ingest/jobs/pgstore"
	"github.com/ragd/ragd/retrieve"
	"github.com/ragd/ragd/wordpiece"
	"github.com/ragd/ragd/workersai"
)

// Store is the index as the whole application uses it.
type Store interface {
	api.Catalog
	ingest.Index
	retrieve.Searcher
	Close() error
}

// App is ragd assembled from its configuration: the store, the embedders,
// the LLM, the use cases and the HTTP API. It is what `ragd serve` runs and
// what the CLI's --local mode uses in-process.
type App struct {
	Config Config
	Logger *slog.Logger

	Store     Store
	Ingest    *ingest.Service
	Retrieve  *retrieve.Service
	Answerer  *generate.Answerer
	Jobs      *jobs.Manager
	API       *api.Server
	embedders *embedders
	providers *providers
	llmName   string

	cancel  context.CancelFunc
	closers []func() error
}

// NewApp builds the application. It opens the store and starts loading
// the default embedder in the background.
func NewApp(ctx context.Context, cfg Config, logger *slog.Logger) (_ *App, err error) {
	a := &App{Config: cfg, Logger: logger}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	bg, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if a.Store, err = openStore(ctx, cfg, logger); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Store.Close)

	metrics := api.NewMetrics()
	if a.providers, err = newProviders(cfg, logger, metrics.Registry()); err != nil {
		return nil, err
	}
	if err := checkModelDir(cfg, logger); err != nil {
		return nil, err
	}
	a.embedders = &embedders{ctx: bg, load: a.loadEmbedder, dimOf: knownDimension}
	a.closers = append(a.closers, func() error { a.embedders.close(); return nil })
	if cfg.Embedder != ingest.NoEmbedder {
		s, err := a.embedders.state(cfg.Embedder)
		if err != nil {
			return nil, fmt.Errorf("embedder: %w", err)
		}
		if _, builtin := builtinModel(cfg.Embedder); builtin && cfg.ModelDir != "" {
			// A model directory the operator named is local and loads in
			// seconds: if it is broken, say so now rather than serve
			// lexically with the reason in /readyz.
			select {
			case <-s.ready:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if s.err != nil {
				return nil, fmt.Errorf("model_dir %s: %s", cfg.ModelDir, ragd.ErrorMessage(s.err))
			}
		}
	}

	extractor, err := a.extractor()
	if err != nil {
		return nil, err
	}
	a.Ingest = &ingest.Service{
		Index:           a.Store,
		Extractor:       extractor,
		Chunker:         &ingest.Chunker{Tokenizer: wordpiece.Default()},
		Embedder:        func(name string) (ingest.Embedder, error) { return a.embedders.forDocuments(bg, name) },
		Dimension:       a.embedders.dimension,
		DefaultEmbedder: cfg.Embedder,
		Logger:          logger.With("component", "ingest"),
		Observe:         metrics.ObserveIngestStage,
	}
	a.Retrieve = &retrieve.Service{
		Store:    a.Store,
		Embedder: a.embedders.forQueries,
	}
	if a.Retrieve.Reranker, a.Retrieve.RerankerName, err = a.providers.reranker(); err != nil {
		return nil, err
	}
	llm, model, window, err := a.providers.llm()
	if err != nil {
		return nil, err
	}
	a.llmName = model
	a.Answerer = &generate.Answerer{
		Retriever:     a.Retrieve,
		LLM:           llm,
		Model:         model,
		ContextWindow: window,
		MaxTokens:     cfg.MaxTokens,
		CountTokens:   a.providers.counter.Count,
	}
	if a.Jobs, err = a.openJobs(); err != nil {
		return nil, err
	}
	var embedderNames []string
	if cfg.Embedder != ingest.NoEmbedder {
		embedderNames = []string{cfg.Embedder}
	}
	a.API = &api.Server{
		OpenAI: &api.OpenAI{
			Chat:      llm,
			ChatModel: model,
			Embedder: func(ctx context.Context, name string) (ingest.Embedder, error) {
				return a.embedders.forDocuments(ctx, name)
			},
			Embedders:   embedderNames,
			CountTokens: wordpiece.Default().Count,
		},
		Jobs:      a.Jobs,
		Catalog:   a.Store,
		Ingester:  a.Ingest,
		Retriever: a.Retrieve,
		Answerer:  a.Answerer,
		Ready:     a.ready,
		APIKeys:   cfg.APIKeys,
		Limits:    uploadLimits(cfg.MaxUploadBytes),
		Logger:    logger.With("component", "api"),
		Metrics:   metrics,
	}
	return a, nil
}

// openJobs builds the batch job manager with its store, the folders jobs
// may read and the SSRF-safe URL fetcher. Run starts it.
func (a *App) openJobs() (*jobs.Manager, error) {
	var roots *fetch.Roots
	if len(a.Config.IngestRoots) > 0 {
		var err error
		if roots, err = fetch.NewRoots(fetch.RootsConfig{Paths: a.Config.IngestRoots}); err != nil {
			return nil, fmt.Errorf("ingest_roots: %w", err)
		}
	}
	fc, err := a.Config.fetchConfig()
	if err != nil {
		return nil, err
	}
	fetcher, err := fetch.New(fc)
	if err != nil {
		return nil, err
	}
	var st jobs.Store
	if a.Config.Store == "postgres" {
		// Jobs live beside the index, so every ragd process on the
		// database works on the same queue.
		pool, err := jobsPool(context.Background(), a.Config.DatabaseURL, a.Config.DBSchema)
		if err != nil {
			return nil, fmt.Errorf("job store: %w", err)
		}
		a.closers = append(a.closers, func() error { pool.Close(); return nil })
		st = pgstore.New(pool)
	} else {
		bs, err := boltstore.Open(filepath.Join(a.Config.DataDir, "jobs.db"), boltstore.Options{})
		if err != nil {
			return nil, fmt.Errorf("job store: %w", err)
		}
		a.closers = append(a.closers, bs.Close)
		st = bs
	}
	m, err := jobs.New(jobs.Config{Store: st, Ingester: a.Ingest, Roots: roots, Fetcher: fetcher, Logger: a.Logger.With("component", "jobs")})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, m.Close)
	return m, nil
}

// RunJobs processes batch jobs until ctx ends or the app closes.
func (a *App) RunJobs(ctx context.Context) {
	if err := a.Jobs.Run(ctx); err != nil && ctx.Err() == nil {
		a.Logger.Error("job runner stopped", "err", err)
	}
}

// knownDimension is the vector size of the embedders ragd knows by name,
// or 0 for provider models whose size only a call can tell.
func knownDimension(name string) (int, error) {
	if m, ok := builtinModel(name); ok {
		return m.Dimension, nil
	}
	if model, ok := strings.CutPrefix(name, "workersai:"); ok {
		return workersai.EmbeddingDimension(model), nil
	}
	if strings.HasPrefix(name, "openai:") {
		return 0, nil
	}
	return 0, fmt.Errorf("unknown embedder %q (want %s, workersai:MODEL, openai:MODEL, hash:DIM or none)", name, knownModelNames())
}

// loadEmbedder loads a named embedder. Failures are logged once, here:
// retrieval then runs lexically and says why.
func (a *App) loadEmbedder(ctx context.Context, name string, phase func(string)) (l loadedEmbedder, err error) {
	defer func() {
		if err != nil {
			a.Logger.Warn("embedder unavailable: retrieval is lexical (BM25) only", "embedder", name, "reason", unavailableReason(err), "err", err)
		} else {
			a.Logger.Info("embedder loaded", "embedder", name, "dimension", l.dim, "from", l.from)
		}
	}()
	if e, ok := newHashEmbedder(name); ok {
		a.Logger.Warn("using the hashing test embedder: vectors are bags of words, not a semantic model", "embedder", name)
		return loadedEmbedder{emb: e, dim: e.(interface{ Dimension() int }).Dimension(), from: "built in (hashing, for tests and demos)"}, nil
	}
	if strings.HasPrefix(name, "workersai:") || strings.HasPrefix(name, "openai:") {
		emb, dim, from, err := a.providers.remoteEmbedder(ctx, name)
		return loadedEmbedder{emb: emb, dim: dim, from: from}, err
	}
	if m, ok := builtinModel(name); ok {
		return loadBuiltin(ctx, a.Config, m, phase)
	}
	return loadedEmbedder{}, ragd.Errorf(ragd.EUnavailable, "embedder %q cannot be loaded by this build", name)
}

// extractor returns the document extractor: untrusted formats are parsed
// by ragd itself in a child process ("ragd __extract") under the
// configured time and memory limits.
func (a *App) extractor() (ingest.Extractor, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("extraction sandbox: cannot find ragd's own executable to run parsers in: %w", err)
	}
	return &extract.Sandbox{
		Command:     []string{exe, "__extract"},
		Timeout:     a.Config.ExtractTimeout,
		MemoryLimit: a.Config.ExtractMemory,
		Options:     extract.Options{CacheDir: filepath.Join(a.Config.DataDir, "cache", "wazero")},
		Logger:      a.Logger.With("component", "extract"),
	}, nil
}

// ready reports readiness: the store answers, and what ragd serves with.
func (a *App) ready(ctx context.Context) api.Readiness {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	details := map[string]any{"store": a.Config.Store, "llm": a.llmName}
	ready := true
	if _, err := a.Store.Collections(ctx); err != nil {
		ready = false
		details["store_error"] = ragd.ErrorMessage(err)
	}
	mode := ragd.ModeLexical
	embs := a.embedders.status()
	details["embedders"] = embs
	for _, e := range embs {
		if e["name"] == a.Config.Embedder && e["available"] == true {
			mode = ragd.ModeHybrid
		}
	}
	if a.Config.Embedder == ingest.NoEmbedder {
		details["embedders"] = []map[string]any{}
	}
	details["retrieval_mode"] = mode
	details["default_embedder"] = a.Config.Embedder
	status := "ready"
	if !ready {
		status = "unavailable"
	}
	return api.Readiness{Ready: ready, Status: status, Details: details}
}

// Serve serves the HTTP API on ln until ctx ends, then drains: open answer
// streams get an error event, other requests get ShutdownGrace to finish.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.API.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(a.API.BeginShutdown)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	jobsCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	go a.RunJobs(jobsCtx)
	a.Logger.Info("ragd serving", "addr", ln.Addr().String(), "store", a.Config.Store,
		"embedder", a.Config.Embedder, "llm", a.llmName, "data_dir", a.Config.DataDir)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
	}
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) {
		return e
	}
	return nil
}

// Close stops background work and closes the store.
func (a *App) Close() error {
	if a.cancel != nil {
		a.cancel()
	}
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// newLogger builds the logger the configuration asks for.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// uploadLimits is api.DefaultLimits with the configured upload size.
func uploadLimits(maxUpload int64) api.Limits {
	l := api.DefaultLimits
	l.MaxUploadBytes = maxUpload
	return l
}
