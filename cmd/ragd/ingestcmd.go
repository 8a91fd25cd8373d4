package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/fetch"
	"github.com/ragd/ragd/ingest/jobs"
	"github.com/ragd/ragd/ingest/jobs/boltstore"
)

// maxIngestFile bounds one file read by `ragd ingest`.
const maxIngestFile = 100 << 20

// uploadRetries and uploadRetryBase bound the retries of an upload the
// server answered as unavailable, rate limited or failed upstream.
const (
	uploadRetries   = 3
	uploadRetryBase = 500 * time.Millisecond
)

// listedSkips caps the skipped items a summary lists (failed ones are
// listed in full, up to the job's own cap).
const listedSkips = 20

// defaultUploadConcurrency is how many files `ragd ingest` uploads at once.
const defaultUploadConcurrency = 4

const ingestSummary = `Ingest files, directories (recursively) and URLs into a collection.

Against a server (--server, $RAGD_URL or the url key; default
http://localhost:8080), files and directories are read here and uploaded,
--concurrency at a time, since the server cannot read this machine's disk;
URLs are submitted as one server job (POST /v1/jobs) that the server fetches
under its URL policy. Both run at once and share one progress display and
one summary, in which "items" counts files and URLs together; the job's ID is
printed so that it can be followed with GET /v1/jobs/ID.

With --local, everything runs in-process against the configured store as one
job of the job engine, its state kept in DATA_DIR/jobs.db (no server may be
running on the same data directory). The job may read the directories
given and the directories of the files given, nothing else.

Documents are named by their folder: the files of a directory "docs" become
"docs/...", a file "a/b/c.md" becomes "b/c.md"; URLs are named by their URL.

Resuming: run the same command again. Documents already ingested come back
"unchanged" (same content) and cost no embedding. With --local, an unfinished
job with the same arguments is resumed where it stopped; unfinished jobs of
other --local runs (or of a server) on the same data directory are finished
first, or cancelled when their folders have the same names as this run's.
Against a server, a job with the same URLs that is still running is followed
instead of submitting another.

Output: a progress bar on stderr when it is a terminal, plain progress lines
otherwise; each failed item as it fails; a summary on stdout at the end.

Exit status: 0 when every item was ingested, unchanged or skipped (types ragd
cannot extract are skipped, as are special files); 1 when some items failed
(the summary lists them with their reason), the server could not be reached,
or the run was interrupted; 2 for usage errors (no argument, a missing path,
a URL that is not http or https).`

// usageError is a command-line mistake: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// ingestArgs are the classified arguments of `ragd ingest`.
type ingestArgs struct {
	paths []string // cleaned, as given
	urls  []string
}

