package hfhub_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHub serves model repositories the way the Hugging Face Hub does:
// the revision API with blobs=true, the resolve endpoint (small files
// directly, LFS files through a redirect to a CDN path carrying
// X-Linked-Etag, X-Linked-Size and X-Repo-Commit), Range requests, and
// the Hub's error answers with their X-Error-Code header.
type fakeHub struct {
	srv    *httptest.Server
	cdn    *httptest.Server // another host, as the Hub's CDN is
	prefix string           // path prefix, as a mirror's HF_ENDPOINT may have

	mu       sync.Mutex
	repos    map[string]*fakeRepo
	requests []fakeRequest
}

type fakeRepo struct {
	refs    map[string]string               // branch -> commit
	commits map[string]map[string]*fakeFile // commit -> files
	gated   bool                            // needs token
	token   string                          // the token that has access
	noBlobs bool                            // the API ignores blobs=true
}

type fakeFile struct {
	data    []byte
	lfs     bool
	claimed string // when set, the hash the Hub claims instead of the real one
	drop    int    // when > 0, the next download is cut after this many bytes
}

type fakeRequest struct {
	Method, Path, Range, Auth string
}

func newFakeHub(t *testing.T, prefix string) *fakeHub {
	t.Helper()
	h := &fakeHub{repos: map[string]*fakeRepo{}, prefix: prefix}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.cdn.Close)
	return h
}

func (h *fakeHub) endpoint() string { return h.srv.URL + h.prefix }

// addCommit adds a commit with the given files to a repository and points
// main at it.
func (h *fakeHub) addCommit(repo, commit string, files map[string]*fakeFile) *fakeRepo {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.repos[repo]
	if r == nil {
		r = &fakeRepo{refs: map[string]string{}, commits: map[string]map[string]*fakeFile{}}
		h.repos[repo] = r
	}
	r.commits[commit] = files
	r.refs["main"] = commit
	return r
}

func (h *fakeHub) reqs() []fakeRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]fakeRequest(nil), h.requests...)
}

func (h *fakeHub) resetRequests() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = nil
}

func gitBlobSHA(data []byte) string {
	s := sha1.New()
	fmt.Fprintf(s, "blob %d\x00", len(data))
	s.Write(data)
	return hex.EncodeToString(s.Sum(nil))
}

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// etag is the hash the Hub gives for a file: its sha256 for LFS files, its
// git blob hash for others.
func (f *fakeFile) etag() string {
	if f.claimed != "" {
		return f.claimed
	}
	if f.lfs {
		return sha256Hex(f.data)
	}
	return gitBlobSHA(f.data)
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	http.Error(w, fmt.Sprintf(`{"error":%q}`, msg), status)
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests = append(h.requests, fakeRequest{r.Method, r.URL.Path, r.Header.Get("Range"), r.Header.Get("Authorization")})
	h.mu.Unlock()
	if sha, ok := strings.CutPrefix(r.URL.Path, "/cdn/"); ok {
		h.serveCDN(w, r, sha)
		return
	}
	p, ok := strings.CutPrefix(r.URL.Path, h.prefix+"/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rest, ok := strings.CutPrefix(p, "api/models/"); ok {
		repo, rev, ok := strings.Cut(rest, "/revision/")
		if !ok || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		h.serveAPI(w, r, repo, rev)
		return
	}
	// ORG/NAME/resolve/REV/FILE
	parts := strings.SplitN(p, "/", 5)
	if len(parts) != 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	h.serveResolve(w, r, parts[0]+"/"+parts[1], parts[3], parts[4])
}

// access answers for the repository's access rules, as the Hub does: an
// unknown repository is 401 without a token and 404 with one; a gated one
// is 401 without the right token (403 with another token).
func (h *fakeHub) access(w http.ResponseWriter, r *http.Request, repo string) (*fakeRepo, bool) {
	h.mu.Lock()
	rp := h.repos[repo]
	h.mu.Unlock()
	auth := r.Header.Get("Authorization")
	if rp == nil {
		status := http.StatusUnauthorized
		if auth != "" {
			status = http.StatusNotFound
		}
		hubError(w, status, "RepoNotFound", "Repository Not Found for url: "+r.URL.String()+".")
		return nil, false
	}
	if rp.gated && auth != "Bearer "+rp.token {
		status := http.StatusUnauthorized
		if auth != "" {
			status = http.StatusForbidden
		}
		hubError(w, status, "GatedRepo", "Access to model "+repo+" is restricted.")
		return nil, false
	}
	return rp, true
}

func (h *fakeHub) commitFor(rp *fakeRepo, rev string) (string, map[string]*fakeFile, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	commit := rev
	if c, ok := rp.refs[rev]; ok {
		commit = c
	}
	files, ok := rp.commits[commit]
	return commit, files, ok
}

func (h *fakeHub) serveAPI(w http.ResponseWriter, r *http.Request, repo, rev string) {
	rp, ok := h.access(w, r, repo)
	if !ok {
		return
	}
	commit, files, ok := h.commitFor(rp, rev)
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	var siblings []map[string]any
	for name, f := range files {
		s := map[string]any{"rfilename": name}
		if r.URL.Query().Get("blobs") == "true" && !rp.noBlobs {
			s["size"] = len(f.data)
			s["blobId"] = gitBlobSHA(f.data)
			if f.lfs {
				s["size"] = len(f.data)
				s["blobId"] = gitBlobSHA([]byte("version https://git-lfs.github.com/spec/v1\noid sha256:" + f.etag()))
				s["lfs"] = map[string]any{"sha256": f.etag(), "size": len(f.data), "pointerSize": 134}
			} else if f.claimed != "" {
				s["blobId"] = f.claimed
			}
		}
		siblings = append(siblings, s)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"_id": "0123", "id": repo, "modelId": repo, "sha": commit, "siblings": siblings})
}

func (h *fakeHub) serveResolve(w http.ResponseWriter, r *http.Request, repo, rev, name string) {
	rp, ok := h.access(w, r, repo)
	if !ok {
		return
	}
	commit, files, ok := h.commitFor(rp, rev)
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	f, ok := files[name]
	if !ok {
		hubError(w, http.StatusNotFound, "EntryNotFound", name+" does not exist on \""+rev+"\"")
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if f.lfs {
		w.Header().Set("X-Linked-Etag", `"`+f.etag()+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.data)))
		w.Header().Set("ETag", `"`+gitBlobSHA([]byte("pointer"))+`"`)
		http.Redirect(w, r, h.cdn.URL+"/cdn/"+f.etag()+"?repo="+repo+"&file="+name+"&commit="+commit, http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+f.etag()+`"`)
	h.sendFile(w, r, f)
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request, sha string) {
	q := r.URL.Query()
	h.mu.Lock()
	rp := h.repos[q.Get("repo")]
	var f *fakeFile
	if rp != nil {
		f = rp.commits[q.Get("commit")][q.Get("file")]
	}
	h.mu.Unlock()
	if f == nil || f.etag() != sha {
		http.NotFound(w, r)
		return
	}
	h.sendFile(w, r, f)
}

// sendFile serves the file with Range support, cutting the connection
// once after f.drop bytes when asked to.
func (h *fakeHub) sendFile(w http.ResponseWriter, r *http.Request, f *fakeFile) {
	h.mu.Lock()
	drop := f.drop
	f.drop = 0
	h.mu.Unlock()
	if drop > 0 && r.Method == http.MethodGet && r.Header.Get("Range") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
		w.WriteHeader(http.StatusOK)
		w.Write(f.data[:drop])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection is cut mid-body
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}
