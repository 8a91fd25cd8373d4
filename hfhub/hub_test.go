package hfhub_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/hfhub"
)

const (
	repo    = "BAAI/bge-small-en-v1.5"
	commit1 = "5c38ec7c405ec4b44b94cc5a9bb96e735b38267a"
	commit2 = "1111111111111111111111111111111111111111"
)

// modelFiles returns the files of a small model in the layout of
// BAAI/bge-small-en-v1.5: the weights are an LFS file, the rest are plain.
func modelFiles() map[string]*fakeFile {
	weights := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	return map[string]*fakeFile{
		"config.json":           {data: []byte(`{"architectures": ["BertModel"], "hidden_size": 384}`)},
		"model.safetensors":     {data: weights, lfs: true},
		"tokenizer.json":        {data: []byte(`{"model": {"type": "WordPiece"}}`)},
		"vocab.txt":             {data: []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")},
		"modules.json":          {data: []byte(`[{"idx": 0, "type": "sentence_transformers.models.Transformer"}]`)},
		"1_Pooling/config.json": {data: []byte(`{"pooling_mode_cls_token": true}`)},
		"README.md":             {data: []byte("# bge-small-en-v1.5\n")},
		"onnx/model.onnx":       {data: []byte("not wanted"), lfs: true},
	}
}

func newClient(h *fakeHub, cache string, mod func(*hfhub.Config)) *hfhub.Client {
	cfg := hfhub.Config{Endpoint: h.endpoint(), CacheDir: cache}
	if mod != nil {
		mod(&cfg)
	}
	return hfhub.New(cfg)
}

func request() hfhub.Request {
	return hfhub.Request{Repo: repo, Files: hfhub.SentenceTransformerFiles()}
}

func errCode(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", want)
	}
	if got := ragd.ErrorCode(err); got != want {
		t.Fatalf("error code %q, want %q: %v", got, want, err)
	}
}

