// Package workersai is ragd's client for Cloudflare Workers AI's REST API:
// BGE embeddings, streamed Llama chat completions and BGE reranking, called
// directly (POST {base}/client/v4/accounts/{account}/ai/run/{model}) or
// through an AI Gateway
// ({gateway}/v1/{account}/{gateway_id}/workers-ai/{model}).
//
// Failures follow Workers AI's error codes: 3036 (the daily allocation is
// used up) is not retried and holds every request off until the reset,
// 3040 (out of capacity) and 5xx answers are retried with backoff, unknown
// models and bad input are not retried. Messages name the model; what the
// upstream said stays in the wrapped cause, for logs.
package workersai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/llmtoken"
	"github.com/ragd/ragd/upstream"
)

// Defaults.
const (
	DefaultBaseURL        = "https://api.cloudflare.com"
	DefaultGatewayURL     = "https://gateway.ai.cloudflare.com"
	DefaultEmbeddingModel = "@cf/baai/bge-base-en-v1.5"
	DefaultChatModel      = "@cf/meta/llama-3.1-8b-instruct"
	DefaultRerankModel    = "@cf/baai/bge-reranker-base"
	// MaxBatch is the most texts Workers AI embeds in one call (the BGE
	// models' input schema: maxItems 100).
	MaxBatch = 100
	// DefaultMaxTokens is sent when a request sets no MaxTokens: Workers AI
	// would otherwise stop at 256.
	DefaultMaxTokens = 1024
)

// BGEQueryInstruction is prepended to queries (not documents) for BGE v1.5
// retrieval; Workers AI does not add it.
const BGEQueryInstruction = "Represent this sentence for searching relevant passages: "

// Workers AI error codes ragd acts on (developers.cloudflare.com/workers-ai/platform/errors).
const (
	CodeNoSuchModel       = 5007 // 400
	CodeInvalidData       = 5004 // 400
	CodeIncompleteRequest = 3003 // 400
	CodeMissingFiles      = 3039 // 400
	CodeModelAgreement    = 5016 // 403
	CodePrivateModel      = 5018 // 403
	CodeAccountBlocked    = 3023 // 403
	CodePrivateModel2     = 3041 // 403
	CodeInvalidModelID    = 3042 // 404
	CodeTooLarge          = 3006 // 413
	CodeTimeout           = 3007 // 408
	CodeAborted           = 3008 // 408
	CodeDailyAllocation   = 3036 // 429: daily free allocation used up
	CodeOutOfCapacity     = 3040 // 429: no more data centers to forward to
	CodeAuthentication    = 10000
)

// Config configures a Client. AccountID and APIToken are required.
type Config struct {
	// BaseURL is the API's base, default DefaultBaseURL.
	BaseURL   string
	AccountID string
	APIToken  string
	// Gateway is an AI Gateway id; when set, calls go through the gateway
	// at GatewayURL (default DefaultGatewayURL).
	Gateway    string
	GatewayURL string
	// GatewayToken, when set, is sent as cf-aig-authorization for an
	// authenticated gateway.
	GatewayToken string
	// CacheTTL, when positive, asks the gateway to cache answers this long
	// (cf-aig-cache-ttl); WithCache overrides it per request.
	CacheTTL time.Duration

	EmbeddingModel string // default DefaultEmbeddingModel
	ChatModel      string // default DefaultChatModel
	RerankModel    string // default DefaultRerankModel
	// Pooling is "cls" (default; BGE's own pooling) or "mean" (Workers
	// AI's default). Vectors of the two are not comparable.
	Pooling string
	// BatchSize is the most texts per embedding call, at most MaxBatch.
	BatchSize int
	// DefaultMaxTokens is sent when a ChatRequest has no MaxTokens.
	DefaultMaxTokens int

	// FirstTokenTimeout (default 30 s) and IdleTimeout (default 20 s) bound
	// a chat stream; RequestTimeout (default 60 s) bounds one embedding or
	// rerank attempt.
	FirstTokenTimeout time.Duration
	IdleTimeout       time.Duration
	RequestTimeout    time.Duration
	// MaxLine caps one line of a stream, default upstream.DefaultMaxLine.
	MaxLine int

	Retry   upstream.Policy
	Breaker upstream.BreakerConfig

	// HTTPClient defaults to upstream.NewHTTPClient().
	HTTPClient *http.Client
	// Logger gets one record per request; nil discards.
	Logger *slog.Logger
	// Observe, when set, gets every request's record (for metrics).
	Observe func(upstream.Record)
	// Counter estimates token usage when a stream does not report it; nil
	// builds the bound counter (llmtoken.NewBound) when first needed.
	Counter *llmtoken.Counter
}

