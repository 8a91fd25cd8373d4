package jobs

import (
	"context"
	"time"
)

// Store persists jobs and their items, and hands items to workers under
// leases. Implementations: boltstore (one process) and pgstore (any number
// of processes). Both pass the conformance suite in jobstest.
//
// Errors are *ragd.Error: ENotFound for an unknown job, EConflict when a
// task's lease was lost (another worker took the item over), EUnavailable
// when the store cannot be reached.
type Store interface {
	// CreateJob records j (status queued) and its first items.
	CreateJob(ctx context.Context, j Job, items []NewItem) error
	// Job returns a job with its raw counters (no rates, no failures).
	Job(ctx context.Context, id string) (Job, error)
	// Jobs lists jobs, newest first.
	Jobs(ctx context.Context, f Filter) ([]Job, error)
	// Items returns up to limit finished items with Seq > after, in Seq
	// order. Expanded folder sources are not items and never appear.
	Items(ctx context.Context, id string, after int64, limit int) ([]Item, error)
	// Failures returns the first limit failed and skipped items, in Seq
	// order.
	Failures(ctx context.Context, id string, limit int) ([]Item, error)
	// Running returns up to limit items in flight.
	Running(ctx context.Context, id string, limit int) ([]Item, error)
	// Claim leases the next pending item of the oldest queued or running
	// job to c.Owner, marking the job running, and reports false when there
	// is none. Items whose lease expired are pending again; an item whose
	// lease expired after c.MaxAttempts claims is finished as failed with
	// ReasonAttemptsExhausted instead, and one of a cancelled job as
	// cancelled.
	Claim(ctx context.Context, c Claim) (Task, bool, error)
	// Extend renews t's lease. It reports whether t's job was cancelled,
	// and returns EConflict when the lease was lost.
	Extend(ctx context.Context, t Task, lease time.Duration) (cancelled bool, err error)
	// Finish records t's outcome, adds children (new items found by it,
	// ignoring keys the job already has and crawl pages over the crawl's
	// MaxPages) and, when no item is left, ends the job. It returns
	// EConflict when the lease was lost; the outcome is then dropped.
	Finish(ctx context.Context, t Task, out Item, children []NewItem) error
	// Release returns t to pending without counting the attempt, for a
	// worker that stops before finishing it.
	Release(ctx context.Context, t Task) error
	// Cancel cancels a queued or running job: pending items become
	// cancelled at once, items in flight finish or are cancelled by their
	// workers. Cancelling a cancelled job is a no-op; a job that already
	// succeeded or failed is EConflict.
	Cancel(ctx context.Context, id string) (Job, error)
}

// Filter selects jobs for Store.Jobs.
type Filter struct {
	Collection string // "" for all
	Status     string // "" for all
	// Before, when set, lists only jobs created before the job with this ID
	// (a cursor for paging).
	Before string
	Limit  int // at most 1000; 0 means 100
}

// NewItem is an item to add to a job.
type NewItem struct {
	Kind string
	// Key is the item's source key, unique within the job.
	Key   string
	Depth int
	// Group is the index of the job source a crawl page descends from, or
	// -1.
	Group int
	// Done, when set, records the item as already finished with this
	// outcome (a folder entry skipped while listing).
	Done *Item
}

// Claim says who claims an item and for how long.
type Claim struct {
	Owner       string
	Lease       time.Duration
	MaxAttempts int
}

// Task is a claimed item with what a worker needs to process it.
type Task struct {
	JobID      string
	ItemID     int64
	Kind       string
	Key        string
	Depth      int
	Group      int
	Collection string
	Options    Options
	// Crawl is the crawl of the item's group, if any.
	Crawl   *Crawl
	Owner   string
	Attempt int
}

// Added counts a new item in p: pending, or already finished when done is
// not nil. Stores call it so that every store counts alike.
func (p *Progress) Added(kind string, done *Item) {
	if done != nil {
		p.Total++
		p.count(*done)
		return
	}
	if kind == KindPath {
		p.Listing++
	} else {
		p.Total++
	}
}

// Claimed counts an item going from pending to running.
func (p *Progress) Claimed() { p.Running++ }

// Released counts an item going from running back to pending.
func (p *Progress) Released() { p.Running-- }

// Finished counts an item of the given kind reaching its outcome, from
// running (wasRunning) or from pending (a cancelled job).
func (p *Progress) Finished(kind string, wasRunning bool, out Item) {
	if wasRunning {
		p.Running--
	}
	if kind == KindPath {
		p.Listing--
		if out.Status == ItemExpanded {
			return
		}
		p.Total++ // a folder that could not be listed counts as one item
	}
	p.count(out)
}

func (p *Progress) count(out Item) {
	p.Done++
	switch out.Status {
	case "failed":
		p.Failed++
	case "skipped":
		p.Skipped++
	case ItemCancelled:
		p.Cancelled++
	}
	p.Indexed += out.Indexed
	p.Updated += out.Updated
	p.Unchanged += out.Unchanged
	p.Chunks += out.Chunks
	p.Embedded += out.Embedded
	p.Bytes += out.Bytes
}

// Open counts the items not finished yet (pending or running), folder
// sources included.
func (p *Progress) Open() int { return p.Total - p.Done + p.Listing }

// FinalStatus is the status of a job whose items all finished: failed when
// any failed, else succeeded.
func (p *Progress) FinalStatus() string {
	if p.Failed > 0 {
		return StatusFailed
	}
	return StatusSucceeded
}
