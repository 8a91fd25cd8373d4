package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd/bge/bgetest"
	"github.com/ragd/ragd/hfhub"
)

// hubCommit is the commit the fake Hub's main branch points to.
const hubCommit = "5c38ec7c405ec4b44b94cc5a9bb96e735b38267a"

// fakeHub serves model repositories with the Hugging Face Hub's URL
// layout and answers: GET /api/models/REPO/revision/REV?blobs=true (the
// commit and each file's size and hash, LFS files with their sha256),
// /REPO/resolve/REV/FILE (small files directly with ETag and
// X-Repo-Commit; *.safetensors as LFS files, redirected to a CDN host with
// X-Linked-Etag and X-Linked-Size), Range requests, and the Hub's error
// answers (401 RepoNotFound without a token, 404 RevisionNotFound and
// EntryNotFound) with their X-Error-Code header.
type fakeHub struct {
	hub, cdn *httptest.Server

	// hold, when set, holds LFS downloads until it is closed.
	hold chan struct{}

	mu    sync.Mutex
	repos map[string]map[string][]byte // repo -> file -> contents
	gets  int                          // file downloads served
}

func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	h := &fakeHub{repos: map[string]map[string][]byte{}}
	h.hub = httptest.NewServer(http.HandlerFunc(h.serveHub))
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(h.close)
	return h
}

func (h *fakeHub) close() {
	h.hub.Close()
	h.cdn.Close()
}

func (h *fakeHub) add(repo string, files map[string][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.repos[repo] = files
}

func (h *fakeHub) downloads() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gets
}

func isLFS(name string) bool { return strings.HasSuffix(name, ".safetensors") }

