package upstream

import (
	"sync"
	"time"
)

// BreakerState is a circuit breaker's state, as exported to metrics.
type BreakerState int

// Breaker states.
const (
	BreakerClosed   BreakerState = iota // calls go through
	BreakerOpen                         // calls fail fast after consecutive upstream failures
	BreakerHalfOpen                     // one probe call is allowed through
	BreakerQuota                        // the account's allocation is used up until its reset
)

// String returns the state's name.
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half_open"
	case BreakerQuota:
		return "quota"
	}
	return "unknown"
}

// BreakerConfig configures a Breaker. Zero fields take their defaults.
type BreakerConfig struct {
	// Threshold is how many consecutive failed requests open the breaker.
	// Default 5.
	Threshold int
	// Cooldown is how long the breaker stays open before it lets one probe
	// through. Default 30 s.
	Cooldown time.Duration
	// QuotaProbeInterval is how often, while an allocation is used up, one
	// request is let through to notice an early reset (a plan upgrade).
	// Default 10 min.
	QuotaProbeInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Breaker is a circuit breaker for one upstream account. It opens after
// Threshold consecutive failed requests and lets one probe through after
// Cooldown; it also holds a quota state, opened by TripQuota, that fails
// requests fast until the allocation resets. It is safe for concurrent use.
type Breaker struct {
	cfg BreakerConfig

	mu          sync.Mutex
	failures    int
	openUntil   time.Time // zero when closed
	probing     bool
	quotaUntil  time.Time
	quotaProbe  time.Time // when the next quota probe may go
	quotaActive bool
}

// NewBreaker returns a closed breaker.
func NewBreaker(cfg BreakerConfig) *Breaker {
	if cfg.Threshold <= 0 {
		cfg.Threshold = 5
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = 30 * time.Second
	}
	if cfg.QuotaProbeInterval <= 0 {
		cfg.QuotaProbeInterval = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Breaker{cfg: cfg}
}

// Ticket is a permission to call the upstream; pass it back to Done.
type Ticket struct {
	probe      bool
	quotaProbe bool
}

// Outcome is how a request ended, as far as the breaker cares.
type Outcome int

// Outcomes.
const (
	OutcomeSuccess Outcome = iota // the upstream answered
	OutcomeFailure                // the upstream is unhealthy (5xx, capacity, network, broken stream)
	OutcomeNeutral                // nothing learnt (the request was bad, or the caller went away)
)

// Allow asks to call the upstream. It returns a KindQuota or
// KindBreakerOpen failure, with RetryAfter set, when the call must not be
// made.
func (b *Breaker) Allow() (Ticket, *Failure) {
	now := b.cfg.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.quotaActive {
		if !now.Before(b.quotaUntil) {
			b.quotaActive = false
		} else if now.Before(b.quotaProbe) {
			return Ticket{}, &Failure{Kind: KindQuota, RetryAfter: b.quotaUntil.Sub(now), Detail: "allocation used up; not calling until the reset"}
		} else {
			b.quotaProbe = now.Add(b.cfg.QuotaProbeInterval)
			return Ticket{quotaProbe: true}, nil
		}
	}
	if b.openUntil.IsZero() {
		return Ticket{}, nil
	}
	if now.Before(b.openUntil) || b.probing {
		wait := b.openUntil.Sub(now)
		if wait <= 0 {
			wait = time.Second
		}
		return Ticket{}, &Failure{Kind: KindBreakerOpen, RetryAfter: wait, Detail: "circuit breaker open after consecutive failures"}
	}
	b.probing = true
	return Ticket{probe: true}, nil
}

// Done reports how a request that Allow let through ended.
func (b *Breaker) Done(t Ticket, o Outcome) {
	now := b.cfg.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.probe {
		b.probing = false
	}
	if t.quotaProbe && o == OutcomeSuccess {
		b.quotaActive = false
	}
	switch o {
	case OutcomeSuccess:
		b.failures = 0
		b.openUntil = time.Time{}
	case OutcomeFailure:
		b.failures++
		if t.probe || b.failures >= b.cfg.Threshold {
			b.openUntil = now.Add(b.cfg.Cooldown)
		}
	}
}

// TripQuota fails requests fast until until, letting one through every
// QuotaProbeInterval.
func (b *Breaker) TripQuota(until time.Time) {
	now := b.cfg.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.quotaActive = true
	b.quotaUntil = until
	b.quotaProbe = now.Add(b.cfg.QuotaProbeInterval)
}

// State returns the breaker's state now.
func (b *Breaker) State() BreakerState {
	now := b.cfg.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.quotaActive && now.Before(b.quotaUntil):
		return BreakerQuota
	case b.openUntil.IsZero():
		return BreakerClosed
	case now.Before(b.openUntil):
		return BreakerOpen
	}
	return BreakerHalfOpen
}

// NextUTCMidnight returns the first 00:00 UTC after t: when Workers AI's
// daily neuron allocation resets.
func NextUTCMidnight(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), u.Day()+1, 0, 0, 0, 0, time.UTC)
}
