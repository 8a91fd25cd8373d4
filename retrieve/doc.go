// Package retrieve finds the chunks that answer a query: it embeds the
// query, runs vector, lexical or hybrid search in the store with filters
// applied inside the search, and reports which mode it actually used.
package retrieve

import "context"

// Embedder embeds search queries. For BGE models the query carries the
// retrieval instruction; documents do not. The vector is L2-normalized.
type Embedder interface {
	EmbedQuery(ctx context.Context, text string) ([]float32, error)
}

// Reranker scores how well each document answers a query, for reordering
// the fused results. Scores are higher for better matches, one per document.
type Reranker interface {
	Rerank(ctx context.Context, query string, documents []string) ([]float64, error)
}
