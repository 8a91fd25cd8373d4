package lexical

import "math"

// BM25 parameters: Lucene's defaults. On SciFact and SQuAD they rank better
// than those of Anserini's BEIR runs (k1 = 0.9, b = 0.4); see
// TestEvalParameters.
const (
	// K1 controls how fast a term's weight saturates with its frequency.
	K1 = 1.2
	// B controls how much a chunk's length normalizes its term frequencies.
	B = 0.75
)

// IDF is the inverse document frequency of a term found in docFreq of
// docCount chunks, as Lucene computes it: ln(1 + (N - n + 0.5) / (n + 0.5)).
// It is positive for every docFreq <= docCount.
func IDF(docFreq, docCount int) float64 {
	n, N := float64(docFreq), float64(docCount)
	return math.Log(1 + (N-n+0.5)/(n+0.5))
}

// TF is the saturated, length-normalized term frequency of a term occurring
// tf times in a chunk of docLen terms, in a collection whose mean chunk
// length is avgDocLen: tf / (tf + K1 * (1 - B + B * docLen / avgDocLen)),
// as in Lucene 8 and later (without the constant factor K1 + 1).
func TF(tf, docLen int, avgDocLen float64) float64 {
	f := float64(tf)
	norm := 1 - B
	if avgDocLen > 0 {
		norm += B * float64(docLen) / avgDocLen
	}
	return f / (f + K1*norm)
}

// Score is the BM25 contribution of one query term to one chunk:
// IDF(docFreq, docCount) * TF(tf, docLen, avgDocLen). A chunk's score is
// the sum over the distinct query terms it contains. It is 0 when tf is 0.
func Score(tf, docLen int, avgDocLen float64, docFreq, docCount int) float64 {
	if tf <= 0 {
		return 0
	}
	return IDF(docFreq, docCount) * TF(tf, docLen, avgDocLen)
}
