package retrieve

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/fuse"
)

// Searcher is the index as retrieval uses it.
type Searcher interface {
	// Collection returns the named collection, or ENotFound.
	Collection(ctx context.Context, name string) (ragd.Collection, error)
	// Search runs a query inside the store (filters included).
	Search(ctx context.Context, q ragd.SearchQuery) ([]ragd.Hit, error)
}

// Service retrieves the chunks that answer a question.
type Service struct {
	Store Searcher
	// Embedder returns the query embedder of the named embedder, or an error
	// saying why it cannot be used now (for example, no model could be
	// loaded). Retrieval then falls back to lexical search and says so.
	Embedder func(name string) (Embedder, error)
	// Reranker, when set, reorders the fused candidates.
	Reranker Reranker
	// RerankerName names the reranker in Retrieval reports.
	RerankerName string
}

// Retrieve validates q, resolves the retrieval mode it can honour, and
// returns the best hits with a report of how they were found. A hybrid
// request (the default) becomes lexical when the collection's embedder is
// unavailable, with the reason in the report; an explicit vector request
// fails with EUnavailable instead.
func (s *Service) Retrieve(ctx context.Context, q ragd.Question) ([]ragd.Hit, ragd.Retrieval, error) {
	if err := ValidateQuery(q.Query); err != nil {
		return nil, ragd.Retrieval{}, err
	}
	topK := q.TopK
	if topK == 0 {
		topK = ragd.DefaultTopK
	}
	if topK < 1 || topK > ragd.MaxTopK {
		return nil, ragd.Retrieval{}, ragd.Errorf(ragd.EInvalid, "top_k must be between 1 and %d, got %d", ragd.MaxTopK, topK)
	}
	requested := q.Mode
	if requested == "" {
		requested = ragd.ModeHybrid
	}
	switch requested {
	case ragd.ModeHybrid, ragd.ModeVector, ragd.ModeLexical:
	default:
		return nil, ragd.Retrieval{}, ragd.Errorf(ragd.EInvalid, "mode must be %q, %q or %q, got %q", ragd.ModeHybrid, ragd.ModeVector, ragd.ModeLexical, q.Mode)
	}
	coll, err := s.Store.Collection(ctx, q.Collection)
	if err != nil {
		return nil, ragd.Retrieval{}, err
	}
	rep := ragd.Retrieval{Mode: requested, TopK: topK}
	sq := ragd.SearchQuery{
		Collection: q.Collection,
		Mode:       requested,
		Text:       q.Query,
		TopK:       topK,
		Filter:     q.Filter,
		MinScore:   q.MinScore,
	}
	if requested != ragd.ModeLexical {
		rep.Embedder = coll.Embedder
		vec, reason, err := s.embedQuery(ctx, coll, q.Query)
		switch {
		case err != nil:
			return nil, ragd.Retrieval{}, err
		case reason != "" && requested == ragd.ModeVector:
			return nil, ragd.Retrieval{}, ragd.Errorf(ragd.EUnavailable, "vector search is unavailable for collection %q: %s", coll.Name, reason)
		case reason != "":
			rep.Requested, rep.Mode, rep.Reason = requested, ragd.ModeLexical, reason
			sq.Mode = ragd.ModeLexical
		default:
			sq.Vector = vec
		}
	}
	if s.Reranker != nil {
		sq.TopK = min(max(3*topK, 20), ragd.MaxTopK)
	}
	hits, err := s.Store.Search(ctx, sq)
	if err != nil {
		return nil, ragd.Retrieval{}, err
	}
	if s.Reranker != nil && len(hits) > 1 {
		hits, err = s.rerank(ctx, q.Query, hits)
		if err != nil {
			return nil, ragd.Retrieval{}, err
		}
		rep.Reranker = s.RerankerName
	}
	if len(hits) > topK {
		hits = hits[:topK]
	}
	return hits, rep, nil
}

// embedQuery embeds the query with the collection's embedder. It returns a
// reason instead of a vector when vector search cannot be done, and an
// error only when the context ended.
func (s *Service) embedQuery(ctx context.Context, coll ragd.Collection, query string) ([]float32, string, error) {
	if coll.Dimension == 0 || coll.Embedder == "" {
		return nil, fmt.Sprintf("collection %q has no embedder", coll.Name), nil
	}
	if s.Embedder == nil {
		return nil, "no embedder is configured", nil
	}
	e, err := s.Embedder(coll.Embedder)
	if err != nil {
		msg := ragd.ErrorMessage(err)
		if !strings.Contains(msg, coll.Embedder) {
			msg = fmt.Sprintf("embedder %q is unavailable: %s", coll.Embedder, msg)
		}
		return nil, msg, nil
	}
	vec, err := e.EmbedQuery(ctx, query)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		return nil, fmt.Sprintf("embedding the query with %q failed: %s", coll.Embedder, ragd.ErrorMessage(err)), nil
	}
	if len(vec) != coll.Dimension {
		return nil, "", ragd.Errorf(ragd.EInternal, "embedder %q returned %d dimensions for collection %q of %d", coll.Embedder, len(vec), coll.Name, coll.Dimension)
	}
	return vec, "", nil
}

func (s *Service) rerank(ctx context.Context, query string, hits []ragd.Hit) ([]ragd.Hit, error) {
	docs := make([]string, len(hits))
	for i, h := range hits {
		docs[i] = h.Text
	}
	scores, err := s.Reranker.Rerank(ctx, query, docs)
	if err != nil {
		return nil, fmt.Errorf("rerank %d candidates: %w", len(hits), err)
	}
	if len(scores) != len(hits) {
		return nil, ragd.Errorf(ragd.EUpstream, "reranker returned %d scores for %d candidates", len(scores), len(hits))
	}
	out := make([]ragd.Hit, len(hits))
	copy(out, hits)
	for i := range out {
		out[i].Score = scores[i]
	}
	fuse.Sort(out)
	return out, nil
}

// ValidateQuery checks a query text: not empty, valid UTF-8, at most
// ragd.MaxQueryBytes long.
func ValidateQuery(q string) error {
	switch {
	case len(q) == 0:
		return ragd.Errorf(ragd.EInvalid, "query is empty")
	case len(q) > ragd.MaxQueryBytes:
		return ragd.Errorf(ragd.EInvalid, "query is %d bytes long; the limit is %d", len(q), ragd.MaxQueryBytes)
	case !utf8.ValidString(q):
		return ragd.Errorf(ragd.EInvalid, "query is not valid UTF-8")
	}
	for _, r := range q {
		if r > ' ' {
			return nil
		}
	}
	return ragd.Errorf(ragd.EInvalid, "query is empty")
}
