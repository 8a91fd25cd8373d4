// Package qdrant is ragd's index in Qdrant, for deployments that already run
// Qdrant or want its cluster mode. [Open] connects; [Store] implements the
// store contract of package storetest; [Store.Run] sweeps what interrupted
// writes left behind.
//
// # Layout
//
// Each ragd collection is one Qdrant collection, named Options.Prefix plus
// the ragd name ("ragd_docs"), with two named vectors: "dense", the chunk
// embedding with cosine distance (left out for a lexical-only collection,
// Dimension 0), and "lexical", a sparse vector with Qdrant's IDF modifier
// holding BM25 term weights. The Qdrant collection's metadata describes the
// ragd collection (embedder, dimension, chunking, creation time, BM25
// average length), so creating or dropping a ragd collection is one atomic
// Qdrant call, and a name clash is Qdrant's own AlreadyExists.
//
// A collection holds three kinds of points (payload key "kind"):
//
//   - chunk points: the vectors, and as payload the chunk (text, headings,
//     offsets, hash, metadata under "metadata") with its document ID and
//     the version of the document it belongs to;
//   - document records, one per document, payload only: the document's
//     fields and its current version. They are ragd's catalog;
//   - intent records, payload only: an unfinished write, naming the
//     versions it touches.
//
// # Why the catalog lives in Qdrant
//
// ragd processes share one Qdrant (ARCHITECTURE.md: nothing may assume it is
// the only process), so the catalog cannot be a file next to one of them. It
// could live in Postgres, but then Qdrant mode would need a second database
// and every write would span two systems that cannot commit together, which
// is the phantom/orphan problem of RELIABILITY.md D-3 in its general form.
// Kept in the same Qdrant collection as the points it governs, the catalog
// is created, snapshotted, replicated and dropped with them, every ragd
// process sees the same one, and Qdrant's conditional upsert (update_filter)
// gives the compare-and-swap a version switch needs.
//
// # Replacing a document atomically
//
// Qdrant has no transactions. Chunk points carry (document, version); a
// reader accepts only points whose version is the one the document record
// names. [Store.PutDocument]:
//
//  1. writes an intent record (new version, current version);
//  2. writes the new version's points, in batches, each waiting for Qdrant
//     to apply it; they are invisible, not being current;
//  3. switches the record to the new version, conditionally on it still
//     naming the version read at the start (a conditional upsert);
//  4. deletes the old version's points (and its own, if a concurrent write
//     or delete got in between: that write is the later one);
//  5. deletes the intent record.
//
// A crash before 3 leaves the old version visible, after it the new one;
// never both, never neither. [Store.DeleteDocument] writes an intent,
// deletes the record (the document disappears at once), then the points and
// the intent. [Store.Sweep] (run by [Store.Run] at start and every
// SweepInterval, in any number of processes) resolves intents older than
// SweepGrace: it deletes the points of each version they name that is not
// current, then the intent. A write that has not reached step 3 within half
// of SweepGrace gives up rather than switch to points a sweep may be
// deleting, so the grace period bounds a write's duration, and processes'
// clocks must agree to well within it.
//
// [Store.Search] asks Qdrant for the top points and then reads the records of
// their documents; if any point is of a version that is not current, the
// queries are sent again with those versions excluded inside them
// (must_not conditions, also applied to the IDF statistics and the length
// facet), so that stale points neither show nor take ranks, until a round
// sees only current versions. In hybrid mode the check covers both lists.
//
// # Searching
//
// Vector search is Qdrant's nearest-neighbour query on "dense" (Qdrant
// normalizes cosine vectors, so scores are cosine similarities, in
// float32).
//
// Lexical search is exact BM25 as package lexical defines it, computed from
// what Qdrant returns. Chunks are analyzed with [lexical.Terms]; a term's
// index in the sparse vector is the 32-bit FNV-1a hash of the term, its
// value the BM25 term-frequency part [lexical.TF](tf, len, avgFixed), and
// each chunk's length len is in its payload ("dl", indexed). A query weighs
// 1 per distinct term ([lexical.QueryTerms]), and Qdrant's IDF modifier
// multiplies that by ln((N - df + 0.5) / (df + 0.5) + 1), which is
// [lexical.IDF]: the dot product is the chunk's BM25 score for an average
// length avgFixed. But BM25 normalizes by the collection's live average
// length, and stored vectors cannot follow it, so avgFixed is only the
// value the collection was created with (Options.BM25AvgLen, or 0.32 terms
// per token of the chunking's MaxTokens: 96 for the default 300, where the
// evaluation corpora's chunks average 85 to 106). One batch of queries
// therefore asks Qdrant for the best candidates by that score, with their
// sparse vectors and lengths but not their text (one Get reads the fields
// of the hits finally returned), and for one chunk holding each query
// term (its score over its weight is the term's IDF, from which the
// integer df follows); a facet of "dl" at the same time gives the chunk
// count and the live average.
// ragd then recovers each candidate's term frequencies from its weights and
// rescores it exactly, in float64. A candidate's exact score is at most
// max(1, avgLive/avgFixed) times its stored one, so when that bound on the
// last candidate is below the k-th exact score no chunk beyond the
// candidates can enter the first k; otherwise the round is repeated with
// twice the candidates. The scores and the ranking are those of the local
// store; they differ only in the bits of float32 Qdrant's scores carry,
// until a sweep, while an interrupted write's chunks are still counted in
// N, df and the average (once a search has seen such chunks it excludes
// them from the statistics too), and where two terms' hashes collide.
//
// Hybrid search fuses the two rankings by reciprocal rank fusion, a chunk
// scoring sum 1/(RRFK + rank) over the lists it is in, each list cut at
// ragd.HybridCandidates(TopK). ragd fuses them itself, over the dense and
// lexical lists the same batch returns: Qdrant's own fusion (prefetch and
// RRF in its query API, with k = RRFK + 1 since Qdrant counts positions
// from 0) would fuse its length-normalized-at-creation lexical ranking, and
// break ties in each list by internal point order rather than by chunk ID
// as every ragd store does.
//
// # Filters and payload indexes
//
// Every query's filter has must conditions kind = chunk and collection =
// the ragd collection (belt and braces: the Qdrant collection is already the
// collection's), and the translated ragd filter on "metadata.KEY": strings
// are keyword matches, booleans bool matches, numbers closed ranges [v, v]
// over metadata stored as doubles (so 3 matches 3.0, as in
// [ragd.Filter.Match]), $in a should of those, $and and $or must and should.
//
// The keys the store filters on get payload indexes when the collection is
// created: kind, collection, doc_id and version (keyword) and sort_key
// (integer, for listing documents in ID order with order_by). Metadata keys
// are arbitrary, so each gets an index the first time a filter uses it, of
// the type of the value it is compared with, requested without waiting (the
// first queries filter unindexed, which Qdrant does correctly, only more
// slowly), up to Options.MaxMetadataIndexes keys per collection.
//
// # Errors
//
// Qdrant unreachable, timing out or overloaded is EUnavailable with a
// Retry-After, and the same Store recovers once Qdrant answers again (the
// gRPC connection retries with a backoff capped at two seconds); a missing
// collection is ENotFound; a vector of the wrong dimension is EInvalid,
// checked before anything is sent (and re-checked against Qdrant's
// description if the cached one may be stale).
package qdrant
