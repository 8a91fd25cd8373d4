package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/generate"
	"github.com/ragd/ragd/llmtoken"
	"github.com/ragd/ragd/openai"
	"github.com/ragd/ragd/retrieve"
	"github.com/ragd/ragd/upstream"
	"github.com/ragd/ragd/workersai"
)

// providers builds the clients of outside model services, sharing one
// Workers AI client (and its daily-quota breaker) per configuration.
type providers struct {
	cfg     Config
	logger  *slog.Logger
	counter *llmtoken.Counter
	metrics *upstreamMetrics

	mu      sync.Mutex
	workers *workersai.Client
}

func newProviders(cfg Config, logger *slog.Logger, reg *prometheus.Registry) (*providers, error) {
	p := &providers{cfg: cfg, logger: logger, metrics: newUpstreamMetrics(reg)}
	counter, err := p.tokenCounter()
	if err != nil {
		return nil, err
	}
	p.counter = counter
	return p, nil
}

// hubCache is the Hugging Face hub cache directory.
func hubCache(cfg Config) string {
	switch {
	case cfg.HFCache != "":
		return cfg.HFCache
	case cfg.HFHome != "":
		return filepath.Join(cfg.HFHome, "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// tokenCounter loads Llama 3's tokenizer for exact prompt counts: from the
// configured file, else from the Hugging Face cache, else the built-in
// bound that never under-counts.
func (p *providers) tokenCounter() (*llmtoken.Counter, error) {
	if p.cfg.LLMTokenizer != "" {
		c, err := llmtoken.LoadFile(p.cfg.LLMTokenizer)
		if err != nil {
			return nil, fmt.Errorf("llm_tokenizer: %w", err)
		}
		return c, nil
	}
	if path := llmtoken.FindLlama3(hubCache(p.cfg)); path != "" {
		if c, err := llmtoken.LoadFile(path); err == nil {
			return c, nil
		}
	}
	return llmtoken.NewBound()
}

func (p *providers) workersConfig() workersai.Config {
	return workersai.Config{
		BaseURL:   p.cfg.WorkersAIURL,
		AccountID: p.cfg.CloudflareAccountID,
		APIToken:  p.cfg.CloudflareAPIToken,
		Gateway:   p.cfg.AIGateway,
		Logger:    p.logger.With("component", "workersai"),
		Observe:   p.metrics.observe,
		Counter:   p.counter,
	}
}

// workersClient returns the shared Workers AI client, whose chat and
// embedding models are the configured ones.
func (p *providers) workersClient() (*workersai.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.workers != nil {
		return p.workers, nil
	}
	cfg := p.workersConfig()
	if m, ok := strings.CutPrefix(p.cfg.LLM, "workersai:"); ok {
		cfg.ChatModel = m
	}
	if m, ok := strings.CutPrefix(p.cfg.Embedder, "workersai:"); ok {
		cfg.EmbeddingModel = m
	}
	if m, ok := strings.CutPrefix(p.cfg.Reranker, "workersai:"); ok {
		cfg.RerankModel = m
	}
	c, err := workersai.New(cfg)
	if err != nil {
		return nil, err
	}
	p.workers = c
	return c, nil
}

func (p *providers) openaiConfig() openai.Config {
	return openai.Config{
		BaseURL: p.cfg.OpenAIURL,
		APIKey:  p.cfg.OpenAIAPIKey,
		Logger:  p.logger.With("component", "openai"),
		Observe: p.metrics.observe,
		Counter: p.counter,
	}
}

// llm returns the answer model: Workers AI when configured (or, with
// "auto", when its credentials are set), an OpenAI-compatible server, or
// nil for extractive answers. It also returns the model name and its
// context window.
func (p *providers) llm() (generate.ChatStreamer, string, int, error) {
	ref := p.cfg.LLM
	if ref == "auto" {
		switch {
		case p.cfg.CloudflareAccountID != "" && p.cfg.CloudflareAPIToken != "":
			ref = "workersai:" + workersai.DefaultChatModel
		case p.cfg.OpenAIURL != "":
			return nil, "", 0, fmt.Errorf("llm: an OpenAI-compatible server is configured (openai_url); name its model with RAGD_LLM=openai:MODEL")
		default:
			ref = "extractive"
		}
	}
	windows := llmtoken.Windows{}
	provider, model, _ := strings.Cut(ref, ":")
	if p.cfg.ContextWindow > 0 {
		windows[model] = p.cfg.ContextWindow
	}
	window := windows.Lookup(model, generate.DefaultContextWindow)
	switch provider {
	case "extractive":
		return nil, generate.ExtractiveModel, 0, nil
	case "workersai":
		c, err := p.workersClient()
		if err != nil {
			return nil, "", 0, fmt.Errorf("llm: %w", err)
		}
		return c, model, window, nil
	case "openai":
		cfg := p.openaiConfig()
		cfg.ChatModel = model
		c, err := openai.New(cfg)
		if err != nil {
			return nil, "", 0, fmt.Errorf("llm: %w", err)
		}
		return c, model, window, nil
	}
	return nil, "", 0, fmt.Errorf("llm: %q is not workersai:MODEL, openai:MODEL, extractive or auto", ref)
}

// remoteEmbedder returns the embedder of a provider:model name, with its
// dimension (probed with one call when the model is not known by name).
func (p *providers) remoteEmbedder(ctx context.Context, name string) (embedder, int, string, error) {
	provider, model, _ := strings.Cut(name, ":")
	var (
		emb embedder
		dim int
		err error
	)
	switch provider {
	case "workersai":
		var c *workersai.Client
		if name == p.cfg.Embedder {
			c, err = p.workersClient()
		} else {
			cfg := p.workersConfig()
			cfg.EmbeddingModel = model
			c, err = workersai.New(cfg)
		}
		if err != nil {
			return nil, 0, "", err
		}
		emb, dim = c, c.Dimension()
	case "openai":
		if p.cfg.OpenAIURL == "" {
			return nil, 0, "", ragd.Errorf(ragd.EUnavailable, "embedder %q needs an OpenAI-compatible server: set RAGD_OPENAI_URL", name)
		}
		cfg := p.openaiConfig()
		cfg.EmbeddingModel = model
		c, err := openai.New(cfg)
		if err != nil {
			return nil, 0, "", err
		}
		emb = c
	default:
		return nil, 0, "", ragd.Errorf(ragd.EInvalid, "embedder %q is not known", name)
	}
	if dim == 0 {
		v, err := emb.EmbedQuery(ctx, "dimension probe")
		if err != nil {
			return nil, 0, "", ragd.WrapError(ragd.EUnavailable, err, "embedder %q did not answer a probe: %s", name, ragd.ErrorMessage(err))
		}
		dim = len(v)
	}
	return emb, dim, strings.TrimSuffix(provider, "ai") + " " + model, nil
}

// reranker returns the configured reranker, or nil.
func (p *providers) reranker() (retrieve.Reranker, string, error) {
	provider, model, ok := strings.Cut(p.cfg.Reranker, ":")
	if !ok {
		return nil, "", nil
	}
	switch provider {
	case "workersai":
		c, err := p.workersClient()
		if err != nil {
			return nil, "", fmt.Errorf("reranker: %w", err)
		}
		return c, p.cfg.Reranker, nil
	case "openai":
		cfg := p.openaiConfig()
		cfg.RerankURL = model
		c, err := openai.New(cfg)
		if err != nil {
			return nil, "", fmt.Errorf("reranker: %w", err)
		}
		return c, p.cfg.Reranker, nil
	}
	return nil, "", fmt.Errorf("reranker: %q is not workersai:MODEL or openai:URL", p.cfg.Reranker)
}

// upstreamMetrics turns upstream request records into Prometheus metrics.
type upstreamMetrics struct {
	requests *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newUpstreamMetrics(reg *prometheus.Registry) *upstreamMetrics {
	m := &upstreamMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ragd_upstream_requests_total", Help: "Requests to model services by provider, operation, model and outcome.",
		}, []string{"provider", "operation", "model", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ragd_upstream_tokens_total", Help: "Tokens reported (or estimated) by model services.",
		}, []string{"provider", "model", "kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ragd_upstream_request_duration_seconds", Help: "Model service request latency, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"provider", "operation"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.tokens, m.latency)
	}
	return m
}

func (m *upstreamMetrics) observe(r upstream.Record) {
	m.requests.WithLabelValues(r.Provider, r.Operation, r.Model, r.Outcome).Inc()
	m.latency.WithLabelValues(r.Provider, r.Operation).Observe(r.Latency.Seconds())
	if r.PromptTokens > 0 {
		m.tokens.WithLabelValues(r.Provider, r.Model, "prompt").Add(float64(r.PromptTokens))
	}
	if r.CompletionTokens > 0 {
		m.tokens.WithLabelValues(r.Provider, r.Model, "completion").Add(float64(r.CompletionTokens))
	}
}