// Client calls Workers AI. It is safe for concurrent use.
type Client struct {
	cfg     Config
	http    *http.Client
	retrier *upstream.Retrier
	counter func() (*llmtoken.Counter, error)
	dim     int
}

var modelRE = regexp.MustCompile(`^@?[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._:-]*){0,3}$`)

// New returns a client for cfg. It returns an EInvalid error naming the
// field for a missing or malformed setting.
func New(cfg Config) (*Client, error) {
	if cfg.AccountID == "" {
		return nil, ragd.Errorf(ragd.EInvalid, "workersai: CLOUDFLARE_ACCOUNT_ID is required")
	}
	if cfg.APIToken == "" {
		return nil, ragd.Errorf(ragd.EInvalid, "workersai: CLOUDFLARE_API_TOKEN is required")
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(cfg.AccountID) {
		return nil, ragd.Errorf(ragd.EInvalid, "workersai: the account id must be letters, digits, '-' or '_'")
	}
	if cfg.Gateway != "" && !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(cfg.Gateway) {
		return nil, ragd.Errorf(ragd.EInvalid, "workersai: RAGD_AI_GATEWAY must be letters, digits, '-' or '_'")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.GatewayURL == "" {
		cfg.GatewayURL = DefaultGatewayURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.GatewayURL = strings.TrimRight(cfg.GatewayURL, "/")
	if cfg.EmbeddingModel == "" {
		cfg.EmbeddingModel = DefaultEmbeddingModel
	}
	if cfg.ChatModel == "" {
		cfg.ChatModel = DefaultChatModel
	}
	if cfg.RerankModel == "" {
		cfg.RerankModel = DefaultRerankModel
	}
	for _, m := range []string{cfg.EmbeddingModel, cfg.ChatModel, cfg.RerankModel} {
		if !modelRE.MatchString(m) {
			return nil, ragd.Errorf(ragd.EInvalid, "workersai: model name %q is invalid", m)
		}
	}
	switch cfg.Pooling {
	case "":
		cfg.Pooling = "cls"
	case "cls", "mean":
	default:
		return nil, ragd.Errorf(ragd.EInvalid, "workersai: pooling must be \"cls\" or \"mean\", got %q", cfg.Pooling)
	}
	if cfg.BatchSize <= 0 || cfg.BatchSize > MaxBatch {
		cfg.BatchSize = MaxBatch
	}
	if cfg.DefaultMaxTokens <= 0 {
		cfg.DefaultMaxTokens = DefaultMaxTokens
	}
	if cfg.FirstTokenTimeout == 0 {
		cfg.FirstTokenTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 20 * time.Second
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 60 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = upstream.NewHTTPClient()
	}
	counter := func() (*llmtoken.Counter, error) { return cfg.Counter, nil }
	if cfg.Counter == nil {
		counter = sync.OnceValues(llmtoken.NewBound)
	}
	return &Client{
		cfg:     cfg,
		http:    hc,
		counter: counter,
		dim:     EmbeddingDimension(cfg.EmbeddingModel),
		retrier: upstream.NewRetrier(upstream.RetrierConfig{
			Policy:  cfg.Retry,
			Breaker: cfg.Breaker,
			Logger:  loggerWith(cfg.Logger),
			Observe: cfg.Observe,
		}),
	}, nil
}

func loggerWith(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	return l.With("component", "workersai")
}

// EmbeddingDimension returns the vector size of a BGE model on Workers AI,
// or 0 for a model ragd does not know.
func EmbeddingDimension(model string) int {
	switch model {
	case "@cf/baai/bge-small-en-v1.5":
		return 384
	case "@cf/baai/bge-base-en-v1.5":
		return 768
	case "@cf/baai/bge-large-en-v1.5":
		return 1024
	}
	return 0
}

// EmbeddingModel returns the embedding model's name.
func (c *Client) EmbeddingModel() string { return c.cfg.EmbeddingModel }

// ChatModel returns the default chat model's name.
func (c *Client) ChatModel() string { return c.cfg.ChatModel }

// Dimension returns the embedding model's vector size, 0 when unknown
// until the first call.
func (c *Client) Dimension() int { return c.dim }

// Stats returns the client's running totals and breaker state.
func (c *Client) Stats() upstream.Stats { return c.retrier.Stats() }

// CacheOptions control AI Gateway's cache for one request.
type CacheOptions struct {
	// TTL, when positive, caches the answer this long (cf-aig-cache-ttl).
	TTL time.Duration
	// Skip bypasses the cache (cf-aig-skip-cache).
	Skip bool
}

type cacheKey struct{}

// WithCache returns a context whose requests carry these cache options to
// the gateway. Without a gateway they have no effect.
func WithCache(ctx context.Context, o CacheOptions) context.Context {
	return context.WithValue(ctx, cacheKey{}, o)
}

// url returns the endpoint for model.
func (c *Client) url(model string) string {
	if c.cfg.Gateway != "" {
		return c.cfg.GatewayURL + "/v1/" + c.cfg.AccountID + "/" + c.cfg.Gateway + "/workers-ai/" + model
	}
	return c.cfg.BaseURL + "/client/v4/accounts/" + c.cfg.AccountID + "/ai/run/" + model
}

func (c *Client) newRequest(ctx context.Context, model string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(model), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.APIToken)
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.Gateway != "" {
		if c.cfg.GatewayToken != "" {
			req.Header.Set("cf-aig-authorization", "Bearer "+c.cfg.GatewayToken)
		}
		o, ok := ctx.Value(cacheKey{}).(CacheOptions)
		if !ok {
			o.TTL = c.cfg.CacheTTL
		}
		if o.Skip {
			req.Header.Set("cf-aig-skip-cache", "true")
		} else if o.TTL > 0 {
			req.Header.Set("cf-aig-cache-ttl", strconv.FormatInt(int64(math.Ceil(o.TTL.Seconds())), 10))
		}
	}
	return req, nil
}

func onResponse(resp *http.Response, rec *upstream.Record) {
	if id := resp.Header.Get("cf-aig-log-id"); id != "" {
		rec.GatewayLogID = id
	}
	if s := resp.Header.Get("cf-aig-cache-status"); s != "" {
		rec.CacheStatus = s
	}
}

func (c *Client) describe(model string) upstream.Describe {
	return upstream.Describe{Provider: "Workers AI", Model: model}
}

// envelope is the Cloudflare API's response wrapper.
type envelope struct {
	Result   json.RawMessage `json:"result"`
	Success  bool            `json:"success"`
	Errors   []apiMessage    `json:"errors"`
	Messages []apiMessage    `json:"messages"`
}

type apiMessage struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// classify turns an error answer into a failure, by Workers AI's error
// code when the envelope carries one, else by HTTP status.
func classify(resp *http.Response, body []byte) *upstream.Failure {
	now := time.Now()
	f := upstream.StatusFailure(resp, body, now)
	if resp.StatusCode/100 == 2 {
		f.Kind = upstream.KindProtocol
	}
	var env envelope
	if json.Unmarshal(body, &env) == nil {
		for _, e := range env.Errors {
			if k, ok := kindForCode(e.Code); ok {
				f.Kind, f.Code = k, e.Code
				break
			}
			if f.Code == 0 {
				f.Code = e.Code
			}
		}
	}
	if f.Kind == upstream.KindQuota && f.RetryAfter <= 0 {
		f.RetryAfter = upstream.NextUTCMidnight(now).Sub(now)
	}
	return f
}

func kindForCode(code int) (upstream.Kind, bool) {
	switch code {
	case CodeDailyAllocation:
		return upstream.KindQuota, true
	case CodeOutOfCapacity:
		return upstream.KindOverloaded, true
	case CodeNoSuchModel, CodeInvalidModelID:
		return upstream.KindNotFound, true
	case CodeInvalidData, CodeIncompleteRequest, CodeMissingFiles:
		return upstream.KindBadInput, true
	case CodeTooLarge:
		return upstream.KindTooLarge, true
	case CodeTimeout, CodeAborted:
		return upstream.KindServer, true
	case CodeAccountBlocked, CodeModelAgreement, CodePrivateModel, CodePrivateModel2:
		return upstream.KindForbidden, true
	case CodeAuthentication:
		return upstream.KindAuth, true
	}
	return 0, false
}

// call makes one non-streamed request and decodes the envelope's result
// into out.
func (c *Client) call(ctx context.Context, model string, body []byte, rec *upstream.Record, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, model, body)
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
	onResponse(resp, rec)
	if resp.StatusCode/100 != 2 {
		b, _ := upstream.ReadLimited(resp.Body, upstream.MaxErrorBody)
		return classify(resp, b)
	}
	b, err := upstream.ReadLimited(resp.Body, upstream.MaxResponseBody)
	if err != nil {
		return upstream.NetworkFailure(err, false)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return &upstream.Failure{Kind: upstream.KindProtocol, Status: resp.StatusCode, Err: err, Detail: upstream.Excerpt(b)}
	}
	if !env.Success || len(env.Errors) > 0 {
		return classify(resp, b)
	}
	if err := json.Unmarshal(env.Result, out); err != nil {
		return &upstream.Failure{Kind: upstream.KindProtocol, Status: resp.StatusCode, Err: err, Detail: upstream.Excerpt(b)}
	}
	return nil
}

func (c *Client) checkModel(model string) error {
	if !modelRE.MatchString(model) {
		return ragd.Errorf(ragd.EInvalid, "Workers AI model name %q is invalid", model)
	}
	return nil
}