// hubEtag is the hash the Hub gives a file: sha256 for LFS files, the git
// blob sha1 otherwise.
func hubEtag(name string, data []byte) string {
	if isLFS(name) {
		s := sha256.Sum256(data)
		return hex.EncodeToString(s[:])
	}
	s := sha1.New()
	fmt.Fprintf(s, "blob %d\x00", len(data))
	s.Write(data)
	return hex.EncodeToString(s.Sum(nil))
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (h *fakeHub) files(w http.ResponseWriter, repo, rev string) (map[string][]byte, bool) {
	h.mu.Lock()
	files, ok := h.repos[repo]
	h.mu.Unlock()
	if !ok {
		hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository Not Found for url: "+repo+".")
		return nil, false
	}
	if rev != "main" && rev != hubCommit {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return nil, false
	}
	return files, true
}

func (h *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	if rest, ok := strings.CutPrefix(p, "api/models/"); ok {
		repo, rev, ok := strings.Cut(rest, "/revision/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		files, ok := h.files(w, repo, rev)
		if !ok {
			return
		}
		var siblings []map[string]any
		for name, data := range files {
			s := map[string]any{"rfilename": name, "size": len(data), "blobId": hubEtag("", data)}
			if isLFS(name) {
				s["lfs"] = map[string]any{"sha256": hubEtag(name, data), "size": len(data), "pointerSize": 134}
			}
			siblings = append(siblings, s)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": repo, "modelId": repo, "sha": hubCommit, "siblings": siblings})
		return
	}
	parts := strings.SplitN(p, "/", 5) // ORG/NAME/resolve/REV/FILE
	if len(parts) != 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	repo, rev, name := parts[0]+"/"+parts[1], parts[3], parts[4]
	files, ok := h.files(w, repo, rev)
	if !ok {
		return
	}
	data, ok := files[name]
	if !ok {
		hubError(w, http.StatusNotFound, "EntryNotFound", name+" does not exist on \""+rev+"\"")
		return
	}
	w.Header().Set("X-Repo-Commit", hubCommit)
	if isLFS(name) {
		w.Header().Set("X-Linked-Etag", `"`+hubEtag(name, data)+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
		http.Redirect(w, r, h.cdn.URL+"/repos/"+repo+"/"+hubEtag(name, data)+"?file="+name, http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+hubEtag(name, data)+`"`)
	h.send(w, r, data)
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	if h.hold != nil {
		<-h.hold
	}
	rest := strings.TrimPrefix(r.URL.Path, "/repos/")
	i := strings.LastIndex(rest, "/")
	if i < 0 || r.Header.Get("Authorization") != "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	data, ok := h.repos[rest[:i]][r.URL.Query().Get("file")]
	h.mu.Unlock()
	if !ok || hubEtag(r.URL.Query().Get("file"), data) != rest[i+1:] {
		http.NotFound(w, r)
		return
	}
	h.send(w, r, data)
}

func (h *fakeHub) send(w http.ResponseWriter, r *http.Request, data []byte) {
	if r.Method == http.MethodGet {
		h.mu.Lock()
		h.gets++
		h.mu.Unlock()
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// tinyBGE writes a tiny random BERT with bge-small's output size (384) in
// Hub layout and returns its directory and files. Mean pooling keeps a
// trace of each token in the vector, so texts sharing words come out
// close even with random weights.
func tinyBGE(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	cfg := bgetest.TinyConfig{Hidden: 384, Heads: 6, Intermediate: 512, Layers: 2, MaxPosition: 128, VocabWords: 3000, Pooling: "mean", Tokenizer: "both", Name: "BAAI/bge-small-en-v1.5"}
	if err := bgetest.WriteTinyModel(dir, cfg, 7); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, files
}

// waitEmbedder polls /readyz until the named embedder has finished
// loading, and returns its entry and the whole details.
func waitEmbedder(t *testing.T, url, name string) (map[string]any, map[string]any) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var ready struct {
			Status  string         `json:"status"`
			Details map[string]any `json:"details"`
		}
		call(t, "GET", url+"/readyz", nil, &ready)
		embs, _ := ready.Details["embedders"].([]any)
		for _, e := range embs {
			m := e.(map[string]any)
			if m["name"] == name && m["loading"] != true {
				return m, ready.Details
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("embedder %s did not finish loading: %v", name, ready.Details)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// searchResult is a search response.
type searchResult struct {
	Data []struct {
		DocumentID string  `json:"document_id"`
		Score      float64 `json:"score"`
	} `json:"data"`
	Retrieval struct {
		Mode, Requested, Reason, Embedder string
	} `json:"retrieval"`
}

func search(t *testing.T, url, coll, query, mode string) searchResult {
	t.Helper()
	var out searchResult
	if code := call(t, "POST", url+"/v1/collections/"+coll+"/search", map[string]any{"query": query, "mode": mode, "top_k": 3}, &out); code != 200 {
		t.Fatalf("%s search: %d %+v", mode, code, out)
	}
	return out
}

var kbDocs = []fileUpload{
	{"bread.md", "# Bread\n\nknead the dough, let the yeast rise overnight, then bake the loaf in a hot oven."},
	{"tides.md", "# Tides\n\nthe moon pulls the ocean, so the sea level rises and falls twice a day along the coast."},
	{"chess.md", "# Chess\n\nthe bishop moves diagonally across the board while the rook moves along ranks and files."},
}

// checkVectorSearch uploads the documents (unless already there) and
// checks that vector and hybrid search run as asked and put the document
// sharing the query's words first.
func checkVectorSearch(t *testing.T, url string, ids map[string]string) {
	t.Helper()
	queries := map[string]string{
		"bread.md": "knead the dough and bake the loaf",
		"tides.md": "moon pulls the ocean along the coast",
		"chess.md": "bishop moves diagonally on the board",
	}
	for _, mode := range []string{"vector", "hybrid"} {
		for doc, q := range queries {
			res := search(t, url, "kb", q, mode)
			if res.Retrieval.Mode != mode || res.Retrieval.Reason != "" || res.Retrieval.Embedder != "bge-small-en-v1.5" {
				t.Errorf("%s search %q: retrieval %+v", mode, q, res.Retrieval)
			}
			if len(res.Data) == 0 || res.Data[0].DocumentID != ids[doc] {
				t.Errorf("%s search %q: results %+v, want %s (%s) first", mode, q, res.Data, ids[doc], doc)
			}
		}
	}
}

// TestBuiltinEmbedderFromHub starts ragd with the default embedder and an
// empty cache: it downloads the model from the (fake) Hub, /readyz names
// it, vector and hybrid search work; a second start reuses the cache with
// the Hub gone.
func TestBuiltinEmbedderFromHub(t *testing.T) {
	_, files := tinyBGE(t)
	hub := newFakeHub(t)
	hub.add("BAAI/bge-small-en-v1.5", files)

	cfg := testConfig(t)
	cfg.Embedder = "bge-small-en-v1.5"
	cfg.Offline = false
	cfg.HFURL = hub.hub.URL
	cfg.HFCache = t.TempDir()
	srv := startApp(t, cfg)
	emb, details := waitEmbedder(t, srv.URL, "bge-small-en-v1.5")
	snapDir := filepath.Join(cfg.HFCache, "models--BAAI--bge-small-en-v1.5", "snapshots", hubCommit)
	if emb["available"] != true || emb["dimension"] != 384.0 || emb["source"] != "hub" || emb["revision"] != hubCommit ||
		emb["model"] != "BAAI/bge-small-en-v1.5" || emb["dir"] != snapDir ||
		emb["from"] != "BAAI/bge-small-en-v1.5@"+hubCommit+" ("+snapDir+")" {
		t.Fatalf("readyz embedder: %v", emb)
	}
	if details["retrieval_mode"] != "hybrid" {
		t.Errorf("readyz retrieval_mode = %v", details["retrieval_mode"])
	}
	if n := hub.downloads(); n != len(files) {
		t.Errorf("%d files downloaded, want %d", n, len(files))
	}

	code, res := uploadFiles(t, srv.URL+"/v1/collections/kb/documents", kbDocs)
	if code != 201 || len(res) != len(kbDocs) {
		t.Fatalf("upload: %d %+v", code, res)
	}
	ids := map[string]string{}
	for i, r := range res {
		if r.Embedded == 0 {
			t.Errorf("%s: no chunk embedded: %+v", kbDocs[i].name, r)
		}
		ids[kbDocs[i].name] = r.ID
	}
	checkVectorSearch(t, srv.URL, ids)
	srv.stop()

	// Second start: the Hub is gone, the cache has the model.
	hub.close()
	srv = startApp(t, cfg)
	emb, _ = waitEmbedder(t, srv.URL, "bge-small-en-v1.5")
	if emb["available"] != true || emb["source"] != "cache" || emb["revision"] != hubCommit || emb["dir"] != snapDir {
		t.Fatalf("readyz embedder after restart: %v", emb)
	}
	checkVectorSearch(t, srv.URL, ids)
}

// TestBuiltinEmbedderLoading: while the model downloads, ragd serves
// lexical search, and /readyz and retrieval say the model is loading.
func TestBuiltinEmbedderLoading(t *testing.T) {
	_, files := tinyBGE(t)
	hub := newFakeHub(t)
	hub.hold = make(chan struct{})
	released := false
	release := func() {
		if !released {
			released = true
			close(hub.hold)
		}
	}
	t.Cleanup(release) // before the servers close
	hub.add("BAAI/bge-small-en-v1.5", files)
	cfg := testConfig(t)
	cfg.Embedder = "bge-small-en-v1.5"
	cfg.Offline = false
	cfg.HFURL = hub.hub.URL
	cfg.HFCache = t.TempDir()
	srv := startApp(t, cfg)

	var ready struct{ Details map[string]any }
	call(t, "GET", srv.URL+"/readyz", nil, &ready)
	embs, _ := ready.Details["embedders"].([]any)
	if len(embs) != 1 {
		t.Fatalf("readyz: %v", ready.Details)
	}
	emb := embs[0].(map[string]any)
	if reason, _ := emb["reason"].(string); emb["loading"] != true || emb["available"] != false || emb["dimension"] != 384.0 ||
		!strings.Contains(reason, "BAAI/bge-small-en-v1.5") || ready.Details["retrieval_mode"] != "lexical" {
		t.Errorf("readyz while loading: %v", ready.Details)
	}
	var coll map[string]any
	if code := call(t, "POST", srv.URL+"/v1/collections", map[string]any{"name": "kb"}, &coll); code != 201 {
		t.Fatalf("create collection: %d %v", code, coll)
	}
	res := search(t, srv.URL, "kb", "dough", "hybrid")
	if res.Retrieval.Mode != "lexical" || !strings.Contains(res.Retrieval.Reason, "the model is still loading") {
		t.Errorf("retrieval while loading: %+v", res.Retrieval)
	}
	release()
	if emb, _ := waitEmbedder(t, srv.URL, "bge-small-en-v1.5"); emb["available"] != true {
		t.Errorf("readyz after loading: %v", emb)
	}
	if res := search(t, srv.URL, "kb", "dough", "hybrid"); res.Retrieval.Mode != "hybrid" || res.Retrieval.Reason != "" {
		t.Errorf("retrieval after loading: %+v", res.Retrieval)
	}
}

// TestBuiltinEmbedderOfflineWithoutCache: offline with an empty cache,
// ragd serves lexical search and says why everywhere.
func TestBuiltinEmbedderOfflineWithoutCache(t *testing.T) {
	cfg := testConfig(t)
	cfg.Embedder = "bge-small-en-v1.5"
	cfg.Offline = true
	cfg.HFURL = "http://127.0.0.1:1" // never asked
	cfg.HFCache = t.TempDir()
	srv := startApp(t, cfg)
	emb, details := waitEmbedder(t, srv.URL, "bge-small-en-v1.5")
	reason, _ := emb["reason"].(string)
	if emb["available"] != false || !strings.Contains(reason, "offline mode") || !strings.Contains(reason, "BAAI/bge-small-en-v1.5") ||
		!strings.Contains(reason, "ragd models pull bge-small-en-v1.5") || emb["dimension"] != 384.0 {
		t.Fatalf("readyz embedder: %v", emb)
	}
	if details["retrieval_mode"] != "lexical" {
		t.Errorf("readyz retrieval_mode = %v", details["retrieval_mode"])
	}
	code, res := uploadFiles(t, srv.URL+"/v1/collections/kb/documents", kbDocs)
	if code != 201 || res[0].Chunks == 0 || res[0].Embedded != 0 {
		t.Fatalf("upload: %d %+v", code, res)
	}
	out := search(t, srv.URL, "kb", "knead the dough", "hybrid")
	if out.Retrieval.Mode != "lexical" || out.Retrieval.Requested != "hybrid" || !strings.Contains(out.Retrieval.Reason, "offline mode") {
		t.Errorf("retrieval: %+v", out.Retrieval)
	}
	if len(out.Data) == 0 || out.Data[0].DocumentID != res[0].ID {
		t.Errorf("lexical results: %+v", out.Data)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if code := call(t, "POST", srv.URL+"/v1/collections/kb/search", map[string]any{"query": "dough", "mode": "vector"}, &e); code != 503 || !strings.Contains(e.Error.Message, "offline mode") {
		t.Errorf("vector search: %d %+v", code, e)
	}
}

// TestBuiltinEmbedderModelDir loads the model from model_dir, and checks
// that broken directories leave ragd lexical with the file at fault named,
// and a missing one stops start-up.
func TestBuiltinEmbedderModelDir(t *testing.T) {
	good, _ := tinyBGE(t)
	var srv *testServer
	start := func(t *testing.T, dir string) map[string]any {
		cfg := testConfig(t)
		cfg.Embedder = "bge-small-en-v1.5"
		cfg.ModelDir = dir
		cfg.HFCache = t.TempDir()
		srv = startApp(t, cfg)
		emb, _ := waitEmbedder(t, srv.URL, "bge-small-en-v1.5")
		return emb
	}
	t.Run("good", func(t *testing.T) {
		emb := start(t, good)
		if emb["available"] != true || emb["from"] != good || emb["source"] != "dir" || emb["dimension"] != 384.0 {
			t.Errorf("readyz embedder: %v", emb)
		}
		// model_dir is the default embedder's: a collection on another
		// built-in model looks in the cache (empty, offline).
		if code := call(t, "POST", srv.URL+"/v1/collections", map[string]any{"name": "big", "embedder": "bge-base-en-v1.5"}, nil); code != 201 {
			t.Fatalf("create collection: %d", code)
		}
		res := search(t, srv.URL, "big", "dough", "hybrid")
		if res.Retrieval.Mode != "lexical" || !strings.Contains(res.Retrieval.Reason, "BAAI/bge-base-en-v1.5") || !strings.Contains(res.Retrieval.Reason, "offline mode") {
			// The first search may find it still loading.
			emb, _ := waitEmbedder(t, srv.URL, "bge-base-en-v1.5")
			if res = search(t, srv.URL, "big", "dough", "hybrid"); res.Retrieval.Mode != "lexical" || !strings.Contains(res.Retrieval.Reason, "offline mode") {
				t.Errorf("bge-base collection: %+v (readyz %v)", res.Retrieval, emb)
			}
		}
	})
	// A broken model_dir stops start-up with an error naming the file.
	broken := func(t *testing.T, breakIt func(dir string) error, file string) {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(good)); err != nil {
			t.Fatal(err)
		}
		if err := breakIt(dir); err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(t)
		cfg.Embedder = "bge-small-en-v1.5"
		cfg.ModelDir = dir
		cfg.HFCache = t.TempDir()
		app, err := NewApp(context.Background(), cfg, newLogger(cfg, io.Discard))
		if err == nil {
			app.Close()
			t.Fatalf("NewApp started on a broken model_dir")
		}
		t.Logf("start-up error: %v", err)
		if !strings.Contains(err.Error(), "model_dir "+dir) || !strings.Contains(err.Error(), file) {
			t.Errorf("NewApp: %v (want it to name model_dir and %s)", err, file)
		}
	}
	t.Run("truncated weights", func(t *testing.T) {
		broken(t, func(dir string) error {
			p := filepath.Join(dir, "model.safetensors")
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			return os.Truncate(p, st.Size()/2)
		}, "model.safetensors")
	})
	t.Run("no config", func(t *testing.T) {
		broken(t, func(dir string) error { return os.Remove(filepath.Join(dir, "config.json")) }, "config.json")
	})
	t.Run("not BERT", func(t *testing.T) {
		broken(t, func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"llama","architectures":["LlamaForCausalLM"]}`), 0o644)
		}, "config.json")
	})
	t.Run("wrong size", func(t *testing.T) {
		broken(t, func(dir string) error {
			return bgetest.WriteTinyModel(dir, bgetest.TinyConfig{Hidden: 32}, 1) // 32 dimensions, not 384
		}, "produces 32 dimensions, not 384")
	})
	t.Run("missing directory", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Embedder = "bge-small-en-v1.5"
		cfg.ModelDir = filepath.Join(t.TempDir(), "nowhere")
		_, err := NewApp(context.Background(), cfg, newLogger(cfg, os.Stderr))
		if err == nil || !strings.Contains(err.Error(), "model_dir") || !strings.Contains(err.Error(), "nowhere") {
			t.Errorf("NewApp: %v, want a model_dir error", err)
		}
	})
}

// TestUnknownBuiltinEmbedder: an embedder name ragd does not know stops
// start-up with the known names, and a collection cannot be created with
// one.
func TestUnknownBuiltinEmbedder(t *testing.T) {
	cfg := testConfig(t)
	cfg.Embedder = "bge-huge-en-v1.5"
	_, err := NewApp(context.Background(), cfg, newLogger(cfg, os.Stderr))
	if err == nil || !strings.Contains(err.Error(), "bge-small-en-v1.5, bge-base-en-v1.5, bge-large-en-v1.5") {
		t.Errorf("NewApp: %v", err)
	}
	srv := startApp(t, testConfig(t))
	var e struct {
		Error struct{ Code, Message string }
	}
	if code := call(t, "POST", srv.URL+"/v1/collections", map[string]any{"name": "x", "embedder": "BAAI/bge-small-en-v1.5"}, &e); code != 400 {
		t.Errorf("collection on an alias: %d %+v", code, e)
	}
}

// runCLI runs a ragd command in-process with the given environment.
func runCLI(env map[string]string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	e := &Env{Args: args, Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &errOut}
	err = Run(context.Background(), e)
	return out.String(), errOut.String(), err
}

// TestModelsPullAndList pulls a model from the fake Hub into the cache
// (HF_ENDPOINT, HF_HUB_CACHE), lists it, pulls it again without
// downloading, and refuses unknown names.
func TestModelsPullAndList(t *testing.T) {
	_, files := tinyBGE(t)
	hub := newFakeHub(t)
	hub.add("BAAI/bge-small-en-v1.5", files)
	cache := t.TempDir()
	env := map[string]string{"HF_ENDPOINT": hub.hub.URL, "HF_HUB_CACHE": cache}
	snapDir := filepath.Join(cache, "models--BAAI--bge-small-en-v1.5", "snapshots", hubCommit)

	// Before: nothing cached.
	out, _, err := runCLI(env, "models", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "cache: "+cache) || !regexpLine(out, `bge-small-en-v1.5\s+384\s+no\s+-`) {
		t.Errorf("list before pull:\n%s", out)
	}

	out, errOut, err := runCLI(env, "models", "pull", "bge-small-en-v1.5")
	if err != nil {
		t.Fatalf("pull: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "bge-small-en-v1.5: downloaded BAAI/bge-small-en-v1.5@"+hubCommit+" in "+snapDir) {
		t.Errorf("pull printed:\n%s", out)
	}
	// Not a terminal: a plain line per file.
	for name := range files {
		if !strings.Contains(errOut, "downloading "+name+" (") {
			t.Errorf("pull progress has no line for %s:\n%s", name, errOut)
		}
	}
	if strings.Contains(errOut, "\r") {
		t.Errorf("pull progress redraws lines on a non-terminal:\n%q", errOut)
	}
	var total int64
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(snapDir, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s in the snapshot: %v", name, err)
		}
		total += int64(len(data))
	}
	cached, err := hfhub.List(cache)
	if err != nil || len(cached) != 1 || cached[0].Repo != "BAAI/bge-small-en-v1.5" {
		t.Fatalf("cache holds %+v (%v)", cached, err)
	}

	out, _, err = runCLI(env, "models", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !regexpLine(out, `bge-small-en-v1.5\s+384\s+yes\s+`+strings.ReplaceAll(formatBytes(total), ".", `\.`)+`\s+`+hubCommit+`\s+`+snapDir) ||
		!regexpLine(out, `bge-base-en-v1.5\s+768\s+no\s+-`) || !regexpLine(out, `bge-large-en-v1.5\s+1024\s+no\s+-`) {
		t.Errorf("list after pull:\n%s", out)
	}

	// Pulling again checks with the Hub but downloads nothing.
	before := hub.downloads()
	out, _, err = runCLI(env, "models", "pull", "bge-small-en-v1.5")
	if err != nil || !strings.Contains(out, "already cached BAAI/bge-small-en-v1.5@"+hubCommit) || hub.downloads() != before {
		t.Errorf("second pull: %v, %d downloads:\n%s", err, hub.downloads()-before, out)
	}
	// Offline, the cache answers.
	offline := map[string]string{"HF_ENDPOINT": "http://127.0.0.1:1", "HF_HUB_CACHE": cache, "RAGD_OFFLINE": "true"}
	if out, _, err = runCLI(offline, "models", "pull", "bge-small-en-v1.5"); err != nil || !strings.Contains(out, "already cached") {
		t.Errorf("offline pull of a cached model: %v\n%s", err, out)
	}
	// Offline, a model the cache lacks cannot be pulled (HF_HUB_OFFLINE
	// works as RAGD_OFFLINE does).
	hfOffline := map[string]string{"HF_ENDPOINT": "http://127.0.0.1:1", "HF_HUB_CACHE": cache, "HF_HUB_OFFLINE": "1"}
	if _, _, err = runCLI(hfOffline, "models", "pull", "bge-base-en-v1.5"); err == nil || !strings.Contains(errorLine(err), "offline mode") {
		t.Errorf("offline pull of an uncached model: %v", err)
	}
	// A model the Hub does not have.
	if _, _, err = runCLI(env, "models", "pull", "bge-large-en-v1.5"); err == nil || exitCode(err) == 0 {
		t.Errorf("pull of a model the Hub lacks: %v", err)
	}

	// Unknown names list the known ones.
	_, _, err = runCLI(env, "models", "pull", "bge-huge")
	if err == nil || exitCode(err) == 0 || !strings.Contains(errorLine(err), `unknown model "bge-huge"; known models: bge-small-en-v1.5, bge-base-en-v1.5, bge-large-en-v1.5`) {
		t.Errorf("unknown model: %v", err)
	}
	if _, _, err = runCLI(env, "models", "fetch"); err == nil {
		t.Error("unknown models command accepted")
	}
}

// regexpLine reports whether some line of out matches the pattern.
func regexpLine(out, pattern string) bool {
	re := regexp.MustCompile(pattern)
	for _, line := range strings.Split(out, "\n") {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}
