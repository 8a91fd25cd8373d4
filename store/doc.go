// Package store groups ragd's index backends: store/local (the embedded
// default), store/postgres (pgvector) and store/qdrant. Each backend passes
// the one conformance suite in store/storetest, which also states the
// contract they share.
package store