// classifyArgs splits arguments into paths, which must exist, and URLs.
func classifyArgs(args []string) (ingestArgs, error) {
	var a ingestArgs
	for _, arg := range args {
		if scheme, _, ok := strings.Cut(arg, "://"); ok && !strings.ContainsAny(scheme, `/\`) {
			u, err := url.Parse(arg)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				return a, usagef("%q is not an http or https URL", arg)
			}
			if !slices.Contains(a.urls, arg) {
				a.urls = append(a.urls, arg)
			}
			continue
		}
		if _, err := os.Stat(arg); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return a, usagef("%s: no such file or directory", arg)
			}
			return a, usagef("%s: %v", arg, errors.Unwrap(err))
		}
		p := filepath.Clean(arg)
		if !slices.Contains(a.paths, p) {
			a.paths = append(a.paths, p)
		}
	}
	return a, nil
}

func runIngest(ctx context.Context, env *Env, args []string) error {
	f := newFlags(env, "ingest", "PATH_OR_URL...", ingestSummary)
	collection := f.String("collection", "default", "collection to ingest into")
	local := f.Bool("local", false, "run the job engine in-process against the configured store instead of a server")
	concurrency := f.Int("concurrency", defaultUploadConcurrency, "files uploaded at once (server mode)")
	f.config("url", "ragd server URL (default http://localhost:8080, or $RAGD_URL)")
	f.Func("server", "the same as --url", func(v string) error {
		f.overrides["url"] = v
		return nil
	})
	f.config("data_dir", "data directory, with --local")
	f.config("embedder", "embedder of the collection, if ingest creates it")
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error()}
	}
	if f.NArg() == 0 {
		f.Usage()
		return usagef("ingest needs at least one path or URL")
	}
	if *concurrency < 1 || *concurrency > 64 {
		return usagef("--concurrency must be between 1 and 64")
	}
	if err := ragd.ValidateCollectionName(*collection); err != nil {
		return &usageError{msg: ragd.ErrorMessage(err)}
	}
	a, err := classifyArgs(f.Args())
	if err != nil {
		return err
	}
	cfg, err := f.load()
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	d := newDisplay(env)
	if *local {
		return ingestLocal(ctx, env, cfg, *collection, a, d)
	}
	return ingestServer(ctx, cfg, *collection, *concurrency, a, d)
}

// display combines the progress of client-side uploads and of one job into
// one progress display and one summary. It is safe for concurrent use.
type display struct {
	mu     sync.Mutex
	env    *Env
	r      *jobs.Renderer
	start  time.Time
	up     jobs.Progress // uploads done by this command
	job    jobs.Progress // the job's latest progress
	base   int           // items the job had finished before this run
	seen   bool          // a job event arrived
	jobID  string
	final  *jobs.Job
	active []string // uploads in flight
	fails  []jobs.Item
}

func newDisplay(env *Env) *display {
	r := jobs.NewRenderer(env.Stderr, isTerminal(env.Stderr))
	if n, err := strconv.Atoi(env.Getenv("COLUMNS")); err == nil && n >= 40 {
		r.Width = n
	}
	return &display{env: env, r: r, start: time.Now()}
}

// progress is the combined progress, with rates measured over this run.
func (d *display) progress() jobs.Progress {
	p := d.job
	u := d.up
	p.Total += u.Total
	p.Done += u.Done
	p.Failed += u.Failed
	p.Skipped += u.Skipped
	p.Running += u.Running
	p.Indexed += u.Indexed
	p.Updated += u.Updated
	p.Unchanged += u.Unchanged
	p.Chunks += u.Chunks
	p.Embedded += u.Embedded
	p.Bytes += u.Bytes
	el := time.Since(d.start)
	p.ElapsedMS = el.Milliseconds()
	p.DocsPerSecond, p.ChunksPerSecond, p.ETAMS = 0, 0, -1
	if s := el.Seconds(); s > 0 {
		p.DocsPerSecond = float64(p.Done-d.base) / s
		p.ChunksPerSecond = float64(p.Chunks) / s
	}
	if p.Listing == 0 && p.DocsPerSecond > 0 && p.Total >= p.Done {
		p.ETAMS = int64(float64(p.Total-p.Done) / p.DocsPerSecond * 1000)
	}
	return p
}

// draw renders the combined state; d.mu is held.
func (d *display) draw(typ string, it *jobs.Item, running []string) {
	ev := jobs.Event{Type: typ, JobID: d.jobID, Progress: d.progress(), Item: it}
	ev.Running = append(append(ev.Running, d.active...), running...)
	d.r.Render(ev)
}

// addUploads counts files about to be uploaded and files skipped while
// walking.
func (d *display) addUploads(n int, skipped []jobs.Item) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.up.Total += n + len(skipped)
	for _, it := range skipped {
		d.countUpload(false, it)
	}
	d.draw(jobs.EventProgress, nil, nil)
}

func (d *display) uploadStarted(source string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.up.Claimed()
	d.active = append(d.active, source)
}

func (d *display) uploadFinished(it jobs.Item) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removeActive(it.Source)
	d.countUpload(true, it)
	d.draw(jobs.EventItem, &it, nil)
}

// uploadAborted takes back an upload that stopped without an outcome (the
// run is ending).
func (d *display) uploadAborted(source string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.up.Released()
	d.removeActive(source)
}

// removeActive drops an upload from those in flight; d.mu is held.
func (d *display) removeActive(source string) {
	if i := slices.Index(d.active, source); i >= 0 {
		d.active = slices.Delete(d.active, i, i+1)
	}
}

// countUpload adds a finished upload to the counters, as the job engine
// counts its items; d.mu is held.
func (d *display) countUpload(wasRunning bool, it jobs.Item) {
	d.up.Finished(jobs.KindFile, wasRunning, it)
	if it.Status == ragd.StatusFailed || it.Status == ragd.StatusSkipped {
		d.fails = append(d.fails, it)
	}
}

// jobEvent takes one event of the job.
func (d *display) jobEvent(ev jobs.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.seen {
		d.seen, d.base = true, ev.Progress.Done
	}
	d.jobID = ev.JobID
	d.job = ev.Progress
	typ := ev.Type
	if typ == jobs.EventDone {
		d.final, typ = ev.Job, jobs.EventProgress
	}
	d.draw(typ, ev.Item, ev.Running)
}

// catchUp takes the items a job finished between a stream's start and the
// last item seen, which the stream does not repeat, and shows the failed
// ones. fetch lists the finished items after a sequence number.
func (d *display) catchUp(ev jobs.Event, lastSeq *int64, fetch func(after int64) ([]jobs.Item, error)) {
	upto := ev.Seq
	if ev.Item != nil {
		upto = ev.Item.Seq - 1
	}
	for *lastSeq < upto {
		items, err := fetch(*lastSeq)
		if err != nil || len(items) == 0 {
			break
		}
		for i := range items {
			if items[i].Seq > upto {
				break
			}
			*lastSeq = items[i].Seq
			if items[i].Status == ragd.StatusFailed {
				d.mu.Lock()
				d.draw(jobs.EventItem, &items[i], nil)
				d.mu.Unlock()
			}
		}
	}
	*lastSeq = max(*lastSeq, ev.Seq)
}

// jobStarted shows a job's progress as submitted or found.
func (d *display) jobStarted(j jobs.Job) {
	d.jobEvent(jobs.Event{Type: jobs.EventProgress, JobID: j.ID, Status: j.Status, Progress: j.Progress})
}

// summary clears the progress display and prints the summary on stdout.
// It returns an error when items failed.
func (d *display) summary(collection string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.r.Render(jobs.Event{Type: jobs.EventDone}) // clears the bar
	p := d.progress()
	w := d.env.Stdout
	fmt.Fprintf(w, "Ingested %s into %q in %s\n", plural(p.Done, "item"), collection, time.Since(d.start).Round(time.Millisecond))
	fmt.Fprintf(w, "  documents: %d new, %d updated, %d unchanged, %d failed, %d skipped\n",
		p.Indexed, p.Updated, p.Unchanged, p.Failed, p.Skipped)
	fmt.Fprintf(w, "  chunks:    %d, %d of them embedded\n", p.Chunks, p.Embedded)
	cancelled := d.final != nil && d.final.Status == jobs.StatusCancelled
	switch {
	case cancelled:
		fmt.Fprintf(w, "  job:       %s, cancelled: %d items not run\n", d.jobID, p.Cancelled)
	case d.jobID != "":
		fmt.Fprintf(w, "  job:       %s\n", d.jobID)
	}
	var failed, skipped []jobs.Item
	all := d.fails
	if d.final != nil {
		all = slices.Concat(all, d.final.Failures)
	}
	for _, it := range all {
		if it.Status == ragd.StatusFailed {
			failed = append(failed, it)
		} else {
			skipped = append(skipped, it)
		}
	}
	printItems := func(title string, total int, items []jobs.Item, limit int) {
		if total == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, total)
		items = items[:min(len(items), limit)]
		for _, it := range items {
			fmt.Fprintf(w, "  %s: %s\n", it.Source, itemReason(it))
		}
		if more := total - len(items); more > 0 {
			fmt.Fprintf(w, "  ... and %d more\n", more)
		}
	}
	printItems("Failed", p.Failed, failed, len(failed))
	printItems("Skipped", p.Skipped, skipped, listedSkips)
	switch {
	case p.Failed > 0:
		return fmt.Errorf("%d of %d items failed", p.Failed, p.Done)
	case cancelled:
		return fmt.Errorf("job %s was cancelled", d.jobID)
	}
	return nil
}

// interrupted clears the progress display and says how to resume.
func (d *display) interrupted(how string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.r.Render(jobs.Event{Type: jobs.EventDone})
	p := d.progress()
	fmt.Fprintf(d.env.Stdout, "Interrupted after %d of %d items (%d new, %d updated, %d unchanged, %d failed); %s\n",
		p.Done, p.Total, p.Indexed, p.Updated, p.Unchanged, p.Failed, how)
	return errors.New("interrupted; run the same command again to finish")
}

// plural writes n and a noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func itemReason(it jobs.Item) string {
	if it.Error == "" {
		return it.Reason
	}
	return it.Reason + ": " + it.Error
}

// localFile is a file found under the paths given to `ragd ingest`.
type localFile struct {
	path   string // path on disk
	source string // source name: its folder's name, then its path inside
	size   int64
}

// walkPaths lists the files under paths, in a stable order, named as the
// job engine names files under its roots: a directory's files by the
// directory's name and their path inside it, a file by the name of the
// directory it is in and its own. Hidden files and directories are left
// out; symlinks to files are read, symlinked directories are not walked,
// other special files are returned as skipped items.
func walkPaths(paths []string) ([]localFile, []jobs.Item, error) {
	var out []localFile
	var skipped []jobs.Item
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, nil, err
		}
		info, err := os.Stat(abs)
		if err != nil {
			return nil, nil, err
		}
		if !info.IsDir() {
			src := filepath.Base(filepath.Dir(abs)) + "/" + filepath.Base(abs)
			if !info.Mode().IsRegular() {
				skipped = append(skipped, skippedItem(src, fetch.ReasonNotRegular, "It is not a regular file."))
				continue
			}
			out = append(out, localFile{path: abs, source: src, size: info.Size()})
			continue
		}
		base := filepath.Base(abs)
		err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				rel, _ := filepath.Rel(abs, path)
				skipped = append(skipped, skippedItem(base+"/"+filepath.ToSlash(rel), "unreadable", "It could not be read."))
				if d != nil && d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if path != abs && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(abs, path)
			if err != nil {
				return err
			}
			src := base + "/" + filepath.ToSlash(rel)
			fi, err := os.Stat(path) // follows a symlink
			switch {
			case err != nil:
				skipped = append(skipped, skippedItem(src, fetch.ReasonNotFound, "It is a symlink to nothing."))
			case fi.Mode().IsRegular():
				out = append(out, localFile{path: path, source: src, size: fi.Size()})
			case !fi.IsDir():
				skipped = append(skipped, skippedItem(src, fetch.ReasonNotRegular, "It is not a regular file."))
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].source < out[j].source })
	out = slices.CompactFunc(out, func(a, b localFile) bool { return a.source == b.source })
	return out, skipped, nil
}

func skippedItem(source, reason, msg string) jobs.Item {
	return jobs.Item{Source: source, Kind: jobs.KindFile, Status: ragd.StatusSkipped, Reason: reason, Error: msg}
}

// ingestServer uploads files and runs URLs as a server job.
func ingestServer(ctx context.Context, cfg Config, collection string, concurrency int, a ingestArgs, d *display) error {
	c := newClient(cfg.URL, cfg.APIKey)
	if err := c.health(ctx); err != nil {
		return err
	}
	files, skipped, err := walkPaths(a.paths)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var jobID string
	var jobSeq int64
	if len(a.urls) > 0 {
		spec := jobs.Spec{Collection: collection}
		for _, u := range a.urls {
			spec.Sources = append(spec.Sources, jobs.Source{URL: u})
		}
		j, found, err := findServerJob(ctx, c, spec)
		if err != nil {
			return err
		}
		if found {
			fmt.Fprintf(d.env.Stderr, "following job %s with the same URLs, still %s on the server: %d of %d items done\n", j.ID, j.Status, j.Progress.Done, j.Progress.Total)
		} else if j, err = c.submitJob(ctx, spec); err != nil {
			return fmt.Errorf("submit the URL job: %w", err)
		}
		jobID, jobSeq = j.ID, j.Seq
		d.jobStarted(j)
	}
	d.addUploads(len(files), skipped)

	var (
		wg       sync.WaitGroup
		fatalMu  sync.Mutex
		fatal    error
		setFatal = func(err error) {
			fatalMu.Lock()
			if fatal == nil {
				fatal = err
			}
			fatalMu.Unlock()
			cancel()
		}
	)
	if jobID != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := followServerJob(ctx, c, jobID, jobSeq, d); err != nil && ctx.Err() == nil {
				setFatal(err)
			}
		}()
	}
	work := make(chan localFile)
	for range min(concurrency, max(len(files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lf := range work {
				d.uploadStarted(lf.source)
				it, err := uploadOne(ctx, c, collection, lf)
				if err != nil {
					if ctx.Err() == nil {
						setFatal(err)
					}
					d.uploadAborted(lf.source)
					continue
				}
				d.uploadFinished(it)
			}
		}()
	}
feed:
	for _, lf := range files {
		select {
		case work <- lf:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if ctx.Err() == nil {
		return d.summary(collection)
	}
	// Interrupted, or stopped by a fatal error (which cancelled ctx).
	how := "run the same command again to finish: files already done come back unchanged"
	if jobID != "" {
		how += fmt.Sprintf("; the server goes on with job %s", jobID)
		if fatal == nil {
			how += ", which the next run follows"
		}
	}
	if err := d.interrupted(how); fatal == nil {
		return err
	}
	return fatal
}

// findServerJob finds a queued or running server job with spec's
// collection and sources.
func findServerJob(ctx context.Context, c *client, spec jobs.Spec) (jobs.Job, bool, error) {
	js, err := c.jobs(ctx, spec.Collection, 50)
	if err != nil {
		return jobs.Job{}, false, err
	}
	for _, j := range js {
		if (j.Status == jobs.StatusQueued || j.Status == jobs.StatusRunning) && sameSources(j.Sources, spec.Sources) {
			return j, true, nil
		}
	}
	return jobs.Job{}, false, nil
}

func sameSources(a, b []jobs.Source) bool {
	return slices.EqualFunc(a, b, func(x, y jobs.Source) bool {
		return x.Path == y.Path && x.URL == y.URL && (x.Crawl == nil) == (y.Crawl == nil)
	})
}

// followServerJob streams a server job's events into d until the job ends,
// reconnecting while the server restarts (for up to a minute).
func followServerJob(ctx context.Context, c *client, id string, seq int64, d *display) error {
	var deadline time.Time
	fetch := func(after int64) ([]jobs.Item, error) { return c.jobItems(ctx, id, after, 1000) }
	for {
		done := false
		err := c.jobEvents(ctx, id, func(ev jobs.Event) error {
			deadline = time.Time{}
			d.catchUp(ev, &seq, fetch)
			d.jobEvent(ev)
			done = ev.Type == jobs.EventDone
			return nil
		})
		if done || ctx.Err() != nil {
			return nil
		}
		switch ragd.ErrorCode(err) {
		case ragd.EUnavailable, ragd.EUpstream:
		default:
			return err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(time.Minute)
		} else if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// uploadOne uploads one file and turns the answer into the file's item. It
// returns an error only when the server cannot be reached (or ctx ended).
func uploadOne(ctx context.Context, c *client, collection string, lf localFile) (jobs.Item, error) {
	it := jobs.Item{Source: lf.source, Kind: jobs.KindFile, Bytes: lf.size}
	data, err := readBounded(lf.path, maxIngestFile)
	if err != nil {
		it.Status, it.Reason, it.Error = ragd.StatusFailed, "unreadable", errorLine(err)
		if ragd.ErrorCode(err) == ragd.ETooLarge {
			it.Status, it.Reason = ragd.StatusSkipped, ragd.ETooLarge
		}
		return it, nil
	}
	it.Bytes = int64(len(data))
	var rs []documentResult
	for attempt := 0; ; attempt++ {
		rs, err = c.upload(ctx, collection, []uploadFile{{Name: lf.source, Data: data}})
		if err == nil || ctx.Err() != nil {
			break
		}
		code := ragd.ErrorCode(err)
		if code == ragd.EUnavailable && !isServerError(err) {
			return it, err // the server cannot be reached: stop the run
		}
		if code != ragd.EUnavailable && code != ragd.ERateLimited && code != ragd.EUpstream {
			break
		}
		if attempt == uploadRetries {
			if code == ragd.EUnavailable {
				return it, err // the server keeps refusing work: stop the run
			}
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(uploadRetryBase << attempt):
		}
	}
	if err != nil && ctx.Err() != nil {
		return it, ctx.Err()
	}
	// The outcome as the job engine makes it. A file may make documents and
	// then fail on the rest of it (records of a CSV or JSON Lines file): the
	// documents before the error still count.
	failure := err
	var res []ingest.Result
	for _, r := range rs {
		if r.Error != nil {
			failure = &ragd.Error{Code: r.Error.Code, Message: r.Error.Message}
			break
		}
		res = append(res, ingest.Result{DocumentID: r.ID, Title: r.Title, Status: r.Status, Chunks: r.Chunks, Embedded: r.Embedded})
	}
	out := jobs.Outcome(res, it.Bytes)
	if failure != nil {
		f := jobs.OutcomeOf(failure)
		out.Status, out.Reason, out.Error = f.Status, f.Reason, f.Error
	}
	out.Source, out.Kind = it.Source, it.Kind
	return out, nil
}

// isServerError reports whether err is an error the server answered with
// (as opposed to a connection that failed).
func isServerError(err error) bool {
	var e *ragd.Error
	return errors.As(err, &e) && errors.Unwrap(e) == nil
}

// rootSet is the folders a --local job engine may read, by base name (the
// first element of its source keys, so base names must differ).
type rootSet struct {
	dirs  []string
	names map[string]string
}

// add adds dir (absolute) and reports false when another folder of the same
// base name is in the set already.
func (rs *rootSet) add(dir string) bool {
	if rs.names == nil {
		rs.names = map[string]string{}
	}
	name := filepath.Base(dir)
	if other, ok := rs.names[name]; ok {
		return other == dir
	}
	rs.names[name] = dir
	rs.dirs = append(rs.dirs, dir)
	return true
}

func (rs *rootSet) clone() *rootSet {
	return &rootSet{dirs: slices.Clone(rs.dirs), names: maps.Clone(rs.names)}
}

// sourceRoot is the folder that makes a path source readable: the path
// itself for a directory, its directory for a file. It reports false for a
// path that does not exist or is not absolute.
func sourceRoot(p string) (string, bool) {
	if !filepath.IsAbs(p) {
		return "", false
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", false
	}
	if fi.IsDir() {
		return filepath.Clean(p), true
	}
	return filepath.Dir(p), true
}

// localSources turns the paths of a --local run into job sources and the
// folders that make them readable: each directory, and the directory of
// each file.
func localSources(a ingestArgs) (*rootSet, []jobs.Source, error) {
	rs := &rootSet{}
	var sources []jobs.Source
	for _, p := range a.paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, nil, err
		}
		root, ok := sourceRoot(abs)
		if !ok {
			return nil, nil, usagef("%s: no such file or directory", p)
		}
		if name := filepath.Base(root); name == string(filepath.Separator) || name == "." {
			return nil, nil, usagef("%s: ingesting the file system root is not supported; give its folders", p)
		}
		if !rs.add(root) {
			return nil, nil, usagef("%s and %s are both named %q; documents are named by their folder, so ingest them in separate runs",
				rs.names[filepath.Base(root)], root, filepath.Base(root))
		}
		sources = append(sources, jobs.Source{Path: abs})
	}
	for _, u := range a.urls {
		sources = append(sources, jobs.Source{URL: u})
	}
	return rs, sources, nil
}

// unfinishedJobs lists the queued and running jobs of the job store in
// dataDir, oldest first. The store is closed again for the app to open.
func unfinishedJobs(ctx context.Context, dataDir string) ([]jobs.Job, error) {
	path := filepath.Join(dataDir, "jobs.db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var out []jobs.Job
	for _, status := range []string{jobs.StatusRunning, jobs.StatusQueued} {
		js, err := st.Jobs(ctx, jobs.Filter{Status: status, Limit: 1000})
		if err != nil {
			return nil, err
		}
		out = append(out, js...)
	}
	slices.SortFunc(out, func(a, b jobs.Job) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// ingestLocal runs the arguments as a job of an in-process job engine,
// resuming an unfinished job with the same arguments. Other unfinished jobs
// of the store are finished too (the engine runs the oldest first), or
// cancelled when their folders clash by name with this run's.
func ingestLocal(ctx context.Context, env *Env, cfg Config, collection string, a ingestArgs, d *display) error {
	rs, sources, err := localSources(a)
	if err != nil {
		return err
	}
	earlier, err := unfinishedJobs(ctx, cfg.DataDir)
	if ragd.ErrorCode(err) == ragd.EUnavailable {
		return ragd.WrapError(ragd.EUnavailable, err, "the data directory %s is in use by another ragd process: ingest through that server without --local, or stop it first", cfg.DataDir)
	}
	if err != nil {
		return err
	}
	for _, r := range cfg.IngestRoots {
		if abs, err := filepath.Abs(r); err == nil {
			if _, ok := sourceRoot(abs); ok {
				rs.add(abs)
			}
		}
	}
	var (
		job      jobs.Job
		found    bool
		others   []jobs.Job
		clashing []jobs.Job
	)
	for _, j := range earlier {
		if !found && j.Collection == collection && sameSources(j.Sources, sources) {
			job, found = j, true
			continue
		}
		// A job's folders join the readable set all together or not at
		// all: a cancelled job's folders must not make a later job clash.
		trial := rs.clone()
		ok := true
		for _, s := range j.Sources {
			if root, exists := sourceRoot(s.Path); exists && !trial.add(root) {
				ok = false
			}
		}
		if ok {
			rs = trial
			others = append(others, j)
		} else {
			clashing = append(clashing, j)
		}
	}
	cfg.IngestRoots = rs.dirs
	app, err := localApp(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer app.Close()
	m, run := app.Jobs, app.RunJobs
	if cfg.Store == "postgres" {
		// The app's jobs are the servers' shared queue in Postgres, where a
		// server could take this run's items without the folders to read
		// them: --local jobs stay in the data directory's job file.
		if m, err = privateJobs(app, cfg); err != nil {
			return err
		}
		defer m.Close()
		run = func(ctx context.Context) {
			if err := m.Run(ctx); err != nil && ctx.Err() == nil {
				app.Logger.Error("job runner stopped", "err", err)
			}
		}
	}
	for _, j := range clashing {
		if _, err := m.Cancel(ctx, j.ID); err != nil && ragd.ErrorCode(err) != ragd.EConflict {
			return err
		}
		fmt.Fprintf(env.Stderr, "cancelled unfinished job %s of an earlier run: its folders are named like this run's (its finished documents stay)\n", j.ID)
	}
	if len(others) > 0 {
		left := 0
		for _, j := range others {
			left += j.Progress.Open()
		}
		fmt.Fprintf(env.Stderr, "finishing %d earlier unfinished job(s) of this data directory first (%d items left)\n", len(others), left)
	}
	if found {
		fmt.Fprintf(env.Stderr, "resuming job %s: %d of %d items done\n", job.ID, job.Progress.Done, job.Progress.Total)
	} else if job, err = m.Submit(ctx, jobs.Spec{Collection: collection, Sources: sources}); err != nil {
		return err
	}
	d.jobStarted(job)

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go run(runCtx)
	events, err := m.Events(ctx, job.ID)
	if err != nil {
		return err
	}
	ended := false
	seq := job.Seq
	fetch := func(after int64) ([]jobs.Item, error) { return m.Items(ctx, job.ID, after, 1000) }
	for ev := range events {
		d.catchUp(ev, &seq, fetch)
		d.jobEvent(ev)
		ended = ended || ev.Type == jobs.EventDone
	}
	if !ended {
		return d.interrupted(fmt.Sprintf("run the same command again to resume job %s", job.ID))
	}
	// The earlier jobs ran first, but their last items may still be in
	// flight: let them finish rather than hand them back.
	for _, j := range others {
		evs, err := m.Events(ctx, j.ID)
		if err != nil {
			break
		}
		for range evs {
		}
	}
	return d.summary(collection)
}

// privateJobs returns a job manager over the job file in the data directory,
// with the app's ingester, the folders of cfg and its URL policy; closing
// the app closes the file.
func privateJobs(app *App, cfg Config) (*jobs.Manager, error) {
	var roots *fetch.Roots
	if len(cfg.IngestRoots) > 0 {
		var err error
		if roots, err = fetch.NewRoots(fetch.RootsConfig{Paths: cfg.IngestRoots}); err != nil {
			return nil, err
		}
	}
	fc, err := cfg.fetchConfig()
	if err != nil {
		return nil, err
	}
	fetcher, err := fetch.New(fc)
	if err != nil {
		return nil, err
	}
	st, err := boltstore.Open(filepath.Join(cfg.DataDir, "jobs.db"), boltstore.Options{})
	if err != nil {
		return nil, fmt.Errorf("job store: %w", err)
	}
	m, err := jobs.New(jobs.Config{Store: st, Ingester: app.Ingest, Roots: roots, Fetcher: fetcher, Logger: app.Logger})
	if err != nil {
		st.Close()
		return nil, err
	}
	app.closers = append(app.closers, st.Close)
	return m, nil
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > limit {
		return nil, ragd.Errorf(ragd.ETooLarge, "%s is %d bytes; the limit is %d", path, info.Size(), limit)
	}
	return os.ReadFile(path)
}
