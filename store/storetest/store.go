// Package storetest is the conformance suite that every ragd store backend
// passes. Store is the contract: what ingest, retrieve and the API need from
// an index, stated once so that every backend behaves the same.
package storetest

import (
	"context"

	"github.com/ragd/ragd"
)

// Store is the contract a backend implements. All methods take a context
// and honour its cancellation. Errors are *ragd.Error values with these codes:
// ENotFound for a missing collection or document, EConflict for a collection
// that already exists, EInvalid for a vector of the wrong dimension, and
// EUnavailable when the backend cannot be reached (it recovers by itself
// once the backend is back).
type Store interface {
	// CreateCollection stores a new collection and returns it as stored.
	// It returns EConflict if a collection of that name exists. The name is
	// already validated by ragd.ValidateCollectionName.
	CreateCollection(ctx context.Context, c ragd.Collection) (ragd.Collection, error)
	// Collection returns the named collection with its document and chunk
	// counts, or ENotFound.
	Collection(ctx context.Context, name string) (ragd.Collection, error)
	// Collections returns every collection, sorted by name, with counts.
	Collections(ctx context.Context) ([]ragd.Collection, error)
	// DeleteCollection removes a collection and everything in it, or
	// returns ENotFound.
	DeleteCollection(ctx context.Context, name string) error

	// Document returns one document, or ENotFound when the collection or the
	// document does not exist.
	Document(ctx context.Context, collection, id string) (ragd.Document, error)
	// Documents returns up to limit documents whose ID sorts after the
	// given one ("" for the first page), in ascending ID order.
	Documents(ctx context.Context, collection, after string, limit int) ([]ragd.Document, error)
	// Chunks returns a document's chunks in Index order, with their vectors.
	Chunks(ctx context.Context, collection, documentID string) ([]ragd.Chunk, error)
	// PutDocument stores doc and replaces all of its chunks atomically:
	// readers see the old version or the new one, never a mix, and a crash
	// leaves one of the two. doc.ChunkCount is set from len(chunks). Every
	// non-nil chunk vector must have the collection's dimension (EInvalid
	// otherwise); nil vectors store a chunk without an embedding, which
	// vector search does not return. Text and metadata are stored as given
	// (ingest removes NUL bytes and invalid UTF-8 before).
	PutDocument(ctx context.Context, doc ragd.Document, chunks []ragd.Chunk) error
	// DeleteDocument removes a document and its chunks, or returns
	// ENotFound. A deleted document never appears in results again.
	DeleteDocument(ctx context.Context, collection, id string) error

	// Search returns up to q.TopK hits, best first, ties broken by ascending
	// chunk ID. q.Filter is applied inside the search, so a filter never
	// makes it return fewer than TopK hits while more matching chunks exist.
	// Modes:
	//   - ragd.ModeVector: cosine similarity between q.Vector and chunk
	//     vectors (vectors are L2-normalized by the embedders, so this is the
	//     dot product). A vector of the wrong dimension is EInvalid.
	//   - ragd.ModeLexical: BM25 over lexical.Terms of each chunk's
	//     EmbeddingText, with the parameters of package lexical.
	//   - ragd.ModeHybrid: reciprocal rank fusion (k = ragd.RRFK, ranks from
	//     1) of the vector and lexical result lists, each cut at
	//     ragd.HybridCandidates(q.TopK).
	// Hits scoring below q.MinScore are dropped.
	Search(ctx context.Context, q ragd.SearchQuery) ([]ragd.Hit, error)

	// Close releases the backend's resources.
	Close() error
}
