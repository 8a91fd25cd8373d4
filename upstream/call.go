package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ragd/ragd"
)

// Log keys of the per-request record.
const (
	LogKeyProvider         = "provider"
	LogKeyOperation        = "operation"
	LogKeyModel            = "model"
	LogKeyAttempts         = "attempts"
	LogKeyRetries          = "retries"
	LogKeyLatency          = "latency_ms"
	LogKeyFirstToken       = "first_token_ms"
	LogKeyPromptTokens     = "prompt_tokens"
	LogKeyCompletionTokens = "completion_tokens"
	LogKeyEstimated        = "tokens_estimated"
	LogKeyInputs           = "inputs"
	LogKeyGatewayLogID     = "gateway_log_id"
	LogKeyCacheStatus      = "cache_status"
	LogKeyOutcome          = "outcome"
	LogKeyStatus           = "status"
	LogKeyError            = "error"
)

// Operations named in records.
const (
	OpChat   = "chat"
	OpEmbed  = "embed"
	OpRerank = "rerank"
)

// Record is what one request to an upstream cost and how it ended: it is
// logged once per request and handed to the client's Observe hook, from
// which metrics are made.
type Record struct {
	Provider  string
	Operation string
	Model     string
	// Attempts counts calls made to the upstream (0 when the breaker
	// refused the request); Retries those after the first.
	Attempts int
	Retries  int
	// BudgetExhausted is true when a retry was skipped because the client's
	// retry budget was empty.
	BudgetExhausted bool
	Latency         time.Duration
	// FirstToken is the time to the first streamed delta (chat only).
	FirstToken       time.Duration
	PromptTokens     int
	CompletionTokens int
	// Estimated is true when ragd counted the tokens itself.
	Estimated bool
	// Inputs is the number of texts embedded or reranked.
	Inputs int
	// GatewayLogID is AI Gateway's cf-aig-log-id, when the call went
	// through a gateway; CacheStatus its cf-aig-cache-status.
	GatewayLogID string
	CacheStatus  string
	// Outcome is "ok", "canceled", or the failure kind.
	Outcome string
	// Status is the last HTTP status seen, 0 if none.
	Status int
	// Err is the failure, for the log; nil on success.
	Err error
}

// Stats are a client's running totals, for metrics.
type Stats struct {
	Requests        int64
	Failures        int64
	Attempts        int64
	Retries         int64
	BudgetExhausted int64
	Breaker         BreakerState
}

// Retrier runs requests to one upstream account under a retry policy, a
// retry budget and a circuit breaker, and logs one record per request. It
// is safe for concurrent use; make one per client.
type Retrier struct {
	policy  Policy
	budget  *Budget
	breaker *Breaker
	logger  *slog.Logger
	observe func(Record)
	rnd     func() float64

	requests, failures, attempts, retries, exhausted atomic.Int64
}

// RetrierConfig configures a Retrier.
type RetrierConfig struct {
	Policy  Policy
	Breaker BreakerConfig
	// Logger receives one record per request; nil discards them.
	Logger *slog.Logger
	// Observe, when set, is called with every request's record.
	Observe func(Record)
	// Rand returns floats in [0, 1) for the jitter; nil uses math/rand/v2.
	Rand func() float64
}

// NewRetrier returns a Retrier.
func NewRetrier(cfg RetrierConfig) *Retrier {
	p := cfg.Policy.WithDefaults()
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Retrier{
		policy:  p,
		budget:  NewBudget(p.BudgetRatio, p.BudgetReserve),
		breaker: NewBreaker(cfg.Breaker),
		logger:  logger,
		observe: cfg.Observe,
		rnd:     cfg.Rand,
	}
}

// Stats returns the running totals.
func (r *Retrier) Stats() Stats {
	return Stats{
		Requests:        r.requests.Load(),
		Failures:        r.failures.Load(),
		Attempts:        r.attempts.Load(),
		Retries:         r.retries.Load(),
		BudgetExhausted: r.exhausted.Load(),
		Breaker:         r.breaker.State(),
	}
}

