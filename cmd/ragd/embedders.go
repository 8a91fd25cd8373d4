package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/bge"
	"github.com/ragd/ragd/hashembed"
	"github.com/ragd/ragd/hfhub"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/retrieve"
)

// embedder is an embedding model as ragd uses it: documents and queries.
type embedder interface {
	ingest.Embedder
	retrieve.Embedder
}

// embedderState is what ragd knows of one named embedder: its vector size
// (known even when it cannot run), and either the loaded embedder or why it
// is unavailable.
type embedderState struct {
	name string
	// known is the dimension its name tells (0 when only loading can);
	// it never changes.
	known int
	// dim is the dimension, set before ready is closed.
	dim int
	// ready is closed once loading has finished, successfully or not.
	ready chan struct{}
	emb   embedder
	err   error
	from  string         // where it was loaded from, for /readyz
	info  map[string]any // more for /readyz: the model's repository, revision, source
	close func() error

	phaseMu sync.Mutex
	phase   string // what loading is doing now, for /readyz
}

// setPhase records what loading is doing now.
func (s *embedderState) setPhase(p string) {
	s.phaseMu.Lock()
	s.phase = p
	s.phaseMu.Unlock()
}

func (s *embedderState) currentPhase() string {
	s.phaseMu.Lock()
	defer s.phaseMu.Unlock()
	if s.phase == "" {
		return "loading"
	}
	return s.phase
}

// loadedEmbedder is what loading a named embedder gives.
type loadedEmbedder struct {
	emb embedder
	dim int
	// from says where it was loaded from: a directory, a Hub snapshot, a
	// remote service.
	from string
	// info adds details to /readyz (for a built-in model: repo, revision,
	// source).
	info  map[string]any
	close func() error
}

// embedders resolves embedder names to loaded embedders, loading each at
// most once, in the background.
type embedders struct {
	ctx context.Context
	// load loads a named embedder; phase reports what it is doing (for
	// /readyz while it loads).
	load func(ctx context.Context, name string, phase func(string)) (loadedEmbedder, error)
	// dimOf returns the dimension of an embedder known by name, 0 when only
	// loading it can tell, or an error for an unknown name.
	dimOf func(name string) (int, error)

	mu     sync.Mutex
	byName map[string]*embedderState
}

// dimension returns the vector size of a named embedder: from its name
// when ragd knows it, else by loading it (waiting for the load).
func (e *embedders) dimension(name string) (int, error) {
	if dim, ok := hashDimension(name); ok {
		return dim, nil
	}
	dim, err := e.dimOf(name)
	if err != nil || dim > 0 {
		return dim, err
	}
	s, err := e.state(name)
	if err != nil {
		return 0, err
	}
	select {
	case <-s.ready:
	case <-e.ctx.Done():
		return 0, e.ctx.Err()
	}
	if s.err != nil {
		return 0, ragd.WrapError(ragd.EUnavailable, s.err, "the dimension of embedder %q is unknown until it loads: %s", name, unavailableReason(s.err))
	}
	return s.dim, nil
}

// state returns the named embedder's state, starting its load the first
// time the name is asked for.
func (e *embedders) state(name string) (*embedderState, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.byName[name]; ok {
		return s, nil
	}
	dim, ok := hashDimension(name)
	if !ok {
		var err error
		if dim, err = e.dimOf(name); err != nil {
			return nil, ragd.WrapError(ragd.EInvalid, err, "embedder %q is not known", name)
		}
	}
	s := &embedderState{name: name, known: dim, dim: dim, ready: make(chan struct{})}
	if e.byName == nil {
		e.byName = map[string]*embedderState{}
	}
	e.byName[name] = s
	go func() {
		defer close(s.ready)
		l, err := e.load(e.ctx, name, s.setPhase)
		if err == nil && s.known > 0 && l.dim != s.known {
			err = ragd.Errorf(ragd.EUnavailable, "embedder %q produces %d dimensions, not the %d its name promises", name, l.dim, s.known)
			if l.close != nil {
				l.close()
			}
			l = loadedEmbedder{}
		}
		if err == nil && e.ctx.Err() != nil {
			// ragd is closing: nothing will release what was loaded.
			if l.close != nil {
				l.close()
			}
			l, err = loadedEmbedder{}, ragd.WrapError(ragd.EUnavailable, e.ctx.Err(), "ragd is shutting down")
		}
		if err == nil {
			s.dim = l.dim
		}
		s.emb, s.from, s.info, s.close, s.err = l.emb, l.from, l.info, l.close, err
	}()
	return s, nil
}

