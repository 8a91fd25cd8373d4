package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/upstream"
)

type embedRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

type embedResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Usage *struct {
		PromptTokens int `json:"prompt_tokens"`
	} `json:"usage"`
}

// EmbedDocuments embeds texts with the embedding model, BatchSize texts
// per call, and returns L2-normalized vectors in order.
func (c *Client) EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error) {
	if c.cfg.EmbeddingModel == "" {
		return nil, ragd.Errorf(ragd.EInvalid, "no embedding model is configured for the %s", c.provider)
	}
	for i, t := range texts {
		if t == "" {
			return nil, ragd.Errorf(ragd.EInvalid, "text %d to embed is empty", i)
		}
	}
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += c.cfg.BatchSize {
		vecs, err := c.embedBatch(ctx, texts[start:min(start+c.cfg.BatchSize, len(texts))])
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

// EmbedQuery embeds a search query, with the query instruction for BGE
// models (see Config.QueryInstruction).
func (c *Client) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	if text == "" {
		return nil, ragd.Errorf(ragd.EInvalid, "query to embed is empty")
	}
	vecs, err := c.EmbedDocuments(ctx, []string{c.queryInstruction() + text})
	if err != nil {
		return nil, err
	}
	return vecs[0], nil
}

func (c *Client) queryInstruction() string {
	switch {
	case c.cfg.NoQueryInstruction:
		return ""
	case c.cfg.QueryInstruction != "":
		return c.cfg.QueryInstruction
	}
	m := strings.ToLower(c.cfg.EmbeddingModel)
	if strings.Contains(m, "bge-") && strings.Contains(m, "-en") && !strings.Contains(m, "bge-m3") {
		return BGEQueryInstruction
	}
	return ""
}

func (c *Client) embedBatch(ctx context.Context, batch []string) ([][]float32, error) {
	model := c.cfg.EmbeddingModel
	body, err := json.Marshal(embedRequest{Model: model, Input: batch, EncodingFormat: "float", Dimensions: c.cfg.Dimensions})
	if err != nil {
		return nil, err
	}
	rec := upstream.Record{Provider: "openai", Operation: upstream.OpEmbed, Model: model, Inputs: len(batch)}
	out := make([][]float32, len(batch))
	err = c.retrier.Do(ctx, c.describe(model), &rec, func(ctx context.Context, rec *upstream.Record) error {
		var res embedResponse
		if err := c.call(ctx, c.base+"/embeddings", body, rec, &res); err != nil {
			return err
		}
		if res.Usage != nil {
			rec.PromptTokens = res.Usage.PromptTokens
		}
		if len(res.Data) != len(batch) {
			return &upstream.Failure{Kind: upstream.KindProtocol, Detail: fmt.Sprintf("asked for %d embeddings, got %d", len(batch), len(res.Data))}
		}
		clear(out)
		dim := -1
		for _, d := range res.Data {
			if d.Index < 0 || d.Index >= len(batch) || out[d.Index] != nil {
				return &upstream.Failure{Kind: upstream.KindProtocol, Detail: fmt.Sprintf("embedding index %d is out of range or repeated", d.Index)}
			}
			if dim < 0 {
				dim = len(d.Embedding)
			}
			if len(d.Embedding) == 0 || len(d.Embedding) != dim {
				return &upstream.Failure{Kind: upstream.KindProtocol, Detail: "embeddings of different sizes"}
			}
			out[d.Index] = d.Embedding
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, v := range out {
		normalize(v)
	}
	return out, nil
}

func normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 || math.IsNaN(sum) || math.IsInf(sum, 0) {
		return
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
}

type chatRequest struct {
	Model         string         `json:"model"`
	Messages      []ragd.Message `json:"messages"`
	Stream        bool           `json:"stream"`
	StreamOptions *streamOptions `json:"stream_options,omitempty"`
	MaxTokens     int            `json:"max_tokens"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	TopK          int            `json:"top_k,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// chunk is one chat.completion.chunk of the stream, or an error object.
type chunk struct {
	Choices []struct {
		Delta struct {
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// ChatStream streams a chat completion from req.Model (default ChatModel),
// calling onDelta with each piece of content. max_tokens is always sent.
// Usage comes from the final usage chunk (stream_options.include_usage),
// else ragd counts it and marks it Estimated. A stream that ends without
// data: [DONE], stalls, or carries an error object is an error, never a
// silent success; retries happen only before the first delta. A
// finish_reason of "content_filter" is an EInvalid error.
func (c *Client) ChatStream(ctx context.Context, req ragd.ChatRequest, onDelta func(text string) error) (ragd.Usage, error) {
	model := req.Model
	if model == "" {
		model = c.cfg.ChatModel
	}
	if model == "" {
		return ragd.Usage{}, ragd.Errorf(ragd.EInvalid, "no chat model is configured for the %s", c.provider)
	}
	if len(req.Messages) == 0 {
		return ragd.Usage{}, ragd.Errorf(ragd.EInvalid, "a chat request needs at least one message")
	}
	maxTokens := req.MaxTokens
	if maxTokens <= 0 {
		maxTokens = c.cfg.DefaultMaxTokens
	}
	cr := chatRequest{Model: model, Messages: req.Messages, Stream: true, MaxTokens: maxTokens,
		Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK}
	if !c.cfg.NoStreamUsage {
		cr.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	body, err := json.Marshal(cr)
	if err != nil {
		return ragd.Usage{}, err
	}
	var (
		reported *ragd.Usage
		answer   strings.Builder
		u        ragd.Usage
	)
	call := upstream.StreamCall{
		Client: c.http,
		Request: func(ctx context.Context) (*http.Request, error) {
			return c.newRequest(ctx, c.base+"/chat/completions", body)
		},
		Classify: classify,
		Event: func(data []byte) (string, bool, *upstream.Failure) {
			if bytes.Equal(bytes.TrimSpace(data), []byte("[DONE]")) {
				return "", true, nil
			}
			var ch chunk
			if err := json.Unmarshal(data, &ch); err != nil {
				return "", false, &upstream.Failure{Kind: upstream.KindProtocol, Err: err, Detail: upstream.Excerpt(data)}
			}
			if len(ch.Error) > 0 && string(ch.Error) != "null" {
				f := &upstream.Failure{Kind: upstream.KindStreamError, Detail: upstream.Excerpt(data)}
				var e apiError
				if json.Unmarshal(ch.Error, &e) == nil {
					refine(f, e)
				}
				return "", false, f
			}
			if ch.Usage != nil && (ch.Usage.PromptTokens > 0 || ch.Usage.CompletionTokens > 0) {
				total := ch.Usage.TotalTokens
				if total == 0 {
					total = ch.Usage.PromptTokens + ch.Usage.CompletionTokens
				}
				reported = &ragd.Usage{PromptTokens: ch.Usage.PromptTokens, CompletionTokens: ch.Usage.CompletionTokens, TotalTokens: total}
			}
			text := ""
			for _, choice := range ch.Choices {
				if choice.Delta.Content != nil {
					text += *choice.Delta.Content
				}
				if choice.FinishReason != nil && *choice.FinishReason == "content_filter" {
					return "", false, &upstream.Failure{Kind: upstream.KindContentFilter, Detail: "finish_reason content_filter"}
				}
			}
			answer.WriteString(text)
			return text, false, nil
		},
	}
	cfg := upstream.StreamConfig{FirstToken: c.cfg.FirstTokenTimeout, Idle: c.cfg.IdleTimeout, MaxLine: c.cfg.MaxLine}
	rec := upstream.Record{Provider: "openai", Operation: upstream.OpChat, Model: model}
	err = c.retrier.Do(ctx, c.describe(model), &rec, func(ctx context.Context, rec *upstream.Record) error {
		reported = nil
		answer.Reset()
		err := upstream.Stream(ctx, cfg, call, rec, onDelta)
		if reported != nil {
			u = *reported
		} else {
			u = ragd.Usage{Estimated: true}
			if tc, err := c.counter(); err == nil && tc != nil {
				p, cpl := tc.CountChat(req.Messages), tc.Count(answer.String())
				u = ragd.Usage{PromptTokens: p, CompletionTokens: cpl, TotalTokens: p + cpl, Estimated: true}
			}
		}
		rec.PromptTokens, rec.CompletionTokens, rec.Estimated = u.PromptTokens, u.CompletionTokens, u.Estimated
		return err
	})
	return u, err
}

type rerankRequest struct {
	Query    string   `json:"query"`
	Texts    []string `json:"texts"`
	Truncate bool     `json:"truncate"`
}

type rerankItem struct {
	Index *int     `json:"index"`
	Score *float64 `json:"score"`
}

// Rerank scores documents against query with a TEI-shaped reranker
// (POST {RerankURL}/rerank, {query, texts} in, [{index, score}] out) and
// returns the scores in the documents' order. Without a RerankURL it is an
// EInvalid error.
func (c *Client) Rerank(ctx context.Context, query string, documents []string) ([]float64, error) {
	if c.cfg.RerankURL == "" {
		return nil, ragd.Errorf(ragd.EInvalid, "no reranker is configured for the %s", c.provider)
	}
	if len(documents) == 0 {
		return []float64{}, nil
	}
	body, err := json.Marshal(rerankRequest{Query: query, Texts: documents, Truncate: true})
	if err != nil {
		return nil, err
	}
	url := strings.TrimRight(c.cfg.RerankURL, "/") + "/rerank"
	rec := upstream.Record{Provider: "openai", Operation: upstream.OpRerank, Model: "rerank", Inputs: len(documents)}
	scores := make([]float64, len(documents))
	err = c.retrier.Do(ctx, upstream.Describe{Provider: c.provider, Model: "rerank"}, &rec, func(ctx context.Context, rec *upstream.Record) error {
		var items []rerankItem
		if err := c.call(ctx, url, body, rec, &items); err != nil {
			return err
		}
		seen := make([]bool, len(documents))
		for _, it := range items {
			if it.Index == nil || it.Score == nil || *it.Index < 0 || *it.Index >= len(documents) || seen[*it.Index] {
				return &upstream.Failure{Kind: upstream.KindProtocol, Detail: "rerank answer has a missing, out-of-range or repeated index"}
			}
			seen[*it.Index] = true
			scores[*it.Index] = *it.Score
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
