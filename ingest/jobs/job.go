// Package jobs runs batch ingest jobs: lists of server-side folders and URLs
// ingested into a collection, item by item, with a bounded number of items in
// flight, per-item outcomes, progress events, cancellation, and persistence,
// so that a job interrupted by a crash or restart resumes where it stopped.
//
// A [Manager] drives jobs over a [Store]: [github.com/ragd/ragd/ingest/jobs/boltstore]
// keeps them in a local file for the embedded default, and
// [github.com/ragd/ragd/ingest/jobs/pgstore] keeps them in Postgres, where any
// number of ragd processes claim items under expiring leases.
//
// A job's sources expand into items: a folder source is listed into one item
// per file, a URL is one item, and a crawled URL adds the same-site pages it
// links to as further items up to the crawl's caps. Each item is read (from
// its root or from the network) and handed to the [Ingester]; ingestion is
// idempotent by source key and content hash, so an item redone after a crash
// costs no embedding.
package jobs

import (
	"context"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// Ingester ingests one file into a collection; *ingest.Service satisfies it.
// f.Name is the item's stable source key. Errors are *ragd.Error:
// EUnsupported for a type it cannot extract, EInvalid for a damaged, empty or
// encrypted file, and EUnavailable, EUpstream or ERateLimited for transient
// trouble, which the Manager retries.
type Ingester interface {
	IngestFile(ctx context.Context, collection string, f ingest.File, metadata map[string]any) ([]ingest.Result, error)
}

// Job statuses.
const (
	StatusQueued    = "queued"    // waiting for a worker
	StatusRunning   = "running"   // items are being processed
	StatusSucceeded = "succeeded" // every item finished and none failed
	StatusFailed    = "failed"    // every item finished and at least one failed
	StatusCancelled = "cancelled" // cancelled; items not started were not run
)

// Item statuses, besides ragd.StatusIndexed, StatusUpdated, StatusUnchanged,
// StatusFailed and StatusSkipped.
const (
	ItemPending   = "pending"   // not started
	ItemRunning   = "running"   // claimed by a worker
	ItemCancelled = "cancelled" // its job was cancelled before it finished
	// ItemExpanded marks a folder source whose files were added as items;
	// such items are internal and never listed.
	ItemExpanded = "expanded"
)

// Item kinds.
const (
	KindPath = "path" // a folder source, expanded into file items
	KindFile = "file" // one file under a root
	KindURL  = "url"  // one URL
)

// Reasons recorded for items, besides the fetch package's reasons and the
// ragd error codes.
const (
	ReasonUnsupported       = ragd.EUnsupported    // no extractor for the type
	ReasonEmpty             = "empty"              // ingestion produced no document
	ReasonAttemptsExhausted = "attempts_exhausted" // workers died on the item too often
	ReasonNoRoots           = "folders_disabled"   // no ingest roots are configured
	ReasonNoFetcher         = "urls_disabled"      // URL fetching is not configured
)

// Spec is what a client submits: the sources of a job and its options.
type Spec struct {
	Collection string   `json:"collection"`
	Sources    []Source `json:"sources"`
	Options    Options  `json:"options,omitzero"`
}

// Source is one input of a job: exactly one of Path and URL.
type Source struct {
	// Path is a server-side file or folder: absolute, or relative and
	// starting with the name of an allowed root. Folders are walked
	// recursively.
	Path string `json:"path,omitempty"`
	// URL is an http or https URL.
	URL string `json:"url,omitempty"`
	// Crawl, with a URL, also ingests the same-site pages it links to.
	Crawl *Crawl `json:"crawl,omitempty"`
}

// Crawl bounds a same-site crawl from a URL source.
type Crawl struct {
	// Depth is how many links away from the seed pages may be [1].
	Depth int `json:"depth"`
	// MaxPages caps the pages fetched, the seed included [50].
	MaxPages int `json:"max_pages"`
}

// Options tune a job.
type Options struct {
	// Metadata is attached to every document of the job.
	Metadata map[string]any `json:"metadata,omitempty"`
	// IncludeHidden includes files and folders whose names start with ".".
	IncludeHidden bool `json:"include_hidden,omitempty"`
}

// Job is a submitted job with its state and progress.
type Job struct {
	ID         string   `json:"id"`
	Collection string   `json:"collection"`
	Sources    []Source `json:"sources"`
	Options    Options  `json:"options,omitzero"`
	Status     string   `json:"status"`
	Progress   Progress `json:"progress"`
	// Seq is the Seq of the job's latest finished item (0 before any).
	Seq int64 `json:"seq"`
	// Failures lists failed and skipped items (the first 100 by Manager.Job
	// and in the final event; none in lists).
	Failures   []Item     `json:"failures,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Ended reports whether the job is over: its status is final and no item is
// still in flight.
func (j *Job) Ended() bool {
	switch j.Status {
	case StatusSucceeded, StatusFailed:
		return true
	case StatusCancelled:
		return j.Progress.Running == 0
	}
	return false
}

// Progress counts a job's items and the documents they produced.
type Progress struct {
	// Total is the number of items known so far; it grows while folder
	// sources are listed (Listing > 0) and while a crawl finds pages.
	Total int `json:"total"`
	// Done counts items that finished, whatever their outcome; Failed,
	// Skipped and Cancelled are the parts of Done that did not succeed.
	Done      int `json:"done"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
	Cancelled int `json:"cancelled,omitempty"`
	// Running counts items in flight.
	Running int `json:"running"`
	// Listing counts folder sources not yet listed.
	Listing int `json:"listing,omitempty"`
	// Indexed, Updated and Unchanged count documents by ingest status (a
	// CSV or JSONL file may yield many documents).
	Indexed   int `json:"indexed"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// Chunks counts the chunks of the documents ingested; Embedded those
	// that needed an embedding call.
	Chunks   int `json:"chunks"`
	Embedded int `json:"embedded"`
	// Bytes counts the input bytes read.
	Bytes int64 `json:"bytes"`
	// DocsPerSecond and ChunksPerSecond are finished items and chunks per
	// second of the job's running time.
	DocsPerSecond   float64 `json:"docs_per_second"`
	ChunksPerSecond float64 `json:"chunks_per_second"`
	// ElapsedMS is the running time so far, or in all once the job ended.
	ElapsedMS int64 `json:"elapsed_ms"`
	// ETAMS estimates the time left, or is -1 when unknown.
	ETAMS int64 `json:"eta_ms"`
}

// derive fills the rates, elapsed time and estimate from the counters.
func (p *Progress) derive(started, finished *time.Time, now time.Time) {
	p.ETAMS = -1
	if started == nil {
		return
	}
	end := now
	if finished != nil {
		end = *finished
	}
	el := end.Sub(*started)
	if el < 0 {
		el = 0
	}
	p.ElapsedMS = el.Milliseconds()
	if el <= 0 {
		return
	}
	p.DocsPerSecond = float64(p.Done) / el.Seconds()
	p.ChunksPerSecond = float64(p.Chunks) / el.Seconds()
	if finished != nil {
		p.ETAMS = 0
		return
	}
	if p.Listing == 0 && p.Done > 0 && p.Total >= p.Done {
		p.ETAMS = int64(float64(p.Total-p.Done) / p.DocsPerSecond * 1000)
	}
}

// Item is one unit of work of a job and, once finished, its outcome.
type Item struct {
	// Seq orders finished items within their job (1, 2, ...); 0 while the
	// item has not finished.
	Seq int64 `json:"seq"`
	// Source is the item's source key: the file's root name and path, or
	// the URL.
	Source string `json:"source"`
	Kind   string `json:"kind"`
	// Status is pending, running, or the outcome: ragd.StatusIndexed,
	// StatusUpdated, StatusUnchanged, StatusFailed, StatusSkipped, or
	// cancelled.
	Status string `json:"status"`
	// Reason says why an item failed or was skipped: a fetch reason
	// (ssrf, too_large, timeout, http_status, path_escape, not_regular,
	// ...), an extraction reason (parse_error, too_many_pages,
	// decompressed_too_large, unsafe_path, too_deep, memory_limit, ...), a
	// ragd error code (invalid, unsupported_media_type, upstream, ...), or
	// one of this package's reasons.
	Reason string `json:"reason,omitempty"`
	// Error is a user-facing message for failed and skipped items.
	Error string `json:"error,omitempty"`
	// DocumentID and Title are those of the item's (first) document.
	DocumentID string `json:"document_id,omitempty"`
	Title      string `json:"title,omitempty"`
	// Documents counts the documents the item yielded, by ingest status.
	Documents int  `json:"documents,omitempty"`
	Indexed   int  `json:"indexed,omitempty"`
	Updated   int  `json:"updated,omitempty"`
	Unchanged int  `json:"unchanged,omitempty"`
	Chunks    int  `json:"chunks,omitempty"`
	Embedded  int  `json:"embedded,omitempty"`
	Truncated bool `json:"truncated,omitempty"`
	// Bytes is the size of the input read.
	Bytes int64 `json:"bytes,omitempty"`
	// Depth is the crawl depth of a URL item (0 for sources).
	Depth int `json:"depth,omitempty"`
	// Attempts counts the times a worker claimed the item.
	Attempts   int        `json:"attempts"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// terminal reports whether status is an item outcome.
func terminal(status string) bool {
	switch status {
	case ItemPending, ItemRunning:
		return false
	}
	return true
}

// Event is one progress event of a job, as Manager.Events delivers it and
// the API streams it.
type Event struct {
	// Type is "progress" (a snapshot, first on subscribe and whenever the
	// counters change), "item" (an item finished) or "done" (the job ended;
	// always the last event).
	Type   string `json:"type"`
	JobID  string `json:"job_id"`
	Status string `json:"status"`
	// Seq is the Seq of the latest finished item this stream has seen.
	Seq      int64    `json:"seq"`
	Progress Progress `json:"progress"`
	// Item is the item that finished, for "item" events.
	Item *Item `json:"item,omitempty"`
	// Running lists up to 8 items in flight.
	Running []string `json:"running,omitempty"`
	// Job is the final job, failures included, for the "done" event.
	Job *Job `json:"job,omitempty"`
}

// Event types.
const (
	EventProgress = "progress"
	EventItem     = "item"
	EventDone     = "done"
)