func TestDownloadThenReuseCache(t *testing.T) {
	h := newFakeHub(t, "")
	files := modelFiles()
	h.addCommit(repo, commit1, files)
	cache := t.TempDir()

	var mu sync.Mutex
	last := map[string]hfhub.Progress{}
	req := request()
	req.Progress = func(p hfhub.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := last[p.File]; ok && p.Done < prev.Done {
			t.Errorf("progress of %s went back from %d to %d", p.File, prev.Done, p.Done)
		}
		last[p.File] = p
	}
	snap, err := newClient(h, cache, nil).Get(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "models--BAAI--bge-small-en-v1.5")
	want := hfhub.Snapshot{Repo: repo, Revision: commit1, Dir: filepath.Join(dir, "snapshots", commit1), Source: hfhub.SourceHub}
	if snap != want {
		t.Errorf("Get = %+v, want %+v", snap, want)
	}
	// Every wanted file the repository has is in the snapshot, as a
	// relative link to its blob, exactly as huggingface_hub writes it.
	for _, name := range []string{"config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "modules.json", "1_Pooling/config.json"} {
		f := files[name]
		got, err := os.ReadFile(snap.Path(name))
		if err != nil || !bytes.Equal(got, f.data) {
			t.Errorf("%s: %q, %v; want the file's content", name, got, err)
		}
		link, err := os.Readlink(snap.Path(name))
		wantLink := strings.Repeat("../", 2+strings.Count(name, "/")) + "blobs/" + f.etag()
		if err != nil || link != wantLink {
			t.Errorf("%s links to %q (%v), want %q", name, link, err, wantLink)
		}
		if p := last[name]; p.Done != int64(len(f.data)) || p.Total != int64(len(f.data)) {
			t.Errorf("last progress of %s = %+v, want %d of %d", name, p, len(f.data), len(f.data))
		}
	}
	if snap.Has("README.md") || snap.Has("onnx/model.onnx") {
		t.Error("files that were not asked for were downloaded")
	}
	if ref, err := os.ReadFile(filepath.Join(dir, "refs", "main")); err != nil || string(ref) != commit1 {
		t.Errorf("refs/main = %q, %v; want %s", ref, err, commit1)
	}
	// Optional files the repository lacks are recorded as absent.
	for _, name := range []string{"tokenizer_config.json", "special_tokens_map.json", "config_sentence_transformers.json", "sentence_bert_config.json"} {
		if _, err := os.Stat(filepath.Join(dir, ".no_exist", commit1, name)); err != nil {
			t.Errorf("no .no_exist marker for %s: %v", name, err)
		}
	}
	// The token-less CDN got the LFS file.
	var cdn int
	for _, r := range h.reqs() {
		if strings.HasPrefix(r.Path, "/cdn/") {
			cdn++
		}
	}
	if cdn != 1 {
		t.Errorf("%d CDN requests, want 1", cdn)
	}

	// A second Get, by a new client on the same cache, makes no request.
	h.resetRequests()
	snap2, err := newClient(h, cache, nil).Get(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	want.Source = hfhub.SourceCache
	if snap2 != want {
		t.Errorf("second Get = %+v, want %+v", snap2, want)
	}
	if reqs := h.reqs(); len(reqs) != 0 {
		t.Errorf("second Get made requests: %+v", reqs)
	}
	// Asking by commit works from the cache too.
	byCommit := request()
	byCommit.Revision = commit1
	if _, err := newClient(h, cache, nil).Get(context.Background(), byCommit); err != nil || len(h.reqs()) != 0 {
		t.Errorf("Get by commit: %v, %d requests", err, len(h.reqs()))
	}
}

func TestEndpointIsHonoured(t *testing.T) {
	// A mirror with a path prefix, as HF_ENDPOINT may name one.
	h := newFakeHub(t, "/hf-mirror")
	h.addCommit(repo, commit1, modelFiles())
	snap, err := newClient(h, t.TempDir(), nil).Get(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Has("model.safetensors") {
		t.Error("no model.safetensors")
	}
	reqs := h.reqs()
	if len(reqs) == 0 || reqs[0].Path != "/hf-mirror/api/models/"+repo+"/revision/main" {
		t.Errorf("first request %+v, want the revision API under the endpoint's path", reqs)
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r.Path, "/hf-mirror/") && !strings.HasPrefix(r.Path, "/cdn/") {
			t.Errorf("request outside the endpoint: %+v", r)
		}
	}
}

func TestTokenGoesToHubNotCDN(t *testing.T) {
	h := newFakeHub(t, "")
	rp := h.addCommit(repo, commit1, modelFiles())
	rp.gated, rp.token = true, "hf_secret"
	_, err := newClient(h, t.TempDir(), func(c *hfhub.Config) { c.Token = "hf_secret" }).Get(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	cdn := 0
	for _, r := range h.reqs() {
		switch {
		case strings.HasPrefix(r.Path, "/cdn/"):
			cdn++
			if r.Auth != "" {
				t.Errorf("the CDN got the token: %+v", r)
			}
		case r.Auth != "Bearer hf_secret":
			t.Errorf("a Hub request without the token: %+v", r)
		}
	}
	if cdn != 1 {
		t.Errorf("%d CDN requests, want 1", cdn)
	}
}

func TestResumeInterruptedDownload(t *testing.T) {
	h := newFakeHub(t, "")
	files := modelFiles()
	weights := files["model.safetensors"]
	half := len(weights.data) / 2
	weights.drop = half
	h.addCommit(repo, commit1, files)
	cache := t.TempDir()

	_, err := newClient(h, cache, nil).Get(context.Background(), request())
	errCode(t, err, ragd.EUnavailable)
	if !strings.Contains(ragd.ErrorMessage(err), "model.safetensors") || !strings.Contains(ragd.ErrorMessage(err), "resume") {
		t.Errorf("message %q should name the file and say it can resume", ragd.ErrorMessage(err))
	}
	blob := filepath.Join(cache, "models--BAAI--bge-small-en-v1.5", "blobs", weights.etag())
	st, err := os.Stat(blob + ".incomplete")
	if err != nil || st.Size() != int64(half) {
		t.Fatalf("partial blob: %v, %v; want %d bytes", st, err, half)
	}
	if _, err := os.Lstat(filepath.Join(cache, "models--BAAI--bge-small-en-v1.5", "snapshots", commit1, "model.safetensors")); err == nil {
		t.Error("an incomplete blob was linked")
	}

	h.resetRequests()
	var first hfhub.Progress
	req := request()
	req.Progress = func(p hfhub.Progress) {
		if p.File == "model.safetensors" && first.File == "" {
			first = p
		}
	}
	snap, err := newClient(h, cache, nil).Get(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(snap.Path("model.safetensors"))
	if err != nil || !bytes.Equal(got, weights.data) {
		t.Fatalf("resumed file differs (%d bytes, %v)", len(got), err)
	}
	// The Range header goes to the Hub and, through its redirect, to the
	// CDN.
	var ranges []string
	for _, r := range h.reqs() {
		if r.Range != "" {
			ranges = append(ranges, r.Path[:4]+" "+r.Range)
		}
	}
	if want := []string{"/BAA bytes=32768-", "/cdn bytes=32768-"}; !slices.Equal(ranges, want) {
		t.Errorf("Range headers %v, want %v", ranges, want)
	}
	if first.Done != int64(half) {
		t.Errorf("resumed progress started at %d, want %d", first.Done, half)
	}
	if _, err := os.Stat(blob + ".incomplete"); err == nil {
		t.Error("the .incomplete file is still there")
	}
}

func TestHashMismatchIsRefused(t *testing.T) {
	for _, lfs := range []bool{true, false} {
		t.Run(map[bool]string{true: "LFS sha256", false: "git blob sha1"}[lfs], func(t *testing.T) {
			h := newFakeHub(t, "")
			files := modelFiles()
			name := "config.json"
			if lfs {
				name = "model.safetensors"
			}
			f := files[name]
			// The Hub lists the hash of other content.
			if lfs {
				f.claimed = sha256Hex([]byte("something else"))
			} else {
				f.claimed = gitBlobSHA([]byte("something else"))
			}
			h.addCommit(repo, commit1, files)
			cache := t.TempDir()
			_, err := newClient(h, cache, nil).Get(context.Background(), request())
			errCode(t, err, ragd.EUpstream)
			if msg := ragd.ErrorMessage(err); !strings.Contains(msg, name) || !strings.Contains(msg, "verification") {
				t.Errorf("message %q should name %s and the failed verification", msg, name)
			}
			dir := filepath.Join(cache, "models--BAAI--bge-small-en-v1.5")
			for _, p := range []string{
				filepath.Join(dir, "blobs", f.claimed),
				filepath.Join(dir, "blobs", f.claimed+".incomplete"),
				filepath.Join(dir, "snapshots", commit1, name),
			} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s exists after a failed verification", p)
				}
			}
		})
	}
}

func TestHubErrors(t *testing.T) {
	h := newFakeHub(t, "")
	gated := h.addCommit("meta-llama/gated", commit1, modelFiles())
	gated.gated, gated.token = true, "hf_good"
	noWeights := modelFiles()
	delete(noWeights, "model.safetensors")
	h.addCommit("org/no-weights", commit1, noWeights)
	noTokenizer := modelFiles()
	delete(noTokenizer, "tokenizer.json")
	delete(noTokenizer, "vocab.txt")
	h.addCommit("org/no-tokenizer", commit1, noTokenizer)
	h.addCommit(repo, commit1, modelFiles())

	cases := []struct {
		name     string
		repo     string
		revision string
		token    string
		code     string
		msg      string
	}{
		{"missing repo", "org/missing", "", "", ragd.ENotFound, "not found"},
		{"missing repo with a token", "org/missing", "", "hf_good", ragd.ENotFound, "not found"},
		{"gated without token", "meta-llama/gated", "", "", ragd.EUnauthorized, "gated"},
		{"gated with a token without access", "meta-llama/gated", "", "hf_other", ragd.EForbidden, "gated"},
		{"missing revision", repo, "v9", "", ragd.ENotFound, "no revision v9"},
		{"missing required file", "org/no-weights", "", "", ragd.ENotFound, "model.safetensors"},
		{"no tokenizer", "org/no-tokenizer", "", "", ragd.ENotFound, "tokenizer.json, vocab.txt"},
		{"invalid repo name", "../etc", "", "", ragd.EInvalid, "not a valid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := request()
			req.Repo, req.Revision = tc.repo, tc.revision
			_, err := newClient(h, t.TempDir(), func(c *hfhub.Config) { c.Token = tc.token }).Get(context.Background(), req)
			errCode(t, err, tc.code)
			if msg := ragd.ErrorMessage(err); !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q does not say %q", msg, tc.msg)
			}
		})
	}
}

