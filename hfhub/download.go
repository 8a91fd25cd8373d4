package hfhub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ragd/ragd"
)

// Response headers of the Hub's resolve endpoint. The first response (a
// redirect to the CDN for files stored with Git LFS) describes the file
// the redirect points to.
const (
	headerRepoCommit = "X-Repo-Commit" // the commit the revision resolved to
	headerLinkedEtag = "X-Linked-Etag" // the LFS file's sha256, quoted
	headerLinkedSize = "X-Linked-Size" // the LFS file's size
	headerErrorCode  = "X-Error-Code"  // RepoNotFound, GatedRepo, RevisionNotFound, EntryNotFound, ...
	headerErrorMsg   = "X-Error-Message"
)

// fileMeta is what the Hub says about one file at a commit.
type fileMeta struct {
	name string
	size int64
	etag string // the blob's name in the cache: LFS sha256 or git blob sha1
	lfs  bool   // etag is the sha256 of the content; else its git blob hash
}

// revisionInfo is the answer of GET /api/models/{repo}/revision/{rev}.
type revisionInfo struct {
	commit string
	files  map[string]fileMeta
}

type apiSibling struct {
	RFilename string `json:"rfilename"`
	Size      *int64 `json:"size"`
	BlobID    string `json:"blobId"`
	LFS       *struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"lfs"`
}

// revisionInfo asks the Hub for the commit a revision points to and for its
// files, with sizes and hashes (blobs=true).
func (c *Client) revisionInfo(ctx context.Context, repo, rev string) (revisionInfo, error) {
	u := c.endpoint + "/api/models/" + repo + "/revision/" + url.PathEscape(rev) + "?blobs=true"
	resp, err := c.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return revisionInfo{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return revisionInfo{}, c.statusError(resp, repo, rev, "")
	}
	var body struct {
		SHA      string       `json:"sha"`
		Siblings []apiSibling `json:"siblings"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body); err != nil {
		return revisionInfo{}, ragd.WrapError(ragd.EUpstream, err, "the Hugging Face Hub sent an unreadable answer about %s@%s", repo, rev)
	}
	if !commitSHA.MatchString(body.SHA) {
		return revisionInfo{}, ragd.Errorf(ragd.EUpstream, "the Hugging Face Hub sent no commit hash for %s@%s", repo, rev)
	}
	info := revisionInfo{commit: body.SHA, files: map[string]fileMeta{}}
	for _, s := range body.Siblings {
		m := fileMeta{name: s.RFilename, size: -1}
		switch {
		case s.LFS != nil && s.LFS.SHA256 != "":
			m.etag, m.size, m.lfs = strings.ToLower(s.LFS.SHA256), s.LFS.Size, true
		case s.BlobID != "":
			m.etag = strings.ToLower(s.BlobID)
			if s.Size != nil {
				m.size = *s.Size
			}
		}
		info.files[s.RFilename] = m
	}
	return info, nil
}

