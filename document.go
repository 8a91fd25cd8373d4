package ragd

import "time"

// Document statuses reported by ingestion.
const (
	StatusIndexed   = "indexed"   // new document
	StatusUpdated   = "updated"   // existing document whose content changed
	StatusUnchanged = "unchanged" // same content again: nothing embedded or written
	StatusFailed    = "failed"    // the document could not be ingested
	StatusSkipped   = "skipped"   // the item was not a document ragd ingests
)

// Document is one ingested source: an uploaded file, a JSON text, a file of
// a batch job or a fetched URL. Its text lives in its chunks.
type Document struct {
	ID          string         `json:"id"`
	Collection  string         `json:"collection"`
	Title       string         `json:"title"`
	Source      string         `json:"source,omitempty"`       // file name, path or URL it came from
	ContentType string         `json:"content_type,omitempty"` // the media type it was extracted as
	Metadata    map[string]any `json:"metadata,omitempty"`
	// ContentHash is the hex SHA-256 of the extracted, normalized text plus
	// the metadata and chunking that shaped the chunks. Equal hashes mean
	// re-ingesting would produce the same chunks.
	ContentHash string `json:"content_hash"`
	// Embedder is the embedder that produced the chunks' vectors, or "" when
	// the chunks were stored without vectors (lexical mode).
	Embedder   string    `json:"embedder,omitempty"`
	ChunkCount int       `json:"chunk_count"`
	Bytes      int       `json:"bytes"` // length of the extracted text
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Chunk is a piece of a document's text small enough to embed, with what
// search needs to rank it and show it.
type Chunk struct {
	ID         string `json:"id"`
	DocumentID string `json:"document_id"`
	Index      int    `json:"index"` // position within the document, from 0
	// Text is the chunk's own text, as shown to users and to the LLM.
	Text string `json:"text"`
	// Headings is the path of headings the chunk sits under, outermost first.
	// It is prepended to Text for embedding and lexical indexing so a chunk
	// keeps its context.
	Headings []string `json:"headings,omitempty"`
	// Start and End are byte offsets of Text in the document's extracted text.
	Start int `json:"start"`
	End   int `json:"end"`
	// Tokens is the chunk's length in BERT WordPiece tokens.
	Tokens int `json:"tokens"`
	// Hash is the hex SHA-256 of what was embedded (headings and text), so
	// an unchanged chunk of a changed document keeps its vector.
	Hash string `json:"hash"`
	// Metadata is what filters see: the document's metadata merged with the
	// chunk's own (for example "page").
	Metadata map[string]any `json:"metadata,omitempty"`
	// Vector is the chunk's embedding, or nil when it was stored without one.
	Vector []float32 `json:"-"`
}

// EmbeddingText is the text that is embedded and lexically indexed for c:
// its heading path, then its text.
func (c Chunk) EmbeddingText() string {
	if len(c.Headings) == 0 {
		return c.Text
	}
	n := len(c.Text)
	for _, h := range c.Headings {
		n += len(h) + 1
	}
	b := make([]byte, 0, n)
	for _, h := range c.Headings {
		b = append(b, h...)
		b = append(b, '\n')
	}
	b = append(b, c.Text...)
	return string(b)
}
