package jobs

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/fetch"
)

var errTooManyFiles = errors.New("too many files")

// run does the work of one item. It returns errInterrupted (and no outcome)
// when ctx ended before the item did.
func (m *Manager) run(ctx context.Context, t Task) (Item, []NewItem, error) {
	switch t.Kind {
	case KindPath:
		return m.runPath(ctx, t)
	case KindFile:
		return m.runFile(ctx, t)
	case KindURL:
		return m.runURL(ctx, t)
	}
	return failed(ragd.EInternal, "Internal error."), nil, nil
}

// runPath lists a folder source into file items.
func (m *Manager) runPath(ctx context.Context, t Task) (Item, []NewItem, error) {
	if m.cfg.Roots == nil {
		return failed(ReasonNoRoots, "Folder sources are not enabled on this server."), nil, nil
	}
	var children []NewItem
	err := m.cfg.Roots.Walk(ctx, t.Key, fetch.WalkOptions{Hidden: t.Options.IncludeHidden}, func(e fetch.Entry) error {
		if len(children) >= m.cfg.MaxItems {
			return errTooManyFiles
		}
		it := NewItem{Kind: KindFile, Key: e.Key, Group: -1}
		if e.Skip != "" {
			it.Done = &Item{Status: ragd.StatusSkipped, Reason: e.Skip, Error: skipMessage(e.Skip)}
		}
		children = append(children, it)
		return nil
	})
	if ctx.Err() != nil {
		return Item{}, nil, errInterrupted
	}
	if errors.Is(err, errTooManyFiles) {
		return failed(fetch.ReasonTooManyFiles, "The folder holds more than the allowed number of files; submit its subfolders as separate sources."), nil, nil
	}
	if err != nil {
		return OutcomeOf(err), nil, nil
	}
	return Item{Status: ItemExpanded}, children, nil
}

// runFile reads one file under a root and ingests it.
func (m *Manager) runFile(ctx context.Context, t Task) (Item, []NewItem, error) {
	if m.cfg.Roots == nil {
		return failed(ReasonNoRoots, "Folder sources are not enabled on this server."), nil, nil
	}
	data, err := m.cfg.Roots.ReadFile(ctx, t.Key)
	if err != nil {
		if ctx.Err() != nil {
			return Item{}, nil, errInterrupted
		}
		out := OutcomeOf(err)
		switch out.Reason {
		case fetch.ReasonPathEscape, fetch.ReasonNotRegular, fetch.ReasonTooLarge:
			out.Status = ragd.StatusSkipped // as if the walk had seen it so
		}
		return out, nil, nil
	}
	out, err := m.ingest(ctx, t, ingest.File{Name: t.Key, Data: data})
	return out, nil, err
}

// runURL fetches a URL, ingests it and, when crawling, adds the same-site
// pages it links to.
func (m *Manager) runURL(ctx context.Context, t Task) (Item, []NewItem, error) {
	if m.cfg.Fetcher == nil {
		return failed(ReasonNoFetcher, "URL sources are not enabled on this server."), nil, nil
	}
	var page *fetch.Page
	err := m.retry(ctx, func() error {
		var err error
		page, err = m.cfg.Fetcher.Fetch(ctx, t.Key)
		return err
	}, func(err error) bool {
		c := ragd.ErrorCode(err)
		return c == ragd.ERateLimited || (c == ragd.EUpstream && fetch.Reason(err) == fetch.ReasonHTTPStatus)
	})
	if err != nil {
		if ctx.Err() != nil {
			return Item{}, nil, errInterrupted
		}
		return OutcomeOf(err), nil, nil
	}
	var children []NewItem
	if t.Crawl != nil && t.Depth < t.Crawl.Depth && isHTML(page) {
		for _, l := range fetch.Links(page.URL, page.Data) {
			if fetch.SameSite(t.Key, l) {
				children = append(children, NewItem{Kind: KindURL, Key: l, Depth: t.Depth + 1, Group: t.Group})
			}
		}
	}
	out, err := m.ingest(ctx, t, ingest.File{Name: t.Key, ContentType: page.ContentType, Data: page.Data})
	return out, children, err
}

func isHTML(p *fetch.Page) bool {
	switch p.ContentType {
	case "text/html", "application/xhtml+xml":
		return true
	case "", "application/octet-stream":
		return strings.HasPrefix(http.DetectContentType(p.Data), "text/html")
	}
	return false
}