// Breaker returns the retrier's circuit breaker.
func (r *Retrier) Breaker() *Breaker { return r.breaker }

// Attempt makes one call to the upstream. It returns nil on success or an
// error wrapping a *Failure that says whether another attempt may help;
// it may fill in rec's token counts, status and gateway fields.
type Attempt func(ctx context.Context, rec *Record) error

// Do runs attempt until it succeeds, fails for good, or the attempt limit,
// the retry budget, a Retry-After beyond MaxRetryAfter or ctx stops it. It
// logs and observes rec, then returns nil or a *ragd.Error made by d.
func (r *Retrier) Do(ctx context.Context, d Describe, rec *Record, attempt Attempt) error {
	start := time.Now()
	r.requests.Add(1)
	r.budget.Deposit()
	var last error
	for n := 1; ; n++ {
		ticket, refused := r.breaker.Allow()
		if refused != nil {
			last = refused
			break
		}
		rec.Attempts = n
		r.attempts.Add(1)
		err := attempt(ctx, rec)
		if err == nil {
			r.breaker.Done(ticket, OutcomeSuccess)
			last = nil
			break
		}
		last = err
		var aborted *abortError
		if ctx.Err() != nil || errors.As(err, &aborted) {
			r.breaker.Done(ticket, OutcomeNeutral)
			break
		}
		f := AsFailure(err)
		if f.Kind == KindQuota {
			r.breaker.Done(ticket, OutcomeNeutral)
			r.breaker.TripQuota(time.Now().Add(f.RetryAfter))
			break
		}
		if f.Kind.countsAgainstBreaker() {
			r.breaker.Done(ticket, OutcomeFailure)
		} else {
			r.breaker.Done(ticket, OutcomeNeutral)
		}
		if !f.Retryable() || n >= r.policy.MaxAttempts || f.RetryAfter > r.policy.MaxRetryAfter {
			break
		}
		delay := r.policy.Backoff(n, f.RetryAfter, r.rnd)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			break
		}
		if !r.budget.Withdraw() {
			rec.BudgetExhausted = true
			r.exhausted.Add(1)
			break
		}
		if !sleep(ctx, delay) {
			break
		}
		rec.Retries++
		r.retries.Add(1)
	}
	rec.Latency = time.Since(start)
	out := r.finish(ctx, d, last)
	rec.Err = last
	switch {
	case last == nil:
		rec.Outcome = "ok"
	case errors.As(last, new(*abortError)):
		rec.Outcome = "aborted"
	case ctx.Err() != nil:
		rec.Outcome = "canceled"
	default:
		rec.Outcome = AsFailure(last).Kind.String()
	}
	if out != nil {
		r.failures.Add(1)
	}
	r.log(ctx, rec)
	if r.observe != nil {
		r.observe(*rec)
	}
	return out
}

func (r *Retrier) finish(ctx context.Context, d Describe, last error) error {
	if last == nil {
		return nil
	}
	var aborted *abortError
	if errors.As(last, &aborted) {
		return aborted.err
	}
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if errors.Is(cause, context.DeadlineExceeded) {
			return ragd.WrapError(ragd.EUpstream, fmt.Errorf("%w (last attempt: %w)", cause, last), "%s model %q did not answer in time", d.Provider, d.Model)
		}
		return ragd.WrapError(ragd.EUpstream, cause, "request to %s model %q was cancelled", d.Provider, d.Model)
	}
	return d.ToError(last)
}

