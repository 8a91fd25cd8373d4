package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/fetch"
)

// Fetcher fetches a URL; *fetch.Fetcher satisfies it.
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string) (*fetch.Page, error)
}

// Defaults for [Config].
const (
	DefaultConcurrency   = 2
	DefaultMaxAttempts   = 3
	DefaultRetries       = 3
	DefaultRetryBase     = 500 * time.Millisecond
	DefaultRetryMax      = 30 * time.Second
	DefaultLease         = 2 * time.Minute
	DefaultPollInterval  = time.Second
	DefaultMaxItems      = 100_000
	DefaultMaxSources    = 10_000
	DefaultCrawlDepth    = 1
	DefaultCrawlPages    = 50
	DefaultMaxCrawlDepth = 5
	DefaultMaxCrawlPages = 1000
	// failuresListed caps Job.Failures.
	failuresListed = 100
)

// Log attribute keys.
const (
	logKeyJobID  = "job_id"
	logKeySource = "source"
	logKeyError  = "error"
)

// Config configures a [Manager]. Store and Ingester are required.
type Config struct {
	Store    Store
	Ingester Ingester
	// Roots are the folders path sources may read; nil refuses path
	// sources (items fail with ReasonNoRoots).
	Roots *fetch.Roots
	// Fetcher fetches URL sources; nil refuses them (ReasonNoFetcher).
	Fetcher Fetcher
	// Concurrency bounds the items this process works on at once [2].
	Concurrency int
	// MaxAttempts bounds the claims of one item across worker deaths [3].
	MaxAttempts int
	// Retries bounds the retries of a transient ingest or fetch error
	// within one attempt [3], with exponential backoff from RetryBase
	// [500 ms] to RetryMax [30 s], at least the error's RetryAfter.
	Retries   int
	RetryBase time.Duration
	RetryMax  time.Duration
	// Lease is how long a claimed item stays this process's without
	// renewal [2 min]; leases are renewed every third of it.
	Lease time.Duration
	// PollInterval is how often idle workers look for work that other
	// processes added, and event streams for progress made elsewhere [1 s].
	PollInterval time.Duration
	// MaxItems caps the files one folder source may list [100,000].
	MaxItems int
	// MaxSources caps the sources of one job [10,000].
	MaxSources int
	// MaxCrawlDepth and MaxCrawlPages cap what a source's crawl may ask
	// for [5, 1,000].
	MaxCrawlDepth int
	MaxCrawlPages int
	// Owner names this process in leases [hostname-pid-random].
	Owner  string
	Logger *slog.Logger
	// Now is the clock for rates and estimates [time.Now].
	Now func() time.Time
}

// Manager runs batch ingest jobs. Submit, Job, Jobs, Items, Cancel and
// Events may be called whether or not Run is running; Run processes items
// until its context ends or Close is called.
type Manager struct {
	cfg    Config
	logger *slog.Logger

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever local work changes state
	inflight map[string]map[int64]*flight
	running  bool
	stopRun  context.CancelFunc
	runDone  chan struct{}

	closing   chan struct{}
	closeOnce sync.Once
	streams   sync.WaitGroup
}

// flight is an item in progress in this process.
type flight struct {
	cancel    context.CancelFunc
	cancelled bool // its job was cancelled (guarded by Manager.mu)
}