// ingest hands a file to the Ingester, retrying transient errors, and turns
// the result into the item's outcome.
func (m *Manager) ingest(ctx context.Context, t Task, f ingest.File) (Item, error) {
	var res []ingest.Result
	err := m.retry(ctx, func() error {
		var err error
		res, err = m.cfg.Ingester.IngestFile(ctx, t.Collection, f, t.Options.Metadata)
		return err
	}, transient)
	if err != nil {
		if ctx.Err() != nil {
			return Item{}, errInterrupted
		}
		out := OutcomeOf(err)
		out.Bytes = int64(len(f.Data))
		if ragd.ErrorCode(err) == ragd.EInternal {
			m.logger.Error("ingesting a job item failed", logKeyJobID, t.JobID, logKeySource, t.Key, logKeyError, err)
		}
		return out, nil
	}
	return Outcome(res, int64(len(f.Data))), nil
}

// Outcome turns the results of ingesting an item's input of size bytes into
// the item's outcome: its documents counted by status, the first one's ID
// and title, and its status, indexed when any document is new, else updated
// when any changed, else unchanged; without documents, skipped as empty.
func Outcome(res []ingest.Result, size int64) Item {
	out := Item{Bytes: size}
	if len(res) == 0 {
		out.Status, out.Reason, out.Error = ragd.StatusSkipped, ReasonEmpty, "No document could be made from it."
		return out
	}
	out.DocumentID, out.Title = res[0].DocumentID, res[0].Title
	for _, r := range res {
		out.Documents++
		switch r.Status {
		case ragd.StatusUnchanged:
			out.Unchanged++
		case ragd.StatusUpdated:
			out.Updated++
		default:
			out.Indexed++
		}
		out.Chunks += r.Chunks
		out.Embedded += r.Embedded
		out.Truncated = out.Truncated || r.Truncated
	}
	switch {
	case out.Indexed > 0:
		out.Status = ragd.StatusIndexed
	case out.Updated > 0:
		out.Status = ragd.StatusUpdated
	default:
		out.Status = ragd.StatusUnchanged
	}
	return out
}

// transient reports whether an ingest error may go away on retry.
func transient(err error) bool {
	switch ragd.ErrorCode(err) {
	case ragd.EUnavailable, ragd.EUpstream, ragd.ERateLimited:
		return true
	}
	return false
}

// retry calls f until it succeeds, fails for good, ctx ends, or Retries
// retries were spent, sleeping an exponential, jittered backoff (at least
// the error's RetryAfter) in between.
func (m *Manager) retry(ctx context.Context, f func() error, retryable func(error) bool) error {
	for attempt := 0; ; attempt++ {
		err := f()
		if err == nil || ctx.Err() != nil || !retryable(err) || attempt >= m.cfg.Retries {
			return err
		}
		d := min(m.cfg.RetryBase<<attempt, m.cfg.RetryMax)
		d = d/2 + rand.N(d/2+1)
		d = max(d, ragd.ErrorRetryAfter(err))
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
}

// reasoned is an error that names its cause more precisely than its ragd
// code, as the extract package's failures do ("too_many_pages").
type reasoned interface{ FailureReason() string }

// OutcomeOf turns an error into a failed item, with the most specific
// reason: the fetch package's, else the extraction's, else the ragd error
// code. Types ragd cannot extract are skipped rather than failed, with the
// code as their reason.
func OutcomeOf(err error) Item {
	code := ragd.ErrorCode(err)
	reason := fetch.Reason(err)
	var r reasoned
	if reason == "" && code != ragd.EUnsupported && code != ragd.EInternal && errors.As(err, &r) {
		reason = r.FailureReason()
	}
	if reason == "" {
		reason = code
	}
	out := failed(reason, ragd.ErrorMessage(err))
	if code == ragd.EUnsupported {
		out.Status = ragd.StatusSkipped
	}
	return out
}

func failed(reason, msg string) Item {
	return Item{Status: ragd.StatusFailed, Reason: reason, Error: msg}
}

func skipMessage(reason string) string {
	switch reason {
	case fetch.ReasonPathEscape:
		return "It leads outside the allowed folders (a symlink out, or a loop)."
	case fetch.ReasonNotRegular:
		return "It is not a regular file."
	case fetch.ReasonTooLarge:
		return "It is larger than the file size limit."
	case fetch.ReasonNotFound:
		return "It is a symlink to nothing."
	}
	return "It was skipped."
}
