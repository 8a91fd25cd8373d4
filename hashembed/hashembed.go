// Package hashembed is a deterministic bag-of-words embedder for tests and
// demos: it hashes lower-cased words and word pairs into a fixed number of
// signed buckets and L2-normalizes the result. Texts that share words get
// similar vectors, which is enough to exercise vector search end to end
// without a model. It is not a semantic model and ragd never chooses it by
// itself: it is used only when configured by name ("hash:DIM").
package hashembed

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// Embedder embeds texts into Dim-dimensional hashed bag-of-words vectors.
type Embedder struct {
	Dim int
}

// New returns an embedder of dim dimensions.
func New(dim int) *Embedder { return &Embedder{Dim: dim} }

// Dimension returns the vector size.
func (e *Embedder) Dimension() int { return e.Dim }

// EmbedDocuments embeds each text.
func (e *Embedder) EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = e.embed(t)
	}
	return out, nil
}

// EmbedQuery embeds a query the same way as a document.
func (e *Embedder) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return e.embed(text), nil
}

func (e *Embedder) embed(text string) []float32 {
	v := make([]float32, e.Dim)
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	add := func(feature string, weight float32) {
		h := fnv.New64a()
		h.Write([]byte(feature))
		x := h.Sum64()
		sign := float32(1)
		if x>>63 == 1 {
			sign = -1
		}
		v[x%uint64(e.Dim)] += sign * weight
	}
	for i, w := range words {
		add(w, 1)
		if i > 0 {
			add(words[i-1]+" "+w, 0.5)
		}
	}
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	if norm == 0 {
		v[0] = 1 // an empty text still gets a unit vector
		return v
	}
	inv := float32(1 / math.Sqrt(norm))
	for i := range v {
		v[i] *= inv
	}
	return v
}