// headMeta learns a file's size and hash from the headers of the resolve
// endpoint, for a Hub that does not list them. Like huggingface_hub, it
// follows only relative redirects: the response that redirects to the CDN
// has the headers.
func (c *Client) headMeta(ctx context.Context, repo, commit, name string) (fileMeta, error) {
	u := c.resolveURL(repo, commit, name)
	client := *c.http
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// Follow a relative redirect (a renamed repository), not one to
		// another host (the CDN).
		loc, err := url.Parse(req.Response.Header.Get("Location"))
		if err != nil || loc.Host != "" || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	req, err := c.newRequest(ctx, http.MethodHead, u, nil)
	if err != nil {
		return fileMeta{}, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := client.Do(req)
	if err != nil {
		return fileMeta{}, c.networkError(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fileMeta{}, c.statusError(resp, repo, commit, name)
	}
	m := fileMeta{name: name, size: -1}
	etag := resp.Header.Get(headerLinkedEtag)
	m.lfs = etag != ""
	if etag == "" {
		etag = resp.Header.Get("ETag")
	}
	m.etag = strings.ToLower(strings.Trim(strings.TrimPrefix(etag, "W/"), `"`))
	size := resp.Header.Get(headerLinkedSize)
	if size == "" {
		size = resp.Header.Get("Content-Length")
	}
	if n, err := strconv.ParseInt(size, 10, 64); err == nil {
		m.size = n
	}
	if m.etag == "" || m.size < 0 {
		return fileMeta{}, ragd.Errorf(ragd.EUpstream, "the Hugging Face Hub gave no size or hash for %s of %s", name, repo)
	}
	return m, nil
}

func (c *Client) resolveURL(repo, rev, name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return c.endpoint + "/" + repo + "/resolve/" + url.PathEscape(rev) + "/" + strings.Join(parts, "/")
}

func (c *Client) newRequest(ctx context.Context, method, u string, header http.Header) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, ragd.WrapError(ragd.EInvalid, err, "the Hugging Face endpoint %s is not a valid URL", c.endpoint)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.agent)
	if c.token != "" {
		// The client's CheckRedirect drops it on a redirect to another
		// host (the CDN).
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

func (c *Client) do(ctx context.Context, method, u string, header http.Header) (*http.Response, error) {
	req, err := c.newRequest(ctx, method, u, header)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.networkError(err)
	}
	return resp, nil
}

func (c *Client) networkError(err error) error {
	return ragd.WrapError(ragd.EUnavailable, err, "cannot reach the Hugging Face Hub at %s", c.endpoint)
}

// statusError maps an error answer of the Hub to a ragd error, using the
// X-Error-Code header as huggingface_hub does.
func (c *Client) statusError(resp *http.Response, repo, rev, file string) error {
	code := resp.Header.Get(headerErrorCode)
	cause := fmt.Errorf("%s %s: %s (%s %s)", resp.Request.Method, resp.Request.URL.Redacted(), resp.Status, code, resp.Header.Get(headerErrorMsg))
	tokenHint := "set HF_TOKEN to a token that has access"
	if c.token != "" {
		tokenHint = "check that HF_TOKEN has access"
	}
	switch {
	case code == "GatedRepo":
		ecode := ragd.EUnauthorized
		if c.token != "" {
			ecode = ragd.EForbidden
		}
		return ragd.WrapError(ecode, cause, "the model %s is gated on the Hugging Face Hub: accept its conditions on its page, and %s", repo, tokenHint)
	case code == "RevisionNotFound":
		return ragd.WrapError(ragd.ENotFound, cause, "the model %s has no revision %s on the Hugging Face Hub", repo, rev)
	case code == "EntryNotFound":
		return ragd.WrapError(ragd.ENotFound, cause, "the model %s has no file %s at %s on the Hugging Face Hub", repo, file, rev)
	case code == "RepoNotFound" || resp.StatusCode == http.StatusNotFound ||
		(resp.StatusCode == http.StatusUnauthorized && file == ""):
		return ragd.WrapError(ragd.ENotFound, cause, "the model %s was not found on the Hugging Face Hub (if it is private, %s)", repo, tokenHint)
	case resp.StatusCode == http.StatusUnauthorized:
		return ragd.WrapError(ragd.EUnauthorized, cause, "the Hugging Face Hub refused access to %s: %s", repo, tokenHint)
	case resp.StatusCode == http.StatusForbidden:
		return ragd.WrapError(ragd.EForbidden, cause, "the Hugging Face Hub refused access to %s: %s", repo, tokenHint)
	case resp.StatusCode == http.StatusTooManyRequests:
		e := ragd.WrapError(ragd.ERateLimited, cause, "the Hugging Face Hub is rate limiting downloads; try again later")
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return e
	case resp.StatusCode >= 500:
		return ragd.WrapError(ragd.EUnavailable, cause, "the Hugging Face Hub at %s is failing (%s)", c.endpoint, resp.Status)
	}
	return ragd.WrapError(ragd.EUpstream, cause, "the Hugging Face Hub answered %s for %s", resp.Status, repo)
}

// download fetches the revision's file list and the blobs the cache lacks,
// then links them into the snapshot and records the ref.
func (c *Client) download(ctx context.Context, repo, rev string, files Files, progress func(Progress)) (Snapshot, error) {
	info, err := c.revisionInfo(ctx, repo, rev)
	if err != nil {
		return Snapshot{}, err
	}
	commit := info.commit
	dir := c.repoDir(repo)
	snap := Snapshot{Repo: repo, Revision: commit, Dir: filepath.Join(dir, "snapshots", commit), Source: SourceCache}
	required := map[string]bool{}
	for _, name := range files.Required {
		required[name] = true
	}
	for _, name := range files.all() {
		meta, ok := info.files[name]
		if !ok {
			if required[name] {
				return Snapshot{}, ragd.Errorf(ragd.ENotFound, "the model %s has no file %s at %s on the Hugging Face Hub", repo, name, rev)
			}
			if err := c.markAbsent(repo, commit, name); err != nil {
				return Snapshot{}, err
			}
			continue
		}
		if meta.etag == "" || meta.size < 0 {
			if meta, err = c.headMeta(ctx, repo, commit, name); err != nil {
				return Snapshot{}, err
			}
		}
		if !validEtag(meta.etag) {
			return Snapshot{}, ragd.Errorf(ragd.EUpstream, "the Hugging Face Hub gave %s of %s an invalid hash %q", name, repo, meta.etag)
		}
		fetched, err := c.fetchBlob(ctx, repo, commit, meta, progress)
		if err != nil {
			return Snapshot{}, err
		}
		if fetched {
			snap.Source = SourceHub
		}
		if err := c.link(repo, commit, name, meta.etag); err != nil {
			return Snapshot{}, err
		}
	}
	for _, group := range files.OneOf {
		if !hasAny(snap, group) {
			return Snapshot{}, ragd.Errorf(ragd.ENotFound, "the model %s has none of %s at %s on the Hugging Face Hub", repo, strings.Join(group, ", "), rev)
		}
	}
	if rev != commit {
		ref := filepath.Join(dir, "refs", filepath.FromSlash(rev))
		if b, err := os.ReadFile(ref); err != nil || string(b) != commit {
			if err := writeFileAtomic(ref, []byte(commit)); err != nil {
				return Snapshot{}, ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
			}
		}
	}
	return snap, nil
}

func validEtag(etag string) bool {
	if len(etag) != 40 && len(etag) != 64 {
		return false
	}
	_, err := hex.DecodeString(etag)
	return err == nil
}

// fetchBlob makes sure blobs/ETAG holds the file, downloading (or resuming
// the download of) what is missing. It reports whether it downloaded.
func (c *Client) fetchBlob(ctx context.Context, repo, commit string, meta fileMeta, progress func(Progress)) (bool, error) {
	blobs := filepath.Join(c.repoDir(repo), "blobs")
	blob := filepath.Join(blobs, meta.etag)
	if st, err := os.Stat(blob); err == nil && st.Size() == meta.size {
		return false, nil
	}
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return false, ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	unlock, err := lockFile(ctx, filepath.Join(c.cacheDir, ".locks", repoFolder(repo), meta.etag+".lock"))
	if err != nil {
		return false, err
	}
	defer unlock()
	// Another process may have finished it while we waited.
	if st, err := os.Stat(blob); err == nil && st.Size() == meta.size {
		return false, nil
	}
	partial := blob + ".incomplete"
	if err := c.fetchInto(ctx, repo, commit, meta, partial, progress); err != nil {
		return false, err
	}
	if err := verify(partial, meta); err != nil {
		os.Remove(partial) // a bad blob is never linked; the next try starts over
		return false, ragd.WrapError(ragd.EUpstream, err, "the download of %s from %s failed verification; it was discarded", meta.name, repo)
	}
	if err := os.Rename(partial, blob); err != nil {
		return false, ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	return true, nil
}

// fetchInto downloads the file into partial, resuming from its current
// size with a Range request.
func (c *Client) fetchInto(ctx context.Context, repo, commit string, meta fileMeta, partial string, progress func(Progress)) error {
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	if have > meta.size {
		// Not a prefix of this file: start over.
		if err := f.Truncate(0); err != nil {
			return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
		}
		have = 0
	}
	if have == meta.size {
		return nil
	}
	header := http.Header{}
	if have > 0 {
		header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := c.do(ctx, http.MethodGet, c.resolveURL(repo, commit, meta.name), header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return ragd.Errorf(ragd.EUpstream, "the Hugging Face Hub resumed %s of %s at the wrong place (%q)", meta.name, repo, resp.Header.Get("Content-Range"))
		}
	case resp.StatusCode == http.StatusOK:
		// The server sent the whole file (it ignored or was not asked for a
		// range).
		if err := f.Truncate(0); err != nil {
			return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
		}
		have = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		// What we have cannot be resumed; the next try starts over.
		f.Truncate(0)
		return ragd.Errorf(ragd.EUpstream, "the Hugging Face Hub could not resume %s of %s; run again to restart it", meta.name, repo)
	default:
		return c.statusError(resp, repo, commit, meta.name)
	}
	w := &progressWriter{w: f, p: Progress{File: meta.name, Done: have, Total: meta.size}, fn: progress}
	w.report()
	if _, err := io.Copy(w, io.LimitReader(resp.Body, meta.size-have)); err != nil {
		if ctx.Err() != nil {
			return ragd.WrapError(ragd.EUnavailable, ctx.Err(), "the download of %s from %s was interrupted; run again to resume it", meta.name, repo)
		}
		var werr *writeError
		if errors.As(err, &werr) {
			return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
		}
		return ragd.WrapError(ragd.EUnavailable, err, "the download of %s from %s was interrupted after %d of %d bytes; run again to resume it", meta.name, repo, w.p.Done, meta.size)
	}
	if w.p.Done != meta.size {
		return ragd.Errorf(ragd.EUnavailable, "the download of %s from %s stopped after %d of %d bytes; run again to resume it", meta.name, repo, w.p.Done, meta.size)
	}
	if err := f.Sync(); err != nil {
		return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	return nil
}

// contentRangeStart parses the first byte of "bytes START-END/TOTAL".
func contentRangeStart(v string) (int64, bool) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	start, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(start, 10, 64)
	return n, err == nil
}

// writeError marks a failure to write to disk, as opposed to reading from
// the network.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

type progressWriter struct {
	w  io.Writer
	p  Progress
	fn func(Progress)
}

func (pw *progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.Done += int64(n)
	if err != nil {
		return n, &writeError{err}
	}
	pw.report()
	return n, nil
}

func (pw *progressWriter) report() {
	if pw.fn != nil {
		pw.fn(pw.p)
	}
}

// verify checks a downloaded file's size and hash against what the Hub
// said: the sha256 of an LFS file, or the git blob hash of another.
func verify(path string, meta fileMeta) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != meta.size {
		return fmt.Errorf("%s: %d bytes, the Hub says %d", meta.name, st.Size(), meta.size)
	}
	var h hash.Hash
	kind := "sha256"
	if meta.lfs {
		h = sha256.New()
	} else {
		h = sha1.New()
		kind = "git blob sha1"
		fmt.Fprintf(h, "blob %d\x00", meta.size)
	}
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != meta.etag {
		return fmt.Errorf("%s: %s %s, the Hub says %s", meta.name, kind, got, meta.etag)
	}
	return nil
}

// link points snapshots/COMMIT/NAME at blobs/ETAG with a relative symbolic
// link, as huggingface_hub does.
func (c *Client) link(repo, commit, name, etag string) error {
	dir := c.repoDir(repo)
	dst := filepath.Join(dir, "snapshots", commit, filepath.FromSlash(name))
	blob := filepath.Join(dir, "blobs", etag)
	rel, err := filepath.Rel(filepath.Dir(dst), blob)
	if err != nil {
		return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	if cur, err := os.Readlink(dst); err == nil && cur == rel {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	tmp := dst + ".tmp-link"
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	return nil
}

// markAbsent records that the repository has no such file at the commit,
// with huggingface_hub's .no_exist marker.
func (c *Client) markAbsent(repo, commit, name string) error {
	p := c.noExistPath(repo, commit, name)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return ragd.WrapError(ragd.EInternal, err, "cannot write to the Hugging Face cache")
	}
	return f.Close()
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so readers never see a partial file.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}