func (r *Retrier) log(ctx context.Context, rec *Record) {
	level := slog.LevelInfo
	if rec.Err != nil && rec.Outcome != "canceled" && rec.Outcome != "aborted" {
		level = slog.LevelWarn
	}
	if !r.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String(LogKeyProvider, rec.Provider),
		slog.String(LogKeyOperation, rec.Operation),
		slog.String(LogKeyModel, rec.Model),
		slog.Int(LogKeyAttempts, rec.Attempts),
		slog.Int(LogKeyRetries, rec.Retries),
		slog.Int64(LogKeyLatency, rec.Latency.Milliseconds()),
		slog.String(LogKeyOutcome, rec.Outcome),
	}
	if rec.Operation == OpChat {
		attrs = append(attrs,
			slog.Int64(LogKeyFirstToken, rec.FirstToken.Milliseconds()),
			slog.Int(LogKeyPromptTokens, rec.PromptTokens),
			slog.Int(LogKeyCompletionTokens, rec.CompletionTokens),
			slog.Bool(LogKeyEstimated, rec.Estimated))
	} else {
		attrs = append(attrs, slog.Int(LogKeyInputs, rec.Inputs))
		if rec.PromptTokens > 0 {
			attrs = append(attrs, slog.Int(LogKeyPromptTokens, rec.PromptTokens))
		}
	}
	if rec.GatewayLogID != "" {
		attrs = append(attrs, slog.String(LogKeyGatewayLogID, rec.GatewayLogID))
	}
	if rec.CacheStatus != "" {
		attrs = append(attrs, slog.String(LogKeyCacheStatus, rec.CacheStatus))
	}
	if rec.Status != 0 {
		attrs = append(attrs, slog.Int(LogKeyStatus, rec.Status))
	}
	if rec.Err != nil {
		attrs = append(attrs, slog.String(LogKeyError, rec.Err.Error()))
	}
	r.logger.LogAttrs(ctx, level, "upstream request", attrs...)
}

// sleep waits for d or until ctx is done; it reports whether it waited the
// whole time.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Stream time limits.
var (
	errFirstToken = errors.New("no first token within the time limit")
	errIdle       = errors.New("no next token within the time limit")
)

// Watchdog enforces a stream's time limits: the time to the first token and
// the time between tokens. It cancels the context it returns when a limit
// passes; Progress restarts the clock.
type Watchdog struct {
	timer  *time.Timer
	cancel context.CancelCauseFunc
	idle   time.Duration
	fired  atomic.Bool
	first  bool
}

// NewWatchdog returns a context derived from ctx that is cancelled when no
// progress is made within first (before the first Progress call) or idle
// (between calls). Zero limits are not enforced. Call Stop when done.
func NewWatchdog(ctx context.Context, first, idle time.Duration) (context.Context, *Watchdog) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &Watchdog{cancel: cancel, idle: idle, first: true}
	if first > 0 {
		w.timer = time.AfterFunc(first, func() {
			w.fired.Store(true)
			cancel(errFirstToken)
		})
	} else if idle > 0 {
		w.timer = time.AfterFunc(idle, func() {
			w.fired.Store(true)
			cancel(errIdle)
		})
		w.first = false
	}
	return ctx, w
}

// Progress records that a token arrived.
func (w *Watchdog) Progress() {
	if w.timer == nil {
		return
	}
	if w.first {
		w.first = false
		w.timer.Stop()
		if w.idle <= 0 {
			w.timer = nil
			return
		}
		w.timer = time.AfterFunc(w.idle, func() {
			w.fired.Store(true)
			w.cancel(errIdle)
		})
		return
	}
	w.timer.Reset(w.idle)
}

// Stop releases the watchdog's timer and context.
func (w *Watchdog) Stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.cancel(context.Canceled)
}

// Failure returns a KindTimeout failure wrapping err when the watchdog
// fired, and nil otherwise.
func (w *Watchdog) Failure(ctx context.Context, err error, delivered bool) *Failure {
	if !w.fired.Load() {
		return nil
	}
	return &Failure{Kind: KindTimeout, Err: fmt.Errorf("%w: %w", context.Cause(ctx), err), Delivered: delivered}
}
