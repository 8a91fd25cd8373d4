package workersai

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/upstream"
)

type rerankRequest struct {
	Query    string          `json:"query"`
	Contexts []rerankContext `json:"contexts"`
	TopK     int             `json:"top_k"`
}

type rerankContext struct {
	Text string `json:"text"`
}

type rerankResult struct {
	Response []struct {
		ID    *int     `json:"id"`
		Score *float64 `json:"score"`
	} `json:"response"`
}

// Rerank scores each document against query with the rerank model
// (bge-reranker-base: {query, contexts, top_k} in, [{id, score}] out) and
// returns the scores in the documents' order; higher is better.
func (c *Client) Rerank(ctx context.Context, query string, documents []string) ([]float64, error) {
	if query == "" {
		return nil, ragd.Errorf(ragd.EInvalid, "rerank query is empty")
	}
	if len(documents) == 0 {
		return []float64{}, nil
	}
	req := rerankRequest{Query: query, TopK: len(documents), Contexts: make([]rerankContext, len(documents))}
	for i, d := range documents {
		if d == "" {
			d = " " // the API requires a non-empty text; a blank one scores low
		}
		req.Contexts[i] = rerankContext{Text: d}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	model := c.cfg.RerankModel
	rec := upstream.Record{Provider: "workersai", Operation: upstream.OpRerank, Model: model, Inputs: len(documents)}
	scores := make([]float64, len(documents))
	err = c.retrier.Do(ctx, c.describe(model), &rec, func(ctx context.Context, rec *upstream.Record) error {
		var res rerankResult
		if err := c.call(ctx, model, body, rec, &res); err != nil {
			return err
		}
		seen := make([]bool, len(documents))
		for _, r := range res.Response {
			if r.ID == nil || r.Score == nil || *r.ID < 0 || *r.ID >= len(documents) || seen[*r.ID] {
				return &upstream.Failure{Kind: upstream.KindProtocol, Detail: "rerank answer has a missing, out-of-range or repeated id"}
			}
			seen[*r.ID] = true
			scores[*r.ID] = *r.Score
		}
		for i, ok := range seen {
			if !ok {
				return &upstream.Failure{Kind: upstream.KindProtocol, Detail: fmt.Sprintf("rerank answer has no score for document %d", i)}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return scores, nil
}