func TestUnreachableHub(t *testing.T) {
	c := hfhub.New(hfhub.Config{Endpoint: "http://127.0.0.1:1", CacheDir: t.TempDir()})
	_, err := c.Get(context.Background(), request())
	errCode(t, err, ragd.EUnavailable)
}

func TestOffline(t *testing.T) {
	h := newFakeHub(t, "")
	files := modelFiles()
	h.addCommit(repo, commit1, files)
	cache := t.TempDir()
	offline := func(c *hfhub.Config) { c.Offline = true }

	// Nothing cached: a clear error, and no request.
	_, err := newClient(h, cache, offline).Get(context.Background(), request())
	errCode(t, err, ragd.EUnavailable)
	if msg := ragd.ErrorMessage(err); !strings.Contains(msg, "offline") || !strings.Contains(msg, repo) {
		t.Errorf("message %q should say offline and name the model", msg)
	}

	if _, err := newClient(h, cache, nil).Get(context.Background(), request()); err != nil {
		t.Fatal(err)
	}
	h.resetRequests()
	snap, err := newClient(h, cache, offline).Get(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Source != hfhub.SourceCache || !snap.Has("model.safetensors") {
		t.Errorf("offline Get = %+v", snap)
	}
	// Update is ignored offline.
	upd := request()
	upd.Update = true
	if _, err := newClient(h, cache, offline).Get(context.Background(), upd); err != nil {
		t.Fatal(err)
	}
	if reqs := h.reqs(); len(reqs) != 0 {
		t.Errorf("offline Get made requests: %+v", reqs)
	}

	// A blob gone: the snapshot is incomplete.
	if err := os.Remove(filepath.Join(cache, "models--BAAI--bge-small-en-v1.5", "blobs", files["model.safetensors"].etag())); err != nil {
		t.Fatal(err)
	}
	_, err = newClient(h, cache, offline).Get(context.Background(), request())
	errCode(t, err, ragd.EUnavailable)
	if msg := ragd.ErrorMessage(err); !strings.Contains(msg, "model.safetensors") {
		t.Errorf("message %q should name the missing file", msg)
	}
	// Online, the missing blob is fetched again.
	if _, err := newClient(h, cache, nil).Get(context.Background(), request()); err != nil {
		t.Fatal(err)
	}
}

// TestPythonCacheIsUsed builds a cache by hand the way huggingface_hub
// leaves it (only some of the optional files, no .no_exist markers) and
// checks that offline mode uses it.
func TestPythonCacheIsUsed(t *testing.T) {
	cache := t.TempDir()
	dir := filepath.Join(cache, "models--BAAI--bge-small-en-v1.5")
	write := func(p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "refs", "main"), commit1)
	for name, content := range map[string]string{"config.json": "{}", "model.safetensors": "weights", "vocab.txt": "[UNK]\n"} {
		blob := gitBlobSHA([]byte(content))
		write(filepath.Join(dir, "blobs", blob), content)
		link := filepath.Join(dir, "snapshots", commit1, name)
		os.MkdirAll(filepath.Dir(link), 0o755)
		if err := os.Symlink(filepath.Join("..", "..", "blobs", blob), link); err != nil {
			t.Fatal(err)
		}
	}
	c := hfhub.New(hfhub.Config{Endpoint: "http://127.0.0.1:1", CacheDir: cache, Offline: true})
	snap, err := c.Get(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(snap.Path("vocab.txt")); err != nil || string(b) != "[UNK]\n" {
		t.Errorf("vocab.txt = %q, %v", b, err)
	}
}

func TestHeadFallbackWithoutBlobListing(t *testing.T) {
	h := newFakeHub(t, "")
	files := modelFiles()
	rp := h.addCommit(repo, commit1, files)
	rp.noBlobs = true
	snap, err := newClient(h, t.TempDir(), nil).Get(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(snap.Path("model.safetensors")); err != nil || !bytes.Equal(got, files["model.safetensors"].data) {
		t.Errorf("model.safetensors: %d bytes, %v", len(got), err)
	}
	heads := 0
	for _, r := range h.reqs() {
		if r.Method == "HEAD" {
			heads++
			if strings.HasPrefix(r.Path, "/cdn/") {
				t.Errorf("HEAD followed the redirect to the CDN: %+v", r)
			}
		}
	}
	if heads != 6 {
		t.Errorf("%d HEAD requests, want one per present file (6)", heads)
	}
}

func TestUpdateFetchesNewCommitOnly(t *testing.T) {
	h := newFakeHub(t, "")
	cache := t.TempDir()
	h.addCommit(repo, commit1, modelFiles())
	if _, err := newClient(h, cache, nil).Get(context.Background(), request()); err != nil {
		t.Fatal(err)
	}
	// main moves on: only config.json changes.
	files2 := modelFiles()
	files2["config.json"] = &fakeFile{data: []byte(`{"architectures": ["BertModel"], "hidden_size": 768}`)}
	h.addCommit(repo, commit2, files2)
	h.resetRequests()

	// Without Update, the cached commit is used.
	snap, err := newClient(h, cache, nil).Get(context.Background(), request())
	if err != nil || snap.Revision != commit1 || len(h.reqs()) != 0 {
		t.Fatalf("Get = %+v, %v, %d requests; want the cached %s and no request", snap, err, len(h.reqs()), commit1)
	}
	upd := request()
	upd.Update = true
	snap, err = newClient(h, cache, nil).Get(context.Background(), upd)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Revision != commit2 {
		t.Errorf("updated revision %s, want %s", snap.Revision, commit2)
	}
	var gets []string
	for _, r := range h.reqs() {
		if r.Method == "GET" && !strings.Contains(r.Path, "/api/") {
			gets = append(gets, r.Path)
		}
	}
	if want := []string{"/" + repo + "/resolve/" + commit2 + "/config.json"}; !slices.Equal(gets, want) {
		t.Errorf("downloads %v, want only %v", gets, want)
	}
	if b, _ := os.ReadFile(snap.Path("config.json")); !bytes.Contains(b, []byte("768")) {
		t.Errorf("config.json = %s", b)
	}
	if b, _ := os.ReadFile(filepath.Join(cache, "models--BAAI--bge-small-en-v1.5", "refs", "main")); string(b) != commit2 {
		t.Errorf("refs/main = %s", b)
	}
}

func TestConcurrentGetsDownloadOnce(t *testing.T) {
	h := newFakeHub(t, "")
	h.addCommit(repo, commit1, modelFiles())
	cache := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = newClient(h, cache, nil).Get(context.Background(), request())
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	cdn := 0
	for _, r := range h.reqs() {
		if strings.HasPrefix(r.Path, "/cdn/") {
			cdn++
		}
	}
	if cdn != 1 {
		t.Errorf("the weights were downloaded %d times, want once", cdn)
	}
}

func TestCanceledDownload(t *testing.T) {
	h := newFakeHub(t, "")
	h.addCommit(repo, commit1, modelFiles())
	ctx, cancel := context.WithCancel(context.Background())
	req := request()
	req.Progress = func(p hfhub.Progress) {
		if p.File == "model.safetensors" && p.Done > 0 {
			cancel()
		}
	}
	_, err := newClient(h, t.TempDir(), nil).Get(ctx, req)
	errCode(t, err, ragd.EUnavailable)
}

func TestFromDir(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors", "vocab.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := hfhub.FromDir(dir, hfhub.SentenceTransformerFiles())
	if err != nil {
		t.Fatal(err)
	}
	// Get with Dir uses the directory and nothing else.
	req := request()
	req.Dir = dir
	if got, err := hfhub.New(hfhub.Config{Endpoint: "http://127.0.0.1:1"}).Get(context.Background(), req); err != nil || got != snap {
		t.Errorf("Get with Dir = %+v, %v; want %+v", got, err, snap)
	}
	if diff := cmp.Diff(hfhub.Snapshot{Dir: dir, Source: hfhub.SourceDir}, snap); diff != "" {
		t.Errorf("FromDir mismatch (-want +got):\n%s", diff)
	}
	os.Remove(filepath.Join(dir, "model.safetensors"))
	_, err = hfhub.FromDir(dir, hfhub.SentenceTransformerFiles())
	errCode(t, err, ragd.EInvalid)
	if msg := ragd.ErrorMessage(err); !strings.Contains(msg, "model.safetensors") {
		t.Errorf("message %q should name model.safetensors", msg)
	}
	_, err = hfhub.FromDir(filepath.Join(dir, "nope"), hfhub.SentenceTransformerFiles())
	errCode(t, err, ragd.EInvalid)
}

func TestCacheDir(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HOME": "/home/u"}, "/home/u/.cache/huggingface/hub"},
		{map[string]string{"HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"}, "/xdg/huggingface/hub"},
		{map[string]string{"HOME": "/home/u", "XDG_CACHE_HOME": "/xdg", "HF_HOME": "~/hf"}, "/home/u/hf/hub"},
		{map[string]string{"HOME": "/home/u", "HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/old"}, "/old"},
		{map[string]string{"HOME": "/home/u", "HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/old", "HF_HUB_CACHE": "/new"}, "/new"},
		{map[string]string{}, ""},
	}
	for _, tc := range cases {
		if got := hfhub.CacheDir(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("CacheDir(%v) = %q, want %q", tc.env, got, tc.want)
		}
	}
}

func TestList(t *testing.T) {
	h := newFakeHub(t, "")
	files := modelFiles()
	h.addCommit(repo, commit1, files)
	h.addCommit("sentence-transformers/all-MiniLM-L6-v2", commit2, modelFiles())
	cache := t.TempDir()
	for _, r := range []string{repo, "sentence-transformers/all-MiniLM-L6-v2"} {
		req := request()
		req.Repo = r
		if _, err := newClient(h, cache, nil).Get(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	models, err := hfhub.List(cache)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, name := range []string{"config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "modules.json", "1_Pooling/config.json"} {
		size += int64(len(files[name].data))
	}
	if len(models) != 2 {
		t.Fatalf("List = %+v, want 2 models", models)
	}
	m := models[0]
	if m.Repo != repo || m.Size != size || len(m.Revisions) != 1 {
		t.Fatalf("List[0] = %+v, want %s of %d bytes with one revision", m, repo, size)
	}
	rev := m.Revisions[0]
	rev.Modified = 0
	want := hfhub.CachedRevision{
		Commit:   commit1,
		Refs:     []string{"main"},
		Files:    []string{"1_Pooling/config.json", "config.json", "model.safetensors", "modules.json", "tokenizer.json", "vocab.txt"},
		Size:     size,
		Complete: true,
	}
	if diff := cmp.Diff(want, rev); diff != "" {
		t.Errorf("revision mismatch (-want +got):\n%s", diff)
	}
	if models[1].Repo != "sentence-transformers/all-MiniLM-L6-v2" {
		t.Errorf("List[1] = %s", models[1].Repo)
	}
	if got, err := hfhub.List(filepath.Join(cache, "absent")); err != nil || got != nil {
		t.Errorf("List(absent) = %v, %v", got, err)
	}
}