// New returns a Manager for cfg, with defaults for its zero fields.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil || cfg.Ingester == nil {
		return nil, ragd.Errorf(ragd.EInternal, "jobs: Store and Ingester are required")
	}
	if f, ok := cfg.Fetcher.(*fetch.Fetcher); ok && f == nil {
		cfg.Fetcher = nil // a typed nil means no fetcher
	}
	setDefault(&cfg.Concurrency, DefaultConcurrency)
	setDefault(&cfg.MaxAttempts, DefaultMaxAttempts)
	setDefault(&cfg.MaxItems, DefaultMaxItems)
	setDefault(&cfg.MaxSources, DefaultMaxSources)
	setDefault(&cfg.MaxCrawlDepth, DefaultMaxCrawlDepth)
	setDefault(&cfg.MaxCrawlPages, DefaultMaxCrawlPages)
	if cfg.Retries < 0 {
		cfg.Retries = 0
	} else if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	setDefault(&cfg.RetryBase, DefaultRetryBase)
	setDefault(&cfg.RetryMax, DefaultRetryMax)
	setDefault(&cfg.Lease, DefaultLease)
	setDefault(&cfg.PollInterval, DefaultPollInterval)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), NewID()[:8])
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		cfg:      cfg,
		logger:   logger.With("component", "jobs"),
		changed:  make(chan struct{}),
		inflight: make(map[string]map[int64]*flight),
		closing:  make(chan struct{}),
	}, nil
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// NewID returns a random 128-bit identifier in hex (S-TEN-4: unguessable,
// no relation between successive IDs).
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	return hex.EncodeToString(b[:])
}

// notify wakes idle workers and event streams.
func (m *Manager) notify() {
	m.mu.Lock()
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
}

