package ragd

// Retrieval modes.
const (
	ModeHybrid  = "hybrid"  // vector and lexical results fused by reciprocal rank
	ModeVector  = "vector"  // cosine similarity of embeddings
	ModeLexical = "lexical" // BM25 over the chunks' words
)

// Search limits.
const (
	DefaultTopK = 5
	MaxTopK     = 1000
	// RRFK is the constant of reciprocal rank fusion: score = sum 1/(RRFK+rank).
	RRFK = 60
	// MaxQueryBytes is the longest query text ragd accepts.
	MaxQueryBytes = 8192
)

// SearchQuery is what a store searches for. Text drives lexical search and
// Vector drives vector search; hybrid needs both.
type SearchQuery struct {
	Collection string
	Mode       string
	Text       string
	Vector     []float32
	TopK       int
	// Filter restricts results to chunks whose metadata matches. Nil matches
	// everything.
	Filter *Filter
	// MinScore drops hits scoring below it. Scores depend on the mode: cosine
	// similarity for vector, BM25 for lexical, fused RRF score for hybrid.
	MinScore float64
}

// Hit is one search result.
type Hit struct {
	ChunkID    string         `json:"chunk_id"`
	DocumentID string         `json:"document_id"`
	Title      string         `json:"title"`
	Source     string         `json:"source,omitempty"`
	Text       string         `json:"text"`
	Headings   []string       `json:"headings,omitempty"`
	Score      float64        `json:"score"`
	Metadata   map[string]any `json:"metadata,omitempty"`
	Start      int            `json:"start"`
	End        int            `json:"end"`
}

// Retrieval describes how a search was done, reported in every search and
// query response so that a degraded mode is never silent.
type Retrieval struct {
	// Mode is the mode actually used.
	Mode string `json:"mode"`
	// Requested is the mode asked for, when it differs from Mode.
	Requested string `json:"requested,omitempty"`
	// Reason says why Mode differs from the mode asked for.
	Reason   string `json:"reason,omitempty"`
	Embedder string `json:"embedder,omitempty"`
	Reranker string `json:"reranker,omitempty"`
	TopK     int    `json:"top_k"`
}

// HybridCandidates is how many results of each list hybrid search fuses to
// return topK hits.
func HybridCandidates(topK int) int {
	return max(4*topK, 50)
}