// forDocuments returns the named embedder for ingestion, waiting for it to
// finish loading, so documents are not stored without vectors merely
// because the model was still loading.
func (e *embedders) forDocuments(ctx context.Context, name string) (ingest.Embedder, error) {
	s, err := e.state(name)
	if err != nil {
		return nil, err
	}
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if s.err != nil {
		return nil, ragd.WrapError(ragd.EUnavailable, s.err, "%s", unavailableReason(s.err))
	}
	return s.emb, nil
}

// forQueries returns the named embedder for retrieval without waiting: a
// model still loading is unavailable for now, and retrieval says so.
func (e *embedders) forQueries(name string) (retrieve.Embedder, error) {
	s, err := e.state(name)
	if err != nil {
		return nil, err
	}
	select {
	case <-s.ready:
	default:
		return nil, ragd.Errorf(ragd.EUnavailable, "the model is still loading")
	}
	if s.err != nil {
		return nil, ragd.WrapError(ragd.EUnavailable, s.err, "%s", unavailableReason(s.err))
	}
	return s.emb, nil
}

// status describes every embedder asked for so far, for /readyz.
func (e *embedders) status() []map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []map[string]any
	for _, s := range e.byName {
		m := map[string]any{"name": s.name, "dimension": s.known}
		select {
		case <-s.ready:
			m["dimension"] = s.dim
			if s.err != nil {
				m["available"], m["reason"] = false, unavailableReason(s.err)
			} else {
				m["available"], m["from"] = true, s.from
				for k, v := range s.info {
					m[k] = v
				}
			}
		default:
			m["available"], m["reason"], m["loading"] = false, s.currentPhase(), true
		}
		out = append(out, m)
	}
	return out
}

func (e *embedders) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.byName {
		select {
		case <-s.ready:
			if s.close != nil {
				s.close()
			}
		default:
		}
	}
}

// unavailableReason is the user-facing reason an embedder cannot be used:
// the loader's message, or a pointer to the log for an unexpected error.
func unavailableReason(err error) string {
	var e *ragd.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "it could not be loaded (the log says why)"
}

// hashDimension parses "hash:DIM".
func hashDimension(name string) (int, bool) {
	d, ok := strings.CutPrefix(name, "hash:")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(d)
	if err != nil || n < 8 || n > 4096 {
		return 0, false
	}
	return n, true
}

// newHashEmbedder returns the test and demo embedder for "hash:DIM".
func newHashEmbedder(name string) (embedder, bool) {
	dim, ok := hashDimension(name)
	if !ok {
		return nil, false
	}
	return hashembed.New(dim), true
}

// builtinModel returns the built-in model an embedder name refers to:
// exactly bge-small-en-v1.5, bge-base-en-v1.5 or bge-large-en-v1.5, so
// one model has one name in collections and is loaded once.
func builtinModel(name string) (bge.KnownModel, bool) {
	m, ok := bge.LookupModel(name)
	if !ok || m.Name != name {
		return bge.KnownModel{}, false
	}
	return m, true
}

// knownModelNames lists the built-in models' names, for messages.
func knownModelNames() string {
	var names []string
	for _, m := range bge.KnownModels() {
		names = append(names, m.Name)
	}
	return strings.Join(names, ", ")
}

// hubFiles is the list of a built-in model's files as the Hub client
// wants it: any one of the tokenizer files will do.
func hubFiles(m bge.KnownModel) hfhub.Files {
	var f hfhub.Files
	var tokenizer []string
	for _, file := range m.Files {
		switch {
		case file.Tokenizer:
			tokenizer = append(tokenizer, file.Path)
			f.Optional = append(f.Optional, file.Path)
		case file.Required:
			f.Required = append(f.Required, file.Path)
		default:
			f.Optional = append(f.Optional, file.Path)
		}
	}
	f.OneOf = [][]string{tokenizer}
	return f
}

