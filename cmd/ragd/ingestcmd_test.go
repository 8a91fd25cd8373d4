package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/jobs"
	"github.com/ragd/ragd/ingest/jobs/boltstore"
	"github.com/ragd/ragd/openai/openaitest"
	"github.com/ragd/ragd/store/postgres/pgtest"
	"github.com/ragd/ragd/upstream/upstreamtest"
)

// cliResult is what one `ragd` command run printed and its exit status.
type cliResult struct {
	stdout, stderr string
	code           int
}

// ingestCLI runs ragd in-process with args and an environment of its own.
func ingestCLI(t *testing.T, env map[string]string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, wait := startCLI(ctx, env, args...)
	r := wait()
	if testing.Verbose() {
		t.Logf("ragd %s -> %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// mixedDocs is the number of documents mixedFolder's files make.
const mixedDocs = 4

// mixedFolder writes a folder "docs" of mixed files: four that ingest
// (Markdown, text and HTML, in subfolders too), an empty one, one of a type ragd
// cannot extract, and a hidden one that is left out.
func mixedFolder(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "docs")
	files := map[string]string{
		"alpha.md":            "# Alpha\n\nAlpha talks about durable storage and the write-ahead log.\n",
		"sub/bravo.txt":       "Bravo is plain text about network partitions and retries.\n",
		"sub/deep/charlie.md": "# Charlie\n\nCharlie explains vector indexes.\n",
		"delta.html":          "<html><head><title>Delta</title></head><body><nav>Home | About</nav><main><h1>Delta</h1><p>Delta covers query planning.</p></main></body></html>",
		"empty.txt":           "",
		"blob.bin":            "\x00\x01\x02\x03binary\x00\xff\xfe" + strings.Repeat("\x00", 64),
		".hidden/one.md":      "# Hidden\n\nNever ingested.\n",
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var summaryRE = regexp.MustCompile(`documents: (\d+) new, (\d+) updated, (\d+) unchanged, (\d+) failed, (\d+) skipped\n\s+chunks:\s+(\d+), (\d+) of them embedded`)

// counts parses the summary: new, updated, unchanged, failed, skipped,
// chunks, embedded.
func counts(t *testing.T, r cliResult) [7]int {
	t.Helper()
	m := summaryRE.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no summary in stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	var c [7]int
	for i := range c {
		fmt.Sscan(m[i+1], &c[i])
	}
	return c
}

// checkPlain checks that output for a non-terminal has no cursor control.
func checkPlain(t *testing.T, r cliResult) {
	t.Helper()
	if strings.ContainsAny(r.stderr, "\r\x1b") || strings.ContainsAny(r.stdout, "\r\x1b") {
		t.Errorf("output to a non-terminal has cursor control:\n%q", r.stderr)
	}
	if !strings.Contains(r.stderr, "progress: ") {
		t.Errorf("no plain progress line on stderr:\n%s", r.stderr)
	}
}

// checkMixedRun checks the first ingest of mixedFolder.
func checkMixedRun(t *testing.T, r cliResult) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("exit status %d, want 1 (the empty file failed)", r.code)
	}
	c := counts(t, r)
	if c[0] != mixedDocs || c[1] != 0 || c[2] != 0 || c[3] != 1 || c[4] != 1 {
		t.Errorf("counts %v, want 4 new, 1 failed, 1 skipped:\n%s", c, r.stdout)
	}
	if c[5] == 0 || c[6] != c[5] {
		t.Errorf("chunks %d, embedded %d: want every chunk embedded once", c[5], c[6])
	}
	for _, want := range []string{"Failed (1):\n  docs/empty.txt: invalid", "Skipped (1):\n  docs/blob.bin: unsupported_media_type"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "failed  docs/empty.txt: invalid") {
		t.Errorf("the failure was not shown as it happened:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "hidden") {
		t.Errorf("a hidden file was ingested:\n%s", r.stdout)
	}
	checkPlain(t, r)
}

// checkUnchangedRun checks a second ingest of mixedFolder.
func checkUnchangedRun(t *testing.T, r cliResult) {
	t.Helper()
	c := counts(t, r)
	if c[0] != 0 || c[1] != 0 || c[2] != mixedDocs || c[6] != 0 {
		t.Errorf("second run: counts %v, want 4 unchanged and nothing embedded:\n%s", c, r.stdout)
	}
}

// documentSources lists the sources of a collection's documents.
func documentSources(t *testing.T, base, collection string) []string {
	t.Helper()
	var out struct {
		Data []struct {
			Source string `json:"source"`
		} `json:"data"`
	}
	if code := call(t, "GET", base+"/v1/collections/"+collection+"/documents?limit=100", nil, &out); code != 200 {
		t.Fatalf("list documents: %d", code)
	}
	var srcs []string
	for _, d := range out.Data {
		srcs = append(srcs, d.Source)
	}
	return srcs
}

func TestIngestFolderThroughServer(t *testing.T) {
	cfg := testConfig(t)
	cfg.Embedder = "hash:64"
	ts := startApp(t, cfg)
	dir := mixedFolder(t)
	env := map[string]string{"RAGD_URL": ts.URL}

	r := ingestCLI(t, env, "ingest", "--collection", "mix", dir)
	checkMixedRun(t, r)
	if strings.Contains(r.stdout, "job:") {
		t.Errorf("files alone made a server job:\n%s", r.stdout)
	}
	srcs := documentSources(t, ts.URL, "mix")
	for _, want := range []string{"docs/alpha.md", "docs/sub/bravo.txt", "docs/sub/deep/charlie.md", "docs/delta.html"} {
		if !strings.Contains(strings.Join(srcs, " "), want) {
			t.Errorf("documents %v lack %s", srcs, want)
		}
	}
	if len(srcs) != mixedDocs {
		t.Errorf("documents %v, want 4", srcs)
	}

	// --server wins over RAGD_URL; a second run changes nothing.
	r = ingestCLI(t, map[string]string{"RAGD_URL": "http://127.0.0.1:1"}, "ingest", "--server", ts.URL, "--collection", "mix", "--concurrency", "2", dir)
	checkUnchangedRun(t, r)
	if len(documentSources(t, ts.URL, "mix")) != mixedDocs {
		t.Error("the second run duplicated documents")
	}

	// A changed file is updated; the rest stay unchanged.
	if err := os.WriteFile(filepath.Join(dir, "alpha.md"), []byte("# Alpha\n\nAlpha now talks about compaction.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := counts(t, ingestCLI(t, env, "ingest", "--collection", "mix", dir))
	if c[0] != 0 || c[1] != 1 || c[2] != mixedDocs-1 || c[6] == 0 {
		t.Errorf("after an edit: counts %v, want 1 updated (embedded), 3 unchanged", c)
	}

	// Only supported, non-empty files: exit status 0.
	r = ingestCLI(t, env, "ingest", "--collection", "mix", filepath.Join(dir, "sub", "deep"), filepath.Join(dir, "sub", "bravo.txt"))
	if r.code != 0 {
		t.Errorf("exit status %d for unchanged files, want 0:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestIngestFolderLocal(t *testing.T) {
	dir := mixedFolder(t)
	data := t.TempDir()
	args := []string{"ingest", "--local", "--data-dir", data, "--embedder", "hash:64", "--collection", "mix", dir}
	env := map[string]string{"RAGD_LOG_LEVEL": "error"}

	r := ingestCLI(t, env, args...)
	checkMixedRun(t, r)
	if !strings.Contains(r.stdout, "job:") {
		t.Errorf("a --local run names no job:\n%s", r.stdout)
	}
	r = ingestCLI(t, env, args...)
	checkUnchangedRun(t, r)
	if strings.Contains(r.stderr, "resuming") {
		t.Errorf("a finished job was resumed:\n%s", r.stderr)
	}

	// The store holds the documents under the same names a server upload
	// gives them.
	cfg := testConfig(t)
	cfg.DataDir = data
	cfg.Embedder = "hash:64"
	ts := startApp(t, cfg)
	srcs := documentSources(t, ts.URL, "mix")
	if strings.Join(srcs, " ") == "" || len(srcs) != mixedDocs {
		t.Fatalf("documents %v, want 4", srcs)
	}
	for _, s := range srcs {
		if !strings.HasPrefix(s, "docs/") {
			t.Errorf("document source %q is not named by its folder", s)
		}
	}
}

func TestIngestUsageErrors(t *testing.T) {
	dir := mixedFolder(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ingest"}, 2, "at least one path or URL"},
		{[]string{"ingest", filepath.Join(dir, "missing")}, 2, "no such file or directory"},
		{[]string{"ingest", "ftp://example.com/a"}, 2, "not an http or https URL"},
		{[]string{"ingest", "--collection", "Bad Name!", dir}, 2, "collection"},
		{[]string{"ingest", "--concurrency", "0", dir}, 2, "--concurrency"},
		{[]string{"ingest", "--bogus", dir}, 2, "bogus"},
		{[]string{"ingest", "--server", "http://127.0.0.1:1", dir}, 1, "cannot reach the ragd server at http://127.0.0.1:1"},
	} {
		r := ingestCLI(t, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
	// A server on the data directory keeps --local out.
	cfg := testConfig(t)
	cfg.Embedder = "hash:64"
	startApp(t, cfg)
	r0 := ingestCLI(t, nil, "ingest", "--local", "--data-dir", cfg.DataDir, "--embedder", "hash:64", dir)
	if r0.code != 1 || !strings.Contains(r0.stderr, "in use by another ragd process") {
		t.Errorf("--local beside a server: exit %d, %q", r0.code, r0.stderr)
	}
	// Two folders of the same name cannot share a --local job.
	other := filepath.Join(t.TempDir(), "docs")
	os.MkdirAll(other, 0o755)
	r := ingestCLI(t, nil, "ingest", "--local", "--data-dir", t.TempDir(), "--embedder", "none", dir, other)
	if r.code != 2 || !strings.Contains(r.stderr, `both named "docs"`) {
		t.Errorf("same-named folders: exit %d, %q", r.code, r.stderr)
	}
}

// pagesServer serves two pages and a 404 on a loopback port.
func pagesServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/guide.txt":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprint(w, "The guide covers replication lag in depth.\n")
		case "/notes.md":
			w.Header().Set("Content-Type", "text/markdown")
			fmt.Fprint(w, "# Notes\n\nNotes about snapshot isolation.\n")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, serverPort(srv)
}

// serverPort is the port a test server listens on.
func serverPort(srv *httptest.Server) string {
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

// gatedPages serves a text page about topic for any path on a loopback
// port; requests for paths that gated reports wait until open is called
// (when the test ends at the latest). It returns the server, its port and
// open.
func gatedPages(t *testing.T, topic string, gated func(path string) bool) (*httptest.Server, string, func()) {
	t.Helper()
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gated(r.URL.Path) {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "The page %s talks about %s.\n", r.URL.Path, topic)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(open) // runs first: no request is left waiting
	return srv, serverPort(srv), open
}

// isSlowPage gates the page /slow.txt only.
func isSlowPage(path string) bool { return path == "/slow.txt" }

// waitUntil polls cond every 5ms for up to limit and reports whether it
// came to hold.
func waitUntil(limit time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

func TestIngestURLsAsServerJob(t *testing.T) {
	pages, port := pagesServer(t)
	cfg := testConfig(t)
	cfg.Embedder = "hash:64"
	// Loopback and the test port are allowed for this server only.
	cfg.FetchAllow = []string{"127.0.0.1/32"}
	cfg.FetchPorts = []string{port}
	ts := startApp(t, cfg)
	env := map[string]string{"RAGD_URL": ts.URL}
	dir := mixedFolder(t)
	args := []string{"ingest", "--collection", "web", pages.URL + "/guide.txt", pages.URL + "/notes.md", pages.URL + "/missing", filepath.Join(dir, "alpha.md")}

	r := ingestCLI(t, env, args...)
	if r.code != 1 {
		t.Errorf("exit status %d, want 1 (a URL failed)", r.code)
	}
	c := counts(t, r)
	if c[0] != 3 || c[3] != 1 || c[6] == 0 {
		t.Errorf("counts %v, want 3 new (2 URLs, 1 file) and 1 failed:\n%s", c, r.stdout)
	}
	if !regexp.MustCompile(`job:\s+[0-9a-f]{32}`).MatchString(r.stdout) {
		t.Errorf("the summary does not name the URL job:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, pages.URL+"/missing: http_status") {
		t.Errorf("the 404 is not listed with its reason:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "failed  "+pages.URL+"/missing") {
		t.Errorf("the 404 was not shown as it happened:\n%s", r.stderr)
	}
	checkPlain(t, r)
	srcs := strings.Join(documentSources(t, ts.URL, "web"), " ")
	for _, want := range []string{pages.URL + "/guide.txt", pages.URL + "/notes.md", "docs/alpha.md"} {
		if !strings.Contains(srcs, want) {
			t.Errorf("documents %s lack %s", srcs, want)
		}
	}

	// Again: a new job whose pages are unchanged, nothing embedded.
	c = counts(t, ingestCLI(t, env, args...))
	if c[0] != 0 || c[2] != 3 || c[6] != 0 {
		t.Errorf("second run: counts %v, want 3 unchanged, nothing embedded", c)
	}

	// A server with the default policy refuses loopback URLs.
	strict := testConfig(t)
	strict.Embedder = "hash:64"
	ts2 := startApp(t, strict)
	r = ingestCLI(t, map[string]string{"RAGD_URL": ts2.URL}, "ingest", pages.URL+"/guide.txt")
	if r.code != 1 || !strings.Contains(r.stdout, pages.URL+"/guide.txt: ssrf") {
		t.Errorf("the default policy fetched a loopback URL: exit %d\n%s", r.code, r.stdout)
	}
}

// documentEmbeddings counts the embedding calls for document text (marked
// "zq"), leaving out the call an embedder makes to learn its dimension.
func documentEmbeddings(fake *openaitest.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/embeddings") && bytes.Contains(r.Body, []byte("zq")) {
			n++
		}
	}
	return n
}

// TestIngestLocalResumes kills `ragd ingest --local` (a child process)
// while a slow embedder works through a folder, then runs it again: the
// second run resumes the same job, embeds only what the first did not
// finish, and ends with every document; a third run embeds nothing.
func TestIngestLocalResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills ingest processes")
	}
	const n = 24
	dir := noteFolder(t, n)
	script := make([]upstreamtest.Step, 2*n)
	for i := range script {
		script[i] = upstreamtest.Step{DelayFirst: 150 * time.Millisecond}
	}
	fake := openaitest.NewServer(t, openaitest.Options{Script: script})
	oc := fake.Config()
	data := t.TempDir()
	args := []string{"ingest", "--local", "--data-dir", data, "--collection", "notes", dir}
	childEnv := append(os.Environ(), "RAGD_TEST_AS_RAGD=1", "RAGD_LOG_LEVEL=error",
		"RAGD_EMBEDDER=openai:"+oc.EmbeddingModel, "RAGD_OPENAI_URL="+oc.BaseURL, "RAGD_OPENAI_API_KEY="+oc.APIKey, "RAGD_LLM=extractive")
	run := func() (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = childEnv
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, &out, &errb
	}

	cmd, _, _ := run()
	if !waitUntil(30*time.Second, func() bool { return documentEmbeddings(fake) >= 6 }) {
		t.Fatal("the first run made no progress")
	}
	cmd.Process.Kill()
	cmd.Wait()
	first := documentEmbeddings(fake)
	if first >= n {
		t.Fatalf("the first run finished (%d embedding calls) before it was killed", first)
	}

	cmd, out, errb := run()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the resumed run: %v\n%s%s", err, out, errb)
	}
	if !strings.Contains(errb.String(), "resuming job ") {
		t.Errorf("the second run did not resume the job:\n%s", errb)
	}
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	c := counts(t, r)
	if c[0]+c[1]+c[2] != n || c[3] != 0 {
		t.Errorf("resumed job: counts %v, want %d documents, none failed:\n%s", c, n, r.stdout)
	}
	second := documentEmbeddings(fake) - first
	// Items in flight when the first run died may be embedded again (at
	// most the job engine's concurrency); nothing else is.
	if first+second > n+2 || second >= n {
		t.Errorf("embedding calls: %d before the kill, %d after; want the rest of %d only", first, second, n)
	}

	cmd, out, errb = run()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("third run: %v\n%s%s", err, out, errb)
	}
	c = counts(t, cliResult{stdout: out.String(), stderr: errb.String()})
	if c[2] != n || c[6] != 0 {
		t.Errorf("third run: counts %v, want %d unchanged and nothing embedded", c, n)
	}
	if got := documentEmbeddings(fake) - first - second; got != 0 {
		t.Errorf("the third run made %d embedding calls", got)
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCLI runs ragd in-process in the background; wait returns its result.
func startCLI(ctx context.Context, env map[string]string, args ...string) (stderr *syncBuffer, wait func() cliResult) {
	var out bytes.Buffer
	errb := &syncBuffer{}
	e := &Env{Args: args, Getenv: envOf(env), Stdout: &out, Stderr: errb}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, e) }()
	return errb, func() cliResult {
		err := <-done
		r := cliResult{stdout: out.String(), stderr: errb.String()}
		if err != nil {
			r.code = exitCode(err)
			r.stderr += "ragd: " + errorLine(err) + "\n"
		}
		return r
	}
}

// noteFolder writes n small Markdown files, each with a word marked "zq".
func noteFolder(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "notes")
	os.MkdirAll(dir, 0o755)
	for i := range n {
		doc := fmt.Sprintf("# Note %d\n\nNote %d is about topic%03dzq and nothing else.\n", i, i, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("note-%03d.md", i)), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestIngestServerInterruptedResumes stops `ragd ingest` while a slow
// embedder works through its uploads; running it again uploads everything,
// but only the files not done yet cost embedding.
func TestIngestServerInterruptedResumes(t *testing.T) {
	const n = 16
	script := make([]upstreamtest.Step, 2*n)
	for i := range script {
		script[i] = upstreamtest.Step{DelayFirst: 100 * time.Millisecond}
	}
	fake := openaitest.NewServer(t, openaitest.Options{Script: script})
	ts := startApp(t, withOpenAI(testConfig(t), fake))
	dir := noteFolder(t, n)
	env := map[string]string{"RAGD_URL": ts.URL}
	args := []string{"ingest", "--collection", "notes", "--concurrency", "2", dir}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, wait := startCLI(ctx, env, args...)
	if !waitUntil(30*time.Second, func() bool { return documentEmbeddings(fake) >= 4 }) {
		t.Fatal("the first run made no progress")
	}
	cancel()
	r := wait()
	if r.code != 1 || !strings.Contains(r.stdout, "Interrupted after") || !strings.Contains(r.stdout, "run the same command again") {
		t.Fatalf("interrupted run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	first := documentEmbeddings(fake)
	if first >= n {
		t.Fatalf("the first run embedded all %d files before it was stopped", first)
	}

	r = ingestCLI(t, env, args...)
	c := counts(t, r)
	if r.code != 0 || c[0]+c[2] != n || c[3] != 0 {
		t.Errorf("second run: exit %d, counts %v; want all %d new or unchanged", r.code, c, n)
	}
	second := documentEmbeddings(fake) - first
	if second >= n || first+second > n+2 {
		t.Errorf("embedding calls: %d before the stop, %d after; want the rest of %d only", first, second, n)
	}
	if got := len(documentSources(t, ts.URL, "notes")); got != n {
		t.Errorf("%d documents, want %d", got, n)
	}
}

// TestIngestFollowsRunningServerJob runs `ragd ingest` with the URLs of a
// job the server is still running: it follows that job to its end instead
// of submitting another.
func TestIngestFollowsRunningServerJob(t *testing.T) {
	pages, port, open := gatedPages(t, "consensus", isSlowPage)
	cfg := testConfig(t)
	cfg.Embedder = "hash:64"
	cfg.FetchAllow = []string{"127.0.0.1"}
	cfg.FetchPorts = []string{port}
	ts := startApp(t, cfg)

	urls := []string{pages.URL + "/slow.txt", pages.URL + "/fast.txt"}
	var job struct {
		ID string `json:"id"`
	}
	spec := map[string]any{"collection": "web", "sources": []map[string]string{{"url": urls[0]}, {"url": urls[1]}}}
	if code := call(t, "POST", ts.URL+"/v1/jobs", spec, &job); code != 202 {
		t.Fatalf("submit: %d", code)
	}

	stderr, wait := startCLI(context.Background(), map[string]string{"RAGD_URL": ts.URL}, append([]string{"ingest", "--collection", "web"}, urls...)...)
	if !waitUntil(20*time.Second, func() bool { return strings.Contains(stderr.String(), "following job "+job.ID) }) {
		open()
		t.Fatalf("the command did not follow the running job:\n%s", wait().stderr)
	}
	open()
	r := wait()
	c := counts(t, r)
	if r.code != 0 || c[0] != 2 || !strings.Contains(r.stdout, "job:       "+job.ID) {
		t.Errorf("exit %d, counts %v, want the job's 2 new documents:\n%s%s", r.code, c, r.stdout, r.stderr)
	}
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	call(t, "GET", ts.URL+"/v1/jobs?collection=web", nil, &list)
	if len(list.Data) != 1 {
		t.Errorf("%d jobs, want the one submitted", len(list.Data))
	}
}

// TestIngestDisplayOnTerminal draws uploads and a job on a terminal: one
// bar counting both, redrawn in place, cleared before the summary.
func TestIngestDisplayOnTerminal(t *testing.T) {
	var term, out bytes.Buffer
	env := &Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &term}
	d := newDisplay(env)
	d.r = jobs.NewRenderer(&term, true)
	d.r.Interval = 0
	d.addUploads(2, []jobs.Item{skippedItem("docs/fifo", "not_regular", "It is not a regular file.")})
	d.jobStarted(jobs.Job{ID: "j1", Status: jobs.StatusRunning, Progress: jobs.Progress{Total: 2, Running: 1}})
	d.uploadStarted("docs/a.md")
	d.uploadFinished(jobs.Item{Source: "docs/a.md", Status: "indexed", Indexed: 1, Chunks: 3, Embedded: 3})
	d.uploadStarted("docs/b.md")
	d.uploadFinished(jobs.Item{Source: "docs/b.md", Status: "failed", Reason: "invalid", Error: "file \"b.md\" is empty"})
	final := jobs.Job{ID: "j1", Status: jobs.StatusSucceeded, Progress: jobs.Progress{Total: 2, Done: 2, Indexed: 1, Unchanged: 1, Chunks: 5, Embedded: 2}}
	d.jobEvent(jobs.Event{Type: jobs.EventDone, JobID: "j1", Status: final.Status, Progress: final.Progress, Job: &final})
	err := d.summary("docs")
	if err == nil || !strings.Contains(err.Error(), "1 of 5 items failed") {
		t.Errorf("summary error %v, want 1 of 5 failed", err)
	}
	screen := term.String()
	for _, want := range []string{"\r\x1b[K1/3 [", "\r\x1b[K3/5 [", "\r\x1b[K5/5 [", "\r\x1b[Kfailed  docs/b.md: invalid"} {
		if !strings.Contains(screen, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, screen)
		}
	}
	if !strings.HasSuffix(screen, "\r\x1b[K") {
		t.Errorf("the bar was not cleared at the end:\n%q", screen)
	}
	for _, want := range []string{
		"Ingested 5 items into \"docs\"",
		"documents: 2 new, 0 updated, 1 unchanged, 1 failed, 1 skipped",
		"chunks:    8, 5 of them embedded",
		"job:       j1",
		"Failed (1):\n  docs/b.md: invalid",
		"Skipped (1):\n  docs/fifo: not_regular",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// TestIngestFollowsJobAcrossServerRestart kills the server (SIGKILL) while
// `ragd ingest` follows its URL job, and starts it again: the job resumes on
// the server and the command, reconnecting, reports it to its end.
func TestIngestFollowsJobAcrossServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	pages, port, open := gatedPages(t, "leases", isSlowPage)
	t.Setenv("RAGD_FETCH_ALLOW", "127.0.0.1")
	t.Setenv("RAGD_FETCH_PORTS", port)
	dataDir, addr := t.TempDir(), freeAddr(t)
	srv := startProcess(t, dataDir, addr)

	urls := []string{pages.URL + "/fast.txt", pages.URL + "/slow.txt"}
	stderr, wait := startCLI(context.Background(), map[string]string{"RAGD_URL": srv.url}, append([]string{"ingest", "--collection", "web"}, urls...)...)
	if !waitUntil(20*time.Second, func() bool { return strings.Contains(stderr.String(), "progress: ") }) {
		open()
		t.Fatalf("the command did not start following its job:\n%s", wait().stderr)
	}
	srv.kill9()
	open()
	startProcess(t, dataDir, addr)
	r := wait()
	c := counts(t, r)
	if r.code != 0 || c[0]+c[2] != 2 || c[3] != 0 {
		t.Errorf("exit %d, counts %v; want both pages ingested:\n%s%s", r.code, c, r.stdout, r.stderr)
	}
}

// unusedIngester stands in where a job manager only queues jobs and never
// runs them.
type unusedIngester struct{}

func (unusedIngester) IngestFile(context.Context, string, ingest.File, map[string]any) ([]ingest.Result, error) {
	return nil, ragd.Errorf(ragd.EInternal, "not running")
}

// TestIngestLocalFinishesEarlierJobs leaves two unfinished jobs in the job
// store: a --local run finishes the one whose folder it can read beside its
// own, and cancels the one whose folder has the name of its own.
func TestIngestLocalFinishesEarlierJobs(t *testing.T) {
	data := t.TempDir()
	alpha, bravo, otherBravo := notesFolder(t, "alpha"), notesFolder(t, "bravo"), notesFolder(t, "bravo")
	earlier := submitEarlier(t, data,
		jobs.Spec{Collection: "one", Sources: []jobs.Source{{Path: alpha}}},
		jobs.Spec{Collection: "two", Sources: []jobs.Source{{Path: otherBravo}}})
	j2 := earlier[1]

	r := ingestCLI(t, map[string]string{"RAGD_LOG_LEVEL": "error"}, "ingest", "--local", "--data-dir", data, "--embedder", "hash:64", "--collection", "three", bravo)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if c := counts(t, r); c[0] != 2 {
		t.Errorf("counts %v, want this run's 2 new documents", c)
	}
	for _, want := range []string{"finishing 1 earlier unfinished job", "cancelled unfinished job " + j2.ID} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	got := jobsAfter(t, data, earlier[0].ID, j2.ID)
	got1, got2 := got[0], got[1]
	if got1.Status != jobs.StatusSucceeded || got1.Progress.Indexed != 2 {
		t.Errorf("earlier job: %s with %d indexed, want succeeded with 2", got1.Status, got1.Progress.Indexed)
	}
	if got2.Status != jobs.StatusCancelled {
		t.Errorf("clashing job: %s, want cancelled", got2.Status)
	}
}

// TestIngestLocalPostgres runs `ragd ingest --local` on the Postgres store:
// the documents go to Postgres, the job stays in the data directory's job
// file, off the servers' shared queue, whose servers could not read this
// machine's folders.
func TestIngestLocalPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	dsn += sep + "pool_max_conns=2"
	if r := ingestCLI(t, nil, "migrate", "--database-url", dsn, "--database-schema", schema); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	data := t.TempDir()
	env := map[string]string{"RAGD_STORE": "postgres", "RAGD_DATABASE_URL": dsn, "RAGD_DATABASE_SCHEMA": schema, "RAGD_LOG_LEVEL": "error"}
	dir := mixedFolder(t)
	args := []string{"ingest", "--local", "--data-dir", data, "--embedder", "hash:64", "--collection", "mix", dir}
	checkMixedRun(t, ingestCLI(t, env, args...))
	if _, err := os.Stat(filepath.Join(data, "jobs.db")); err != nil {
		t.Errorf("no job file in the data directory: %v", err)
	}
	checkUnchangedRun(t, ingestCLI(t, env, args...))

	cfg := testConfig(t)
	cfg.Store, cfg.DatabaseURL, cfg.DBSchema, cfg.Embedder = "postgres", dsn, schema, "hash:64"
	ts := startApp(t, cfg)
	if got := len(documentSources(t, ts.URL, "mix")); got != mixedDocs {
		t.Errorf("%d documents in Postgres, want 4", got)
	}
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	call(t, "GET", ts.URL+"/v1/jobs", nil, &list)
	if len(list.Data) != 0 {
		t.Errorf("the shared queue has %d jobs, want none", len(list.Data))
	}
}

// TestIngestReportsCancelledJob cancels the URL job `ragd ingest` follows:
// the command ends with the job's outcome and a non-zero status.
func TestIngestReportsCancelledJob(t *testing.T) {
	pages, port, open := gatedPages(t, "quorum reads", func(string) bool { return true })
	cfg := testConfig(t)
	cfg.Embedder = "hash:64"
	cfg.FetchAllow = []string{"127.0.0.1/32"}
	cfg.FetchPorts = []string{port}
	ts := startApp(t, cfg)

	var urls []string
	for i := range 6 {
		urls = append(urls, fmt.Sprintf("%s/p%d.txt", pages.URL, i))
	}
	stderr, wait := startCLI(context.Background(), map[string]string{"RAGD_URL": ts.URL}, append([]string{"ingest", "--collection", "web"}, urls...)...)
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	followed := func() bool {
		call(t, "GET", ts.URL+"/v1/jobs?collection=web", nil, &list)
		return strings.Contains(stderr.String(), "progress: ") && len(list.Data) > 0
	}
	if !waitUntil(20*time.Second, followed) {
		open()
		t.Fatalf("no job followed:\n%s", wait().stderr)
	}
	if code := call(t, "POST", ts.URL+"/v1/jobs/"+list.Data[0].ID+"/cancel", nil, nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	r := wait()
	if r.code != 1 || !strings.Contains(r.stdout, list.Data[0].ID+", cancelled: ") || !strings.Contains(r.stderr, "was cancelled") {
		t.Errorf("exit %d; want the cancellation reported:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestIngestLocalCancelledJobFreesItsFolders: an earlier job cancelled
// because one of its folders clashes with this run's does not keep its
// other folders readable, so a later job with a folder of the same name as
// one of those is finished, not cancelled too.
func TestIngestLocalCancelledJobFreesItsFolders(t *testing.T) {
	data := t.TempDir()
	dirs := map[string]string{
		"bravo": notesFolder(t, "bravo"), "otherBravo": notesFolder(t, "bravo"),
		"charlie": notesFolder(t, "charlie"), "otherCharlie": notesFolder(t, "charlie"),
	}
	// The older job's first folder fits, its second clashes with this run's.
	earlier := submitEarlier(t, data,
		jobs.Spec{Collection: "one", Sources: []jobs.Source{{Path: dirs["charlie"]}, {Path: dirs["otherBravo"]}}},
		jobs.Spec{Collection: "two", Sources: []jobs.Source{{Path: dirs["otherCharlie"]}}})

	r := ingestCLI(t, map[string]string{"RAGD_LOG_LEVEL": "error"}, "ingest", "--local", "--data-dir", data, "--embedder", "hash:64", "--collection", "three", dirs["bravo"])
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	got := jobsAfter(t, data, earlier[0].ID, earlier[1].ID)
	gotClash, gotLater := got[0], got[1]
	if gotClash.Status != jobs.StatusCancelled {
		t.Errorf("clashing job: %s, want cancelled", gotClash.Status)
	}
	if gotLater.Status != jobs.StatusSucceeded || gotLater.Progress.Indexed != 2 {
		t.Errorf("later job: %s with %d indexed, want succeeded with 2:\n%s", gotLater.Status, gotLater.Progress.Indexed, r.stderr)
	}
}

// submitEarlier submits jobs to the job file of data directory data, as an
// interrupted earlier `ragd ingest --local` run would have left them.
func submitEarlier(t *testing.T, data string, specs ...jobs.Spec) []jobs.Job {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(data, "jobs.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := jobs.New(jobs.Config{Store: st, Ingester: unusedIngester{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var out []jobs.Job
	for _, spec := range specs {
		j, err := m.Submit(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

// jobsAfter reads jobs back from data directory data's job file.
func jobsAfter(t *testing.T, data string, ids ...string) []jobs.Job {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(data, "jobs.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []jobs.Job
	for _, id := range ids {
		j, _ := st.Job(context.Background(), id)
		out = append(out, j)
	}
	return out
}

// notesFolder makes a folder called name, in a temporary directory of its
// own, holding two Markdown notes whose text names the folder's path.
func notesFolder(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	os.MkdirAll(dir, 0o755)
	for i := range 2 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("n%d.md", i)), []byte(fmt.Sprintf("# %s %d\n\nText of %s number %d.\n", dir, i, dir, i)), 0o644)
	}
	return dir
}
