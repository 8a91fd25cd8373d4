package ragd

import (
	"regexp"
	"time"
)

// Chunking is a collection's chunker configuration, counted in the BERT
// WordPiece tokens that BGE models see.
type Chunking struct {
	MaxTokens     int `json:"max_tokens"`
	OverlapTokens int `json:"overlap_tokens"`
}

// Default chunking: 300 tokens with 15 % overlap fits BGE's 512-token window
// with room for the heading path that each chunk carries as context.
const (
	DefaultMaxTokens     = 300
	DefaultOverlapTokens = 45
	// MaxChunkTokens is the largest MaxTokens a collection may ask for: BGE
	// models see at most 512 tokens, two of which are [CLS] and [SEP].
	MaxChunkTokens = 510
	// MinChunkTokens is the smallest MaxTokens a collection may ask for.
	MinChunkTokens = 16
)

// Validate checks the chunking configuration.
func (c Chunking) Validate() error {
	if c.MaxTokens < MinChunkTokens || c.MaxTokens > MaxChunkTokens {
		return Errorf(EInvalid, "chunking.max_tokens must be between %d and %d, got %d", MinChunkTokens, MaxChunkTokens, c.MaxTokens)
	}
	if c.OverlapTokens < 0 || c.OverlapTokens > c.MaxTokens/2 {
		return Errorf(EInvalid, "chunking.overlap_tokens must be between 0 and half of max_tokens (%d), got %d", c.MaxTokens/2, c.OverlapTokens)
	}
	return nil
}

// Collection is a named set of documents searched together. All of its
// chunks are embedded by one embedder, whose vectors have Dimension
// components. Dimension is 0 for a collection that is searched lexically only.
type Collection struct {
	Name      string    `json:"name"`
	Embedder  string    `json:"embedder"`
	Dimension int       `json:"dimension"`
	Chunking  Chunking  `json:"chunking"`
	CreatedAt time.Time `json:"created_at"`

	// DocumentCount and ChunkCount are filled in by stores when a collection
	// is read; they are ignored on create.
	DocumentCount int `json:"document_count"`
	ChunkCount    int `json:"chunk_count"`
}

var collectionNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// ValidateCollectionName reports whether name is a usable collection name:
// 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit.
func ValidateCollectionName(name string) error {
	if !collectionNameRE.MatchString(name) {
		return Errorf(EInvalid, "collection name %q is invalid: use 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit", name)
	}
	return nil
}
