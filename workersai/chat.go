package workersai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/llmtoken"
	"github.com/ragd/ragd/upstream"
)

type chatRequest struct {
	Messages    []ragd.Message `json:"messages"`
	Stream      bool           `json:"stream"`
	MaxTokens   int            `json:"max_tokens"`
	Temperature *float64       `json:"temperature,omitempty"`
	TopP        *float64       `json:"top_p,omitempty"`
	TopK        int            `json:"top_k,omitempty"`
}

// streamEvent is one event of Workers AI's text-generation stream:
// {"response":"...","p":"..."} per token, a last one carrying usage, then
// the data [DONE]. An error may arrive as {"error": ...} or as a
// {"errors": [...]} envelope.
//
// Newer models answer the same endpoint with OpenAI-style chunks
// ({"choices":[{"delta":{"content":"..."}}],"usage":{...}}, usage
// cumulative on every chunk); both forms are read.
type streamEvent struct {
	Response *string `json:"response"`
	Choices  []struct {
		Delta struct {
			Content *string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
	Usage  *usage          `json:"usage"`
	Error  json.RawMessage `json:"error"`
	Errors []apiMessage    `json:"errors"`
}

// text returns the event's delta in either form.
func (ev *streamEvent) text() string {
	if ev.Response != nil {
		return *ev.Response
	}
	s := ""
	for _, c := range ev.Choices {
		if c.Delta.Content != nil {
			s += *c.Delta.Content
		}
	}
	return s
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// ChatStream streams a chat completion from req.Model (default ChatModel),
// calling onDelta with each piece of text. MaxTokens is always sent
// (DefaultMaxTokens when unset). Usage comes from the stream's usage
// object; when the stream has none ragd counts the tokens and marks the
// usage Estimated. Retries happen only before the first delta; after it a
// broken, stalled or truncated stream is an EUpstream error, never a
// silent success. Cancelling ctx cancels the upstream request.
func (c *Client) ChatStream(ctx context.Context, req ragd.ChatRequest, onDelta func(text string) error) (ragd.Usage, error) {
	model := req.Model
	if model == "" {
		model = c.cfg.ChatModel
	}
	if err := c.checkModel(model); err != nil {
		return ragd.Usage{}, err
	}
	if len(req.Messages) == 0 {
		return ragd.Usage{}, ragd.Errorf(ragd.EInvalid, "a chat request needs at least one message")
	}
	maxTokens := req.MaxTokens
	if maxTokens <= 0 {
		maxTokens = c.cfg.DefaultMaxTokens
	}
	body, err := json.Marshal(chatRequest{
		Messages:    req.Messages,
		Stream:      true,
		MaxTokens:   maxTokens,
		Temperature: req.Temperature,
		TopP:        req.TopP,
		TopK:        req.TopK,
	})
	if err != nil {
		return ragd.Usage{}, err
	}
	rec := upstream.Record{Provider: "workersai", Operation: upstream.OpChat, Model: model}
	var (
		got    *usage
		answer strings.Builder
	)
	call := upstream.StreamCall{
		Client: c.http,
		Request: func(ctx context.Context) (*http.Request, error) {
			return c.newRequest(ctx, model, body)
		},
		OnResponse: onResponse,
		Classify:   classify,
		Event: func(data []byte) (string, bool, *upstream.Failure) {
			if bytes.Equal(bytes.TrimSpace(data), []byte("[DONE]")) {
				return "", true, nil
			}
			var ev streamEvent
			if err := json.Unmarshal(data, &ev); err != nil {
				return "", false, &upstream.Failure{Kind: upstream.KindProtocol, Err: err, Detail: upstream.Excerpt(data)}
			}
			if f := streamError(ev, data); f != nil {
				return "", false, f
			}
			if ev.Usage != nil {
				got = ev.Usage
			}
			text := ev.text()
			answer.WriteString(text)
			return text, false, nil
		},
	}
	cfg := upstream.StreamConfig{FirstToken: c.cfg.FirstTokenTimeout, Idle: c.cfg.IdleTimeout, MaxLine: c.cfg.MaxLine}
	var u ragd.Usage
	err = c.retrier.Do(ctx, c.describe(model), &rec, func(ctx context.Context, rec *upstream.Record) error {
		got = nil
		answer.Reset()
		err := upstream.Stream(ctx, cfg, call, rec, onDelta)
		u = c.usage(got, req.Messages, answer.String())
		rec.PromptTokens, rec.CompletionTokens, rec.Estimated = u.PromptTokens, u.CompletionTokens, u.Estimated
		return err
	})
	return u, err
}

// streamError returns the failure an error event reports, or nil.
func streamError(ev streamEvent, data []byte) *upstream.Failure {
	if len(ev.Errors) == 0 && (len(ev.Error) == 0 || string(ev.Error) == "null") {
		return nil
	}
	f := &upstream.Failure{Kind: upstream.KindStreamError, Detail: upstream.Excerpt(data)}
	for _, e := range ev.Errors {
		if k, ok := kindForCode(e.Code); ok {
			f.Kind, f.Code = k, e.Code
			break
		}
	}
	var inner apiMessage
	if json.Unmarshal(ev.Error, &inner) == nil && inner.Code != 0 {
		if k, ok := kindForCode(inner.Code); ok {
			f.Kind, f.Code = k, inner.Code
		}
	}
	return f
}

// usage returns the upstream's usage, or counts it.
func (c *Client) usage(u *usage, msgs []ragd.Message, answer string) ragd.Usage {
	if u != nil && (u.PromptTokens > 0 || u.CompletionTokens > 0) {
		total := u.TotalTokens
		if total == 0 {
			total = u.PromptTokens + u.CompletionTokens
		}
		return ragd.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: total}
	}
	return estimate(c.counter, msgs, answer)
}

// estimate counts a request's usage with the counter; it is marked
// Estimated, and zero when no counter can be had.
func estimate(counter func() (*llmtoken.Counter, error), msgs []ragd.Message, answer string) ragd.Usage {
	tc, err := counter()
	if err != nil || tc == nil {
		return ragd.Usage{Estimated: true}
	}
	p, cpl := tc.CountChat(msgs), tc.Count(answer)
	return ragd.Usage{PromptTokens: p, CompletionTokens: cpl, TotalTokens: p + cpl, Estimated: true}
}

// String describes the client for logs, without credentials.
func (c *Client) String() string {
	if c.cfg.Gateway != "" {
		return fmt.Sprintf("Workers AI via AI Gateway %q (chat %s, embeddings %s)", c.cfg.Gateway, c.cfg.ChatModel, c.cfg.EmbeddingModel)
	}
	return fmt.Sprintf("Workers AI (chat %s, embeddings %s)", c.cfg.ChatModel, c.cfg.EmbeddingModel)
}
