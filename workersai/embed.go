package workersai

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/upstream"
)

type embedRequest struct {
	Text    []string `json:"text"`
	Pooling string   `json:"pooling,omitempty"`
}

type embedResult struct {
	Shape []int       `json:"shape"`
	Data  [][]float32 `json:"data"`
}

// EmbedDocuments embeds texts with the embedding model, MaxBatch (or
// BatchSize) texts per call, and returns L2-normalized vectors in order.
// Empty texts are EInvalid (the API rejects them).
func (c *Client) EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error) {
	for i, t := range texts {
		if t == "" {
			return nil, ragd.Errorf(ragd.EInvalid, "text %d to embed is empty", i)
		}
	}
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += c.cfg.BatchSize {
		batch := texts[start:min(start+c.cfg.BatchSize, len(texts))]
		vecs, err := c.embedBatch(ctx, batch)
		if err != nil {
			if start > 0 {
				return nil, fmt.Errorf("embed batch at text %d: %w", start, err)
			}
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

// EmbedQuery embeds a search query. For BGE models the query carries
// BGEQueryInstruction, as BGE v1.5 expects for retrieval.
func (c *Client) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	if text == "" {
		return nil, ragd.Errorf(ragd.EInvalid, "query to embed is empty")
	}
	if EmbeddingDimension(c.cfg.EmbeddingModel) > 0 {
		text = BGEQueryInstruction + text
	}
	vecs, err := c.embedBatch(ctx, []string{text})
	if err != nil {
		return nil, err
	}
	return vecs[0], nil
}

func (c *Client) embedBatch(ctx context.Context, batch []string) ([][]float32, error) {
	model := c.cfg.EmbeddingModel
	body, err := json.Marshal(embedRequest{Text: batch, Pooling: c.cfg.Pooling})
	if err != nil {
		return nil, err
	}
	rec := upstream.Record{Provider: "workersai", Operation: upstream.OpEmbed, Model: model, Inputs: len(batch)}
	var res embedResult
	err = c.retrier.Do(ctx, c.describe(model), &rec, func(ctx context.Context, rec *upstream.Record) error {
		res = embedResult{}
		if err := c.call(ctx, model, body, rec, &res); err != nil {
			return err
		}
		return checkVectors(res.Data, res.Shape, len(batch), c.dim)
	})
	if err != nil {
		return nil, err
	}
	for _, v := range res.Data {
		normalize(v)
	}
	return res.Data, nil
}

// checkVectors verifies that an embedding answer holds want vectors of one
// size (dim, when known) matching its shape.
func checkVectors(data [][]float32, shape []int, want, dim int) error {
	if len(data) != want {
		return &upstream.Failure{Kind: upstream.KindProtocol, Detail: fmt.Sprintf("asked for %d vectors, got %d", want, len(data))}
	}
	size := len(data[0])
	if dim > 0 && size != dim {
		return &upstream.Failure{Kind: upstream.KindProtocol, Detail: fmt.Sprintf("vectors have %d dimensions, the model has %d", size, dim)}
	}
	if len(shape) == 2 && (shape[0] != want || shape[1] != size) {
		return &upstream.Failure{Kind: upstream.KindProtocol, Detail: fmt.Sprintf("shape %v does not match %d vectors of %d", shape, want, size)}
	}
	for i, v := range data {
		if len(v) != size || size == 0 {
			return &upstream.Failure{Kind: upstream.KindProtocol, Detail: fmt.Sprintf("vector %d has %d dimensions, not %d", i, len(v), size)}
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return &upstream.Failure{Kind: upstream.KindProtocol, Detail: fmt.Sprintf("vector %d is not finite", i)}
			}
		}
	}
	return nil
}

func normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
}