// changes returns a channel closed at the next notify.
func (m *Manager) changes() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// Submit validates spec and queues a job for it. Errors: EInvalid for a bad
// spec (no sources, a source with both or neither of path and url, crawl
// caps out of range, a bad collection name).
func (m *Manager) Submit(ctx context.Context, spec Spec) (Job, error) {
	items, err := m.validate(&spec)
	if err != nil {
		return Job{}, err
	}
	now := m.cfg.Now().UTC()
	j := Job{
		ID:         NewID(),
		Collection: spec.Collection,
		Sources:    spec.Sources,
		Options:    spec.Options,
		Status:     StatusQueued,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	for _, it := range items {
		j.Progress.Added(it.Kind, it.Done)
	}
	if err := m.cfg.Store.CreateJob(ctx, j, items); err != nil {
		return Job{}, fmt.Errorf("create job: %w", err)
	}
	m.notify()
	j.Progress.derive(nil, nil, now)
	return j, nil
}

func (m *Manager) validate(spec *Spec) ([]NewItem, error) {
	if err := ragd.ValidateCollectionName(spec.Collection); err != nil {
		return nil, err
	}
	if len(spec.Sources) == 0 {
		return nil, ragd.Errorf(ragd.EInvalid, "a job needs at least one source")
	}
	if len(spec.Sources) > m.cfg.MaxSources {
		return nil, ragd.Errorf(ragd.EInvalid, "a job may have at most %d sources, got %d", m.cfg.MaxSources, len(spec.Sources))
	}
	items := make([]NewItem, 0, len(spec.Sources))
	for i := range spec.Sources {
		s := &spec.Sources[i]
		switch {
		case (s.Path == "") == (s.URL == ""):
			return nil, ragd.Errorf(ragd.EInvalid, "sources[%d] must have exactly one of path and url", i)
		case s.Path != "":
			if s.Crawl != nil {
				return nil, ragd.Errorf(ragd.EInvalid, "sources[%d]: crawl applies to url sources only", i)
			}
			items = append(items, NewItem{Kind: KindPath, Key: s.Path, Group: -1})
		default:
			key, err := fetch.NormalizeURL(s.URL)
			if err != nil {
				key = s.URL // fails as invalid_url when processed
			}
			group := -1
			if s.Crawl != nil {
				c := *s.Crawl
				if c.Depth == 0 {
					c.Depth = DefaultCrawlDepth
				}
				if c.MaxPages == 0 {
					c.MaxPages = DefaultCrawlPages
				}
				if c.Depth < 0 || c.Depth > m.cfg.MaxCrawlDepth {
					return nil, ragd.Errorf(ragd.EInvalid, "sources[%d].crawl.depth must be between 1 and %d", i, m.cfg.MaxCrawlDepth)
				}
				if c.MaxPages < 0 || c.MaxPages > m.cfg.MaxCrawlPages {
					return nil, ragd.Errorf(ragd.EInvalid, "sources[%d].crawl.max_pages must be between 1 and %d", i, m.cfg.MaxCrawlPages)
				}
				s.Crawl = &c
				group = i
			}
			items = append(items, NewItem{Kind: KindURL, Key: key, Group: group})
		}
	}
	return items, nil
}

// Job returns the job with its progress and its first failed and skipped
// items. Returns ENotFound for an unknown ID.
func (m *Manager) Job(ctx context.Context, id string) (Job, error) {
	j, err := m.cfg.Store.Job(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if j.Failures, err = m.cfg.Store.Failures(ctx, id, failuresListed); err != nil {
		return Job{}, fmt.Errorf("job failures: %w", err)
	}
	j.Progress.derive(j.StartedAt, j.FinishedAt, m.cfg.Now())
	return j, nil
}

// Jobs lists jobs, newest first, without their failures.
func (m *Manager) Jobs(ctx context.Context, f Filter) ([]Job, error) {
	js, err := m.cfg.Store.Jobs(ctx, f)
	if err != nil {
		return nil, err
	}
	now := m.cfg.Now()
	for i := range js {
		js[i].Progress.derive(js[i].StartedAt, js[i].FinishedAt, now)
	}
	return js, nil
}

// Items returns up to limit (at most 1000) finished items of a job with Seq
// greater than after, in the order they finished.
func (m *Manager) Items(ctx context.Context, id string, after int64, limit int) ([]Item, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	if _, err := m.cfg.Store.Job(ctx, id); err != nil {
		return nil, err
	}
	return m.cfg.Store.Items(ctx, id, after, limit)
}

// Cancel cancels a job: items not started are not run and items in flight
// in this process are interrupted at once (in other processes, at their next
// lease renewal). Returns ENotFound for an unknown ID and EConflict for a job
// that already succeeded or failed.
func (m *Manager) Cancel(ctx context.Context, id string) (Job, error) {
	j, err := m.cfg.Store.Cancel(ctx, id)
	if err != nil {
		return Job{}, err
	}
	m.mu.Lock()
	for _, f := range m.inflight[id] {
		f.cancelled = true
		f.cancel()
	}
	m.mu.Unlock()
	m.notify()
	j.Progress.derive(j.StartedAt, j.FinishedAt, m.cfg.Now())
	return j, nil
}

// Run processes items with Concurrency workers until ctx ends or Close is
// called, and returns nil then. Items in flight when it stops are released
// for the next start (or another process) to redo.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return ragd.Errorf(ragd.EConflict, "jobs: Run is already running")
	}
	select {
	case <-m.closing:
		m.mu.Unlock()
		return nil
	default:
	}
	ctx, cancel := context.WithCancel(ctx)
	m.running, m.stopRun, m.runDone = true, cancel, make(chan struct{})
	done := m.runDone
	m.mu.Unlock()
	defer func() {
		cancel()
		close(done)
	}()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.cfg.Concurrency)
	for range m.cfg.Concurrency {
		g.Go(func() error {
			m.worker(gctx)
			return nil
		})
	}
	return g.Wait()
}

// Close stops Run, waiting for its workers to release their items, and ends
// every event stream.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closeOnce.Do(func() { close(m.closing) })
	stop, done := m.stopRun, m.runDone
	m.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	m.streams.Wait()
	return nil
}

