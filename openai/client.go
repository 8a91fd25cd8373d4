// Package openai is ragd's client for OpenAI-compatible servers: Ollama,
// vLLM, llama.cpp's server, text-embeddings-inference, OpenAI itself, and
// Workers AI's own OpenAI-compatible endpoint
// ({base}/client/v4/accounts/{account}/ai/v1). It embeds with
// POST {base}/embeddings, streams chat with POST {base}/chat/completions
// (stream: true, stream_options.include_usage: true), and reranks with a
// TEI-shaped POST {rerank}/rerank.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/llmtoken"
	"github.com/ragd/ragd/upstream"
)

// Defaults.
const (
	DefaultBatchSize = 64
	DefaultMaxTokens = 1024
)

// BGEQueryInstruction is prepended to queries for BGE embedding models
// (model names containing "bge-" and "-en"), which expect it for retrieval.
const BGEQueryInstruction = "Represent this sentence for searching relevant passages: "

// Config configures a Client. BaseURL is required: the API root ending in
// /v1 (for example http://localhost:11434/v1), or Workers AI's
// https://api.cloudflare.com/client/v4/accounts/{account}/ai/v1.
type Config struct {
	BaseURL string
	// APIKey is sent as a bearer token when set.
	APIKey string

	// EmbeddingModel and ChatModel name the models; ChatRequest.Model
	// overrides ChatModel per request.
	EmbeddingModel string
	ChatModel      string
	// QueryInstruction is prepended to queries by EmbedQuery. When empty,
	// BGEQueryInstruction is used for BGE English models and nothing for
	// others; set NoQueryInstruction to send queries as they are.
	QueryInstruction   string
	NoQueryInstruction bool
	// Dimensions, when positive, is sent as "dimensions" for models that can
	// shorten their vectors.
	Dimensions int
	// BatchSize is the most texts per embedding call (default 64).
	BatchSize int
	// RerankURL is the base of a TEI-shaped reranker (POST {RerankURL}/rerank
	// with {query, texts}); empty means no reranking.
	RerankURL string
	// DefaultMaxTokens is sent when a ChatRequest has no MaxTokens.
	DefaultMaxTokens int
	// NoStreamUsage leaves stream_options out of chat requests, for servers
	// that reject it; usage is then counted by ragd.
	NoStreamUsage bool

	FirstTokenTimeout time.Duration // default 60 s (local servers load models on first use)
	IdleTimeout       time.Duration // default 30 s
	RequestTimeout    time.Duration // default 120 s per embedding or rerank attempt
	MaxLine           int

	Retry   upstream.Policy
	Breaker upstream.BreakerConfig

	HTTPClient *http.Client
	Logger     *slog.Logger
	Observe    func(upstream.Record)
	// Counter estimates token usage when the server does not report it;
	// nil builds llmtoken.NewBound when first needed.
	Counter *llmtoken.Counter
}

// Client calls an OpenAI-compatible server. It is safe for concurrent use.
type Client struct {
	cfg      Config
	base     string
	http     *http.Client
	retrier  *upstream.Retrier
	counter  func() (*llmtoken.Counter, error)
	provider string
}

// New returns a client for cfg, or an EInvalid error naming the bad field.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, ragd.Errorf(ragd.EInvalid, "openai: RAGD_OPENAI_URL is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, ragd.Errorf(ragd.EInvalid, "openai: RAGD_OPENAI_URL must be an http or https URL, got %q", cfg.BaseURL)
	}
	if cfg.RerankURL != "" {
		if r, err := url.Parse(cfg.RerankURL); err != nil || (r.Scheme != "http" && r.Scheme != "https") || r.Host == "" {
			return nil, ragd.Errorf(ragd.EInvalid, "openai: the rerank URL must be an http or https URL")
		}
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.DefaultMaxTokens <= 0 {
		cfg.DefaultMaxTokens = DefaultMaxTokens
	}
	if cfg.FirstTokenTimeout == 0 {
		cfg.FirstTokenTimeout = 60 * time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 120 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = upstream.NewHTTPClient()
	}
	counter := func() (*llmtoken.Counter, error) { return cfg.Counter, nil }
	if cfg.Counter == nil {
		counter = sync.OnceValues(llmtoken.NewBound)
	}
	logger := cfg.Logger
	if logger != nil {
		logger = logger.With("component", "openai")
	}
	return &Client{
		cfg:      cfg,
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		http:     hc,
		counter:  counter,
		provider: providerName(u),
		retrier: upstream.NewRetrier(upstream.RetrierConfig{
			Policy: cfg.Retry, Breaker: cfg.Breaker, Logger: logger, Observe: cfg.Observe,
		}),
	}, nil
}

