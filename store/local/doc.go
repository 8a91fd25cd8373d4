// Package local is ragd's embedded store: collections, documents and their
// chunks in one file under the data directory, searched exactly in memory.
//
// Durability comes from bbolt: every write is one transaction, committed
// with fsync before the call returns, so an acknowledged document survives
// a crash or kill -9, and a document's chunks are replaced all at once.
// One process opens the store at a time (the file is locked).
//
// Search runs in memory. At open, each collection's vectors are loaded
// into one float32 slab (in blocks) and its BM25 inverted index is rebuilt
// from the term frequencies stored with every chunk, without analyzing any
// text again. Vector search is an exact scan with SIMD dot products (see
// package dot), split across cores, keeping the top k in a heap and
// evaluating filters only on candidates that would enter it. Lexical
// search is BM25 as package lexical defines it; hybrid search fuses the
// two by reciprocal rank.
//
// Writers are serialized; readers run concurrently with them. After a
// write commits, the in-memory index is updated under a lock, so a search
// sees a document's old chunks or its new ones, never a mix. A replaced
// version's records stay on disk until the next write to the collection,
// so a search that picked them from the old index can still read them.
package local