// worker claims and processes items one at a time until ctx ends.
func (m *Manager) worker(ctx context.Context) {
	backoff := m.cfg.PollInterval
	for ctx.Err() == nil {
		wake := m.changes()
		t, ok, err := m.cfg.Store.Claim(ctx, Claim{Owner: m.cfg.Owner, Lease: m.cfg.Lease, MaxAttempts: m.cfg.MaxAttempts})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.logger.Warn("claiming a job item failed", logKeyError, err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = m.cfg.PollInterval
		if !ok {
			timer := time.NewTimer(m.cfg.PollInterval)
			select {
			case <-ctx.Done():
			case <-wake:
			case <-timer.C:
			}
			timer.Stop()
			continue
		}
		// Another worker may find work too (a job with many items).
		m.notify()
		m.process(ctx, t)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// errInterrupted reports that an item stopped without an outcome because
// its context ended.
var errInterrupted = errors.New("item interrupted")

// process runs one claimed item and records its outcome.
func (m *Manager) process(ctx context.Context, t Task) {
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	fl := &flight{cancel: cancel}
	m.mu.Lock()
	if m.inflight[t.JobID] == nil {
		m.inflight[t.JobID] = make(map[int64]*flight)
	}
	m.inflight[t.JobID][t.ItemID] = fl
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.inflight[t.JobID], t.ItemID)
		if len(m.inflight[t.JobID]) == 0 {
			delete(m.inflight, t.JobID)
		}
		m.mu.Unlock()
	}()

	// Keep the lease while the item runs; learn of cancellation by other
	// processes and of a lost lease.
	var lost bool
	keeperDone := make(chan struct{})
	stopKeeper := make(chan struct{})
	go func() {
		defer close(keeperDone)
		// Renew often enough to learn of a cancellation in another
		// process within a few poll intervals.
		tick := time.NewTicker(min(m.cfg.Lease/3, 5*m.cfg.PollInterval))
		defer tick.Stop()
		for {
			select {
			case <-stopKeeper:
				return
			case <-ictx.Done():
				return
			case <-tick.C:
			}
			cancelled, err := m.cfg.Store.Extend(ictx, t, m.cfg.Lease)
			switch {
			case ragd.ErrorCode(err) == ragd.EConflict:
				m.mu.Lock()
				lost = true
				m.mu.Unlock()
				cancel()
				return
			case err != nil:
				if ictx.Err() == nil {
					m.logger.Warn("renewing a job item lease failed", logKeyJobID, t.JobID, logKeyError, err)
				}
			case cancelled:
				m.mu.Lock()
				fl.cancelled = true
				m.mu.Unlock()
				cancel()
				return
			}
		}
	}()

	out, children, err := m.run(ictx, t)
	close(stopKeeper)
	<-keeperDone

	m.mu.Lock()
	jobCancelled, leaseLost := fl.cancelled, lost
	m.mu.Unlock()
	if err != nil {
		switch {
		case leaseLost:
			return // another worker has the item now
		case jobCancelled:
			out, children = Item{Status: ItemCancelled, Reason: "cancelled", Error: "The job was cancelled."}, nil
		default:
			// This process is stopping: hand the item back for the next
			// start or another process, without counting the attempt.
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := m.cfg.Store.Release(rctx, t); err != nil {
				m.logger.Warn("releasing a job item failed; it is redone when its lease expires", logKeyJobID, t.JobID, logKeyError, err)
			}
			rcancel()
			return
		}
	}
	m.finish(ctx, t, out, children)
}

// finish records an outcome, retrying while the store is unavailable. An
// outcome reached just as the process stops is still recorded if the store
// answers within a few seconds, so that the item is not redone.
func (m *Manager) finish(ctx context.Context, t Task, out Item, children []NewItem) {
	backoff := m.cfg.RetryBase
	for {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := m.cfg.Store.Finish(fctx, t, out, children)
		cancel()
		if err == nil {
			m.notify()
			return
		}
		if ragd.ErrorCode(err) == ragd.EConflict {
			return // lease lost: the new owner records the outcome
		}
		if ctx.Err() != nil {
			return // stopping: the lease expires and the item is redone
		}
		m.logger.Warn("recording a job item outcome failed; retrying", logKeyJobID, t.JobID, logKeyError, err)
		sleep(ctx, backoff)
		backoff = min(2*backoff, m.cfg.RetryMax)
	}
}
