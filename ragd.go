// Package ragd holds ragd's domain types: collections, documents, chunks,
// search queries and hits, filters, chat messages, usage, and the one error
// type every layer returns. It imports only the standard library; the
// packages that do the work (ingest, retrieve, generate, store, api) depend on
// it, never the other way round.
package ragd

// Version is the version that `ragd version` prints. Release builds set it
// with -ldflags "-X github.com/ragd/ragd.Version=...".
var Version = "0.1.0-dev"