// providerName names the server in messages by its host, never its path
// (which may hold an account id).
func providerName(u *url.URL) string {
	if strings.HasSuffix(u.Hostname(), "api.cloudflare.com") {
		return "Workers AI (OpenAI-compatible)"
	}
	return "OpenAI-compatible server " + u.Host
}

// EmbeddingModel returns the embedding model's name.
func (c *Client) EmbeddingModel() string { return c.cfg.EmbeddingModel }

// ChatModel returns the default chat model's name.
func (c *Client) ChatModel() string { return c.cfg.ChatModel }

// Stats returns the client's running totals and breaker state.
func (c *Client) Stats() upstream.Stats { return c.retrier.Stats() }

// String describes the client for logs, without credentials.
func (c *Client) String() string {
	return fmt.Sprintf("%s (chat %s, embeddings %s)", c.provider, c.cfg.ChatModel, c.cfg.EmbeddingModel)
}

func (c *Client) describe(model string) upstream.Describe {
	return upstream.Describe{Provider: c.provider, Model: model}
}

func (c *Client) newRequest(ctx context.Context, url string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	return req, nil
}

// apiError is OpenAI's error object; servers vary in its fields' types.
type apiError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

// classify turns an error answer into a failure from its status and
// OpenAI-style error body.
func classify(resp *http.Response, body []byte) *upstream.Failure {
	f := upstream.StatusFailure(resp, body, time.Now())
	if resp.StatusCode/100 == 2 {
		f.Kind = upstream.KindProtocol
	}
	var env struct {
		Error  json.RawMessage `json:"error"`
		Errors []struct {
			Code int `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &env) == nil {
		var e apiError
		if len(env.Error) > 0 && json.Unmarshal(env.Error, &e) == nil {
			refine(f, e)
		}
		// Workers AI's OpenAI-compatible endpoints answer errors in the
		// Cloudflare envelope with Workers AI's codes.
		for _, e := range env.Errors {
			if k, ok := workersAIKind(e.Code); ok {
				f.Kind, f.Code = k, e.Code
				break
			}
		}
	}
	if f.Kind == upstream.KindQuota && f.RetryAfter <= 0 && f.Code == 3036 {
		now := time.Now()
		f.RetryAfter = upstream.NextUTCMidnight(now).Sub(now)
	}
	return f
}

// workersAIKind classifies the Workers AI error codes that change what
// ragd does.
func workersAIKind(code int) (upstream.Kind, bool) {
	switch code {
	case 3036:
		return upstream.KindQuota, true
	case 3040:
		return upstream.KindOverloaded, true
	case 5007, 3042:
		return upstream.KindNotFound, true
	case 5004, 3003:
		return upstream.KindBadInput, true
	case 3006:
		return upstream.KindTooLarge, true
	case 10000:
		return upstream.KindAuth, true
	}
	return 0, false
}

// refine adjusts a failure's kind from what the error object says.
func refine(f *upstream.Failure, e apiError) {
	code := strings.Trim(string(e.Code), `"`)
	text := strings.ToLower(e.Type + " " + code + " " + e.Message)
	switch {
	case strings.Contains(text, "insufficient_quota"):
		f.Kind = upstream.KindQuota
	case strings.Contains(text, "model_not_found"), strings.Contains(text, "does not exist") && strings.Contains(text, "model"),
		strings.Contains(text, "model") && strings.Contains(text, "not found"):
		f.Kind = upstream.KindNotFound
	case strings.Contains(text, "content_filter"), strings.Contains(text, "content_policy"):
		f.Kind = upstream.KindContentFilter
	case strings.Contains(text, "context_length_exceeded"), strings.Contains(text, "maximum context length"):
		f.Kind = upstream.KindBadInput
	}
}

// call posts body to url and decodes a JSON answer into out.
func (c *Client) call(ctx context.Context, url string, body []byte, rec *upstream.Record, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, url, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && context.Cause(ctx) == context.DeadlineExceeded {
			return &upstream.Failure{Kind: upstream.KindServer, Err: fmt.Errorf("no answer within %v: %w", c.cfg.RequestTimeout, err)}
		}
		return upstream.NetworkFailure(err, false)
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	if resp.StatusCode/100 != 2 {
		b, _ := upstream.ReadLimited(resp.Body, upstream.MaxErrorBody)
		return classify(resp, b)
	}
	b, err := upstream.ReadLimited(resp.Body, upstream.MaxResponseBody)
	if err != nil {
		return upstream.NetworkFailure(err, false)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &upstream.Failure{Kind: upstream.KindProtocol, Status: resp.StatusCode, Err: err, Detail: upstream.Excerpt(b)}
	}
	return nil
}
