package qdrant

import (
	"hash/fnv"
	"slices"

	"github.com/ragd/ragd/lexical"
)

// avgTermsPerMaxToken estimates the mean length of a collection's chunks, in
// lexical terms (stop words removed), per token of the chunking's MaxTokens:
// chunks of the evaluation corpora chunked at 300 WordPiece tokens have
// 84.5 (SQuAD), 91.5 (Cloudflare docs) and 105.8 (SciFact) terms on
// average. TestDefaultAvgLen measures it.
const avgTermsPerMaxToken = 0.32

// termIndex is a term's sparse-vector index: the 32-bit FNV-1a hash of its
// bytes, the same in every process and release. Two terms with the same
// hash share an index (about one pair in 2^32 / vocabulary size).
func termIndex(term string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(term))
	return h.Sum32()
}

// documentSparse is the sparse vector of a chunk's text, and the text's
// length in terms: for each distinct term, lexical.TF(tf, length, avgLen),
// the BM25 term-frequency part with length normalization. Qdrant's IDF
// modifier multiplies in the inverse document frequency at query time, so
// a query's dot product with it is the chunk's BM25 score for the average
// length avgLen.
func documentSparse(text string, avgLen float64) ([]uint32, []float32, int) {
	terms := lexical.Terms(text)
	tf := make(map[uint32]int, len(terms))
	for _, t := range terms {
		tf[termIndex(t)]++
	}
	idx, vals := sparseOf(tf, func(n int) float32 { return float32(lexical.TF(n, len(terms), avgLen)) })
	return idx, vals, len(terms)
}

// queryIndexes returns the indexes of a query's distinct terms, ascending:
// BM25 scores each query term once, so each weighs 1.
func queryIndexes(text string) []uint32 {
	seen := map[uint32]int{}
	for _, t := range lexical.QueryTerms(text) {
		seen[termIndex(t)] = 1
	}
	idx, _ := sparseOf(seen, func(int) float32 { return 1 })
	return idx
}

func sparseOf(m map[uint32]int, weight func(int) float32) ([]uint32, []float32) {
	idx := make([]uint32, 0, len(m))
	for i := range m {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	vals := make([]float32, len(idx))
	for i, k := range idx {
		vals[i] = weight(m[k])
	}
	return idx, vals
}
