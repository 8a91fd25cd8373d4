package retrieve_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/retrieve"
)

type fakeStore struct {
	coll    ragd.Collection
	hits    []ragd.Hit
	queries []ragd.SearchQuery
}

func (f *fakeStore) Collection(_ context.Context, name string) (ragd.Collection, error) {
	if name != f.coll.Name {
		return ragd.Collection{}, ragd.Errorf(ragd.ENotFound, "collection %q does not exist", name)
	}
	return f.coll, nil
}

func (f *fakeStore) Search(_ context.Context, q ragd.SearchQuery) ([]ragd.Hit, error) {
	f.queries = append(f.queries, q)
	return f.hits[:min(len(f.hits), q.TopK)], nil
}

type embedFunc func(ctx context.Context, text string) ([]float32, error)

func (f embedFunc) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	return f(ctx, text)
}

type rerankFunc func(ctx context.Context, q string, docs []string) ([]float64, error)

func (f rerankFunc) Rerank(ctx context.Context, q string, docs []string) ([]float64, error) {
	return f(ctx, q, docs)
}

func newService(dim int, embedErr error) (*retrieve.Service, *fakeStore) {
	st := &fakeStore{coll: ragd.Collection{Name: "c", Embedder: "e", Dimension: dim}}
	for _, id := range []string{"a", "b", "c", "d"} {
		st.hits = append(st.hits, ragd.Hit{ChunkID: id, Text: "text " + id})
	}
	return &retrieve.Service{
		Store: st,
		Embedder: func(name string) (retrieve.Embedder, error) {
			if embedErr != nil {
				return nil, embedErr
			}
			return embedFunc(func(context.Context, string) ([]float32, error) { return make([]float32, dim), nil }), nil
		},
	}, st
}

func TestRetrieveHybridWithVector(t *testing.T) {
	s, st := newService(3, nil)
	hits, rep, err := s.Retrieve(context.Background(), ragd.Question{Collection: "c", Query: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != ragd.ModeHybrid || rep.Reason != "" || rep.TopK != ragd.DefaultTopK {
		t.Errorf("report = %+v, want hybrid with top_k %d", rep, ragd.DefaultTopK)
	}
	if len(hits) != 4 || len(st.queries[0].Vector) != 3 || st.queries[0].Mode != ragd.ModeHybrid {
		t.Errorf("got %d hits, query %+v", len(hits), st.queries[0])
	}
}

func TestRetrieveFallsBackToLexicalAndSaysWhy(t *testing.T) {
	s, st := newService(3, ragd.Errorf(ragd.EUnavailable, "no model could be loaded"))
	_, rep, err := s.Retrieve(context.Background(), ragd.Question{Collection: "c", Query: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != ragd.ModeLexical || rep.Requested != ragd.ModeHybrid || !strings.Contains(rep.Reason, "no model could be loaded") {
		t.Errorf("report = %+v, want lexical with the reason", rep)
	}
	if st.queries[0].Mode != ragd.ModeLexical || st.queries[0].Vector != nil {
		t.Errorf("store query = %+v, want lexical without vector", st.queries[0])
	}
	_, _, err = s.Retrieve(context.Background(), ragd.Question{Collection: "c", Query: "hello", Mode: ragd.ModeVector})
	if ragd.ErrorCode(err) != ragd.EUnavailable {
		t.Errorf("explicit vector with no embedder: err = %v, want unavailable", err)
	}
}

func TestRetrieveLexicalOnlyCollection(t *testing.T) {
	s, _ := newService(0, nil)
	_, rep, err := s.Retrieve(context.Background(), ragd.Question{Collection: "c", Query: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != ragd.ModeLexical || !strings.Contains(rep.Reason, "no embedder") {
		t.Errorf("report = %+v", rep)
	}
}

func TestRetrieveValidation(t *testing.T) {
	s, _ := newService(3, nil)
	tests := []struct {
		name string
		q    ragd.Question
		code string
	}{
		{"empty query", ragd.Question{Collection: "c", Query: "  "}, ragd.EInvalid},
		{"huge query", ragd.Question{Collection: "c", Query: strings.Repeat("a", 100000)}, ragd.EInvalid},
		{"invalid utf8", ragd.Question{Collection: "c", Query: "\xff"}, ragd.EInvalid},
		{"top_k negative", ragd.Question{Collection: "c", Query: "q", TopK: -1}, ragd.EInvalid},
		{"top_k too big", ragd.Question{Collection: "c", Query: "q", TopK: 10000}, ragd.EInvalid},
		{"bad mode", ragd.Question{Collection: "c", Query: "q", Mode: "semantic"}, ragd.EInvalid},
		{"unknown collection", ragd.Question{Collection: "x", Query: "q"}, ragd.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.Retrieve(context.Background(), tt.q)
			if got := ragd.ErrorCode(err); got != tt.code {
				t.Errorf("code = %q (%v), want %q", got, err, tt.code)
			}
		})
	}
}

func TestRetrieveRerank(t *testing.T) {
	s, st := newService(3, nil)
	s.Reranker = rerankFunc(func(_ context.Context, q string, docs []string) ([]float64, error) {
		scores := make([]float64, len(docs))
		for i := range docs {
			scores[i] = float64(i) // reverse the order
		}
		return scores, nil
	})
	s.RerankerName = "r"
	hits, rep, err := s.Retrieve(context.Background(), ragd.Question{Collection: "c", Query: "q", TopK: 2})
	if err != nil {
		t.Fatal(err)
	}
	if st.queries[0].TopK < 20 {
		t.Errorf("candidates = %d, want at least 20", st.queries[0].TopK)
	}
	if len(hits) != 2 || hits[0].ChunkID != "d" || hits[1].ChunkID != "c" || rep.Reranker != "r" {
		t.Errorf("hits = %+v, report %+v", hits, rep)
	}
	s.Reranker = rerankFunc(func(context.Context, string, []string) ([]float64, error) {
		return nil, errors.New("boom")
	})
	if _, _, err := s.Retrieve(context.Background(), ragd.Question{Collection: "c", Query: "q"}); err == nil {
		t.Error("rerank failure was swallowed")
	}
}