// hubClient returns the Hugging Face Hub client the configuration
// describes: HF_ENDPOINT, HF_TOKEN, the hub cache, offline mode.
func hubClient(cfg Config) *hfhub.Client {
	return hfhub.New(hfhub.Config{
		Endpoint:  cfg.HFURL,
		Token:     cfg.HFToken,
		CacheDir:  hubCache(cfg),
		Offline:   offline(cfg),
		UserAgent: "ragd/" + ragd.Version,
	})
}

// offline reports whether models may not be downloaded: offline
// (RAGD_OFFLINE) or HF_HUB_OFFLINE.
func offline(cfg Config) bool { return cfg.Offline || cfg.HFOffline }

// modelDirFor returns the model directory configured for a built-in
// model: model_dir holds the model of the configured default embedder.
func modelDirFor(cfg Config, m bge.KnownModel) string {
	if cfg.ModelDir == "" {
		return ""
	}
	if def, ok := builtinModel(cfg.Embedder); ok && def.Name == m.Name {
		return cfg.ModelDir
	}
	return ""
}

// loadBuiltin finds a built-in BGE model (model_dir, else the Hugging Face
// cache, else the Hub unless offline) and loads it. phase reports progress
// for /readyz.
func loadBuiltin(ctx context.Context, cfg Config, m bge.KnownModel, phase func(string)) (loadedEmbedder, error) {
	req := hfhub.Request{Dir: modelDirFor(cfg, m), Repo: m.Repo, Revision: m.Revision, Files: hubFiles(m)}
	if req.Dir == "" {
		phase("looking for " + m.Repo + " in the Hugging Face cache, else on the Hub")
		req.Progress = func(p hfhub.Progress) {
			phase(fmt.Sprintf("downloading %s of %s from the Hugging Face Hub: %s of %s", p.File, m.Repo, formatBytes(p.Done), formatBytes(p.Total)))
		}
	}
	snap, err := hubClient(cfg).Get(ctx, req)
	if err != nil {
		return loadedEmbedder{}, builtinError(m, err)
	}
	phase("loading the weights from " + snap.Dir)
	model, err := bge.Load(snap.Dir, bge.Options{Name: m.Name})
	if err != nil {
		return loadedEmbedder{}, builtinError(m, err)
	}
	if model.Dimension() != m.Dimension {
		model.Close()
		return loadedEmbedder{}, ragd.Errorf(ragd.EUnavailable, "%s is unavailable: the model in %s produces %d dimensions, not %d", m.Name, snap.Dir, model.Dimension(), m.Dimension)
	}
	info := map[string]any{"model": m.Repo, "source": string(snap.Source), "dir": snap.Dir, "kernel": model.Kernel()}
	if snap.Source != hfhub.SourceDir {
		info["revision"] = snap.Revision
	}
	return loadedEmbedder{emb: model, dim: model.Dimension(), from: snap.String(), info: info, close: model.Close}, nil
}

// builtinError turns a failure to find or load a built-in model into the
// reason retrieval and /readyz give: what went wrong, and what to do.
func builtinError(m bge.KnownModel, err error) error {
	msg, cause := unavailableReason(err), err
	var e *ragd.Error
	if errors.As(err, &e) && e.Message != "" {
		cause = e.Err // its message is msg already; the log should not repeat it
		if e.Code == ragd.EUnavailable && strings.HasPrefix(e.Message, "offline mode") {
			msg += fmt.Sprintf(" (run `ragd models pull %s` where the Hub can be reached, or set model_dir)", m.Name)
		}
	}
	return ragd.WrapError(ragd.EUnavailable, cause, "%s is unavailable: %s", m.Name, msg)
}

// checkModelDir checks model_dir at start-up, before anything loads: a
// path that does not exist or is not a directory is a configuration error,
// and ragd does not start. (A directory whose files are missing or broken
// stops start-up too, once NewApp has waited for the model to load.)
func checkModelDir(cfg Config, logger *slog.Logger) error {
	if cfg.ModelDir == "" {
		return nil
	}
	st, err := os.Stat(cfg.ModelDir)
	if err != nil {
		return fmt.Errorf("model_dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("model_dir: %s is not a directory", cfg.ModelDir)
	}
	if _, ok := builtinModel(cfg.Embedder); !ok {
		logger.Warn("model_dir is set but the embedder is not a built-in model: model_dir is not used", "model_dir", cfg.ModelDir, "embedder", cfg.Embedder)
	}
	return nil
}
