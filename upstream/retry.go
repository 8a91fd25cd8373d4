package upstream

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Policy configures retries. The zero value of each field means its
// default.
type Policy struct {
	// MaxAttempts is the most attempts one request makes, the first
	// included. Default 3.
	MaxAttempts int
	// BaseDelay is the backoff's first ceiling; it doubles per retry.
	// Default 250 ms.
	BaseDelay time.Duration
	// MaxDelay caps the backoff ceiling. Default 8 s.
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After ragd waits out within one
	// request; a longer one ends the request with a rate_limited error that
	// carries it. Default 20 s.
	MaxRetryAfter time.Duration
	// BudgetRatio is the share of requests that may be retried, over time,
	// per client (the retry budget). Default 0.1.
	BudgetRatio float64
	// BudgetReserve is how many retries the budget allows before any
	// request has paid into it, and its cap. Default 10.
	BudgetReserve int
}

// WithDefaults returns p with every unset field set to its default.
func (p Policy) WithDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 8 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 20 * time.Second
	}
	if p.BudgetRatio <= 0 {
		p.BudgetRatio = 0.1
	}
	if p.BudgetReserve <= 0 {
		p.BudgetReserve = 10
	}
	return p
}

// Backoff returns the delay before retry number retry (1 for the first
// retry): a uniformly random duration in [0, min(MaxDelay,
// BaseDelay*2^(retry-1))] ("full jitter"), raised to retryAfter when the
// upstream asked for longer. rnd returns a float in [0, 1); nil uses
// math/rand/v2.
func (p Policy) Backoff(retry int, retryAfter time.Duration, rnd func() float64) time.Duration {
	p = p.WithDefaults()
	if retry < 1 {
		retry = 1
	}
	ceiling := p.MaxDelay
	if shift := retry - 1; shift < 30 {
		if c := p.BaseDelay << shift; c > 0 && c < ceiling {
			ceiling = c
		}
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	d := time.Duration(rnd() * float64(ceiling))
	if d < retryAfter {
		d = retryAfter
	}
	return d
}

// ParseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
// It returns 0 when the header is absent or unreadable.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || secs > 365*24*3600 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Budget limits retries to a share of requests, per client, so that a
// failing upstream does not see ragd multiply its load (a retry storm).
// Every request deposits Ratio tokens, every retry withdraws one; the
// balance starts at, and never exceeds, Reserve. Over any stretch of time,
// retries ≤ Ratio × requests + Reserve. It is safe for concurrent use.
type Budget struct {
	mu      sync.Mutex
	ratio   float64
	reserve float64
	balance float64
}

// NewBudget returns a budget allowing ratio retries per request and reserve
// retries up front.
func NewBudget(ratio float64, reserve int) *Budget {
	return &Budget{ratio: ratio, reserve: float64(reserve), balance: float64(reserve)}
}

// Deposit records one request.
func (b *Budget) Deposit() {
	b.mu.Lock()
	b.balance = min(b.balance+b.ratio, b.reserve)
	b.mu.Unlock()
}

// Withdraw takes one retry from the budget and reports whether there was
// one to take.
func (b *Budget) Withdraw() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.balance < 1 {
		return false
	}
	b.balance--
	return true
}

// Balance returns how many retries the budget holds now.
func (b *Budget) Balance() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.balance
}
