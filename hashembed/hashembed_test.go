package hashembed_test

import (
	"context"
	"math"
	"testing"

	"github.com/ragd/ragd/hashembed"
)

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestEmbedder(t *testing.T) {
	e := hashembed.New(64)
	vs, err := e.EmbedDocuments(context.Background(), []string{"the quick brown fox", "The quick brown fox!", "tax law in france", ""})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if len(v) != 64 || math.Abs(dot(v, v)-1) > 1e-5 {
			t.Errorf("vector %d: len %d, norm² %f", i, len(v), dot(v, v))
		}
	}
	if d := dot(vs[0], vs[1]); d < 0.999 {
		t.Errorf("same words differ: %f", d)
	}
	if dot(vs[0], vs[2]) > dot(vs[0], vs[1])-0.5 {
		t.Errorf("unrelated texts too similar: %f", dot(vs[0], vs[2]))
	}
	q, _ := e.EmbedQuery(context.Background(), "the quick brown fox")
	if dot(q, vs[0]) < 0.999 {
		t.Error("query and document embeddings differ for the same text")
	}
}
