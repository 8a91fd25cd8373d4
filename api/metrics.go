package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/ragd/ragd"
)

// Metrics are ragd's Prometheus metrics, registered on their own registry.
// A nil *Metrics records nothing.
type Metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	documents *prometheus.CounterVec
	chunks    *prometheus.CounterVec
	queries   *prometheus.CounterVec
	tokens    *prometheus.CounterVec
	streams   prometheus.Gauge
	firstTok  prometheus.Histogram
	stages    *prometheus.HistogramVec
}

// NewMetrics creates the metrics on a new registry, with the Go runtime
// and process collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ragd_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ragd_http_request_duration_seconds", Help: "HTTP request duration by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"method", "route"}),
		documents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ragd_documents_ingested_total", Help: "Documents ingested by status (indexed, updated, unchanged, failed).",
		}, []string{"status"}),
		chunks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ragd_chunks_total", Help: "Chunks written, and chunks that needed an embedding.",
		}, []string{"kind"}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ragd_retrievals_total", Help: "Searches and queries by the retrieval mode actually used.",
		}, []string{"endpoint", "mode"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ragd_llm_tokens_total", Help: "LLM tokens by model and kind (prompt, completion).",
		}, []string{"model", "kind"}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ragd_open_streams", Help: "Answer streams open now.",
		}),
		firstTok: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ragd_first_token_seconds", Help: "Time from request to the first answer token.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ragd_ingest_stage_seconds", Help: "Time per document in each ingest stage (extract, chunk, embed, store).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 3, 12),
		}, []string{"stage"}),
	}
	r.MustRegister(m.requests, m.duration, m.documents, m.chunks, m.queries, m.tokens, m.streams, m.firstTok, m.stages,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveIngestStage records how long an ingest stage took; it fits
// ingest.Service.Observe.
func (m *Metrics) ObserveIngestStage(stage string, d time.Duration) {
	m.stages.WithLabelValues(stage).Observe(d.Seconds())
}

// Registry returns the registry, for other components' collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

func (m *Metrics) observeRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

func (m *Metrics) observeDocument(status string, chunks, embedded int) {
	if m == nil {
		return
	}
	m.documents.WithLabelValues(status).Inc()
	if status != ragd.StatusUnchanged && status != ragd.StatusFailed {
		m.chunks.WithLabelValues("written").Add(float64(chunks))
	}
	m.chunks.WithLabelValues("embedded").Add(float64(embedded))
}

func (m *Metrics) observeRetrieval(endpoint, mode string) {
	if m == nil {
		return
	}
	m.queries.WithLabelValues(endpoint, mode).Inc()
}

func (m *Metrics) observeAnswer(model string, u ragd.Usage, firstToken time.Duration) {
	if m == nil {
		return
	}
	m.tokens.WithLabelValues(model, "prompt").Add(float64(u.PromptTokens))
	m.tokens.WithLabelValues(model, "completion").Add(float64(u.CompletionTokens))
	if firstToken > 0 {
		m.firstTok.Observe(firstToken.Seconds())
	}
}

func (m *Metrics) streamOpened(delta float64) {
	if m == nil {
		return
	}
	m.streams.Add(delta)
}
