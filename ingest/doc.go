// Package ingest turns files into indexed chunks: it extracts text with its
// structure, normalizes it, chunks it by BERT WordPiece tokens along that
// structure, embeds the chunks in batches (reusing the vectors of chunks
// that did not change) and stores each document atomically.
package ingest

import "context"

// Block kinds, the structure an extractor keeps from a file.
const (
	BlockHeading   = "heading"   // a section heading; Level 1 (outermost) to 6
	BlockParagraph = "paragraph" // running text
	BlockList      = "list"      // one list item; Level is its nesting depth from 1
	BlockCode      = "code"      // preformatted text, kept verbatim
	BlockTable     = "table"     // a table, one row per line, cells separated by " | "
	BlockQuote     = "quote"     // quoted text
)

// Block is one structural element of an extracted document.
type Block struct {
	Kind  string
	Level int
	Text  string
	// Page is the 1-based page the block starts on, or 0 when the format has
	// no pages. Chunks carry it as the "page" metadata key.
	Page int
}

// Doc is an extracted document: its title, the metadata found in it (for
// example Markdown front matter or PDF properties) and its text as blocks.
type Doc struct {
	Title    string
	Metadata map[string]any
	Blocks   []Block
	// ContentType is the media type the file was extracted as.
	ContentType string
	// Key, when set, distinguishes the documents of a file that yields many
	// (a CSV row, a JSONL line); it becomes part of the document ID.
	Key string
	// Truncated is true when extraction stopped at a size cap.
	Truncated bool
}

// File is an input to extraction.
type File struct {
	// Name is the file name, path or URL the data came from. It is the
	// document's source key: the document ID derives from it unless ID is
	// set. Its extension is a hint only; the content decides the type.
	Name string
	// ID, when set, is the document ID to store the file under.
	ID string
	// ContentType is the declared media type, if any (a hint only).
	ContentType string
	Data        []byte
}

// Extractor turns a file into one or more documents. It returns
// ragd.EUnsupported for a type it cannot extract and ragd.EInvalid for a
// file that is damaged, empty or encrypted without a known password.
type Extractor interface {
	Extract(ctx context.Context, f File) ([]Doc, error)
}

// Embedder embeds document chunks. Vectors are L2-normalized, one per text,
// in order.
type Embedder interface {
	EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error)
}

// Result is the outcome of ingesting one document.
type Result struct {
	DocumentID string `json:"id"`
	Title      string `json:"title"`
	Source     string `json:"source,omitempty"`
	// Status is ragd.StatusIndexed, StatusUpdated or StatusUnchanged.
	Status string `json:"status"`
	Chunks int    `json:"chunk_count"`
	// Embedded counts the chunks that needed an embedding call; unchanged
	// chunks of an updated document keep their vectors.
	Embedded  int  `json:"embedded"`
	Truncated bool `json:"truncated,omitempty"`
}
