package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/hashembed"
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
	dim  int
	// ready is closed once loading has finished, successfully or not.
	ready chan struct{}
	emb   embedder
	err   error
	from  string // where it was loaded from, for /readyz
	close func() error
}

// embedders resolves embedder names to loaded embedders, loading each at
// most once, in the background.
type embedders struct {
	ctx context.Context
	// load loads a named embedder, returning it, its dimension, where it
	// came from and how to release it.
	load func(ctx context.Context, name string) (embedder, int, string, func() error, error)
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
	s := &embedderState{name: name, dim: dim, ready: make(chan struct{})}
	if e.byName == nil {
		e.byName = map[string]*embedderState{}
	}
	e.byName[name] = s
	go func() {
		defer close(s.ready)
		emb, dim, from, closeFn, err := e.load(e.ctx, name)
		if err == nil && s.dim > 0 && dim != s.dim {
			err = ragd.Errorf(ragd.EUnavailable, "embedder %q produces %d dimensions, not the %d its name promises", name, dim, s.dim)
		}
		if err == nil {
			s.dim = dim
		}
		s.emb, s.from, s.close, s.err = emb, from, closeFn, err
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
		m := map[string]any{"name": s.name, "dimension": s.dim}
		select {
		case <-s.ready:
			if s.err != nil {
				m["available"], m["reason"] = false, unavailableReason(s.err)
			} else {
				m["available"], m["from"] = true, s.from
			}
		default:
			m["available"], m["reason"] = false, "loading"
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
