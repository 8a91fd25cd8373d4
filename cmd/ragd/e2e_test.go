package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/openai/openaitest"
	"github.com/ragd/ragd/workersai/workersaitest"
)

// withOpenAI points cfg's embedder and LLM at an OpenAI-compatible fake.
func withOpenAI(cfg Config, fake *openaitest.Server) Config {
	oc := fake.Config()
	cfg.OpenAIURL = oc.BaseURL
	cfg.OpenAIAPIKey = oc.APIKey
	cfg.Embedder = "openai:" + oc.EmbeddingModel
	cfg.LLM = "openai:" + oc.ChatModel
	return cfg
}

func embeddingCalls(fake interface {
	Requests() []upstreamRequest
}) int {
	n := 0
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/embeddings") {
			n++
		}
	}
	return n
}

// TestCfdocsUploadAskStream is the walking skeleton: every cfdocs page
// uploaded as Markdown is indexed with chunks; uploading them again is
// unchanged with no embedding work; a question streams sources, deltas as
// they arrive from a slow upstream, and done with citations of sent
// sources; a restart keeps everything.
func TestCfdocsUploadAskStream(t *testing.T) {
	fake := openaitest.NewServer(t, openaitest.Options{
		Answer:     "Vectorize is priced by queried and stored vector dimensions [1]. See also [2] and [9].",
		TokenDelay: 30 * time.Millisecond,
	})
	cfg := withOpenAI(testConfig(t), fake)
	srv := startApp(t, cfg)
	docsURL := srv.URL + "/v1/collections/cfdocs/documents"
	pages := cfdocsPages(t)
	if len(pages) != 281 {
		t.Fatalf("found %d cfdocs pages, want 281", len(pages))
	}

	upload := func() (statuses map[string]int, chunks int) {
		statuses = map[string]int{}
		for i := 0; i < len(pages); i += 20 {
			batch := pages[i:min(i+20, len(pages))]
			code, results := uploadFiles(t, docsURL, batch)
			if len(results) != len(batch) {
				t.Fatalf("batch at %d: status %d, %d results for %d files", i, code, len(results), len(batch))
			}
			for _, r := range results {
				statuses[r.Status]++
				if r.Status != ragd.StatusUnchanged {
					chunks += r.Chunks
				}
				if r.Status == ragd.StatusFailed || r.Chunks == 0 {
					t.Errorf("%s: %s with %d chunks (%+v)", r.Source, r.Status, r.Chunks, r.Error)
				}
				if r.Status != ragd.StatusUnchanged && code != http.StatusCreated {
					t.Errorf("batch at %d: status %d for new documents", i, code)
				}
				if r.Status == ragd.StatusUnchanged && r.Embedded != 0 {
					t.Errorf("%s: unchanged but %d chunks embedded", r.Source, r.Embedded)
				}
			}
		}
		return statuses, chunks
	}
	first, chunks := upload()
	if first[ragd.StatusIndexed] != 281 {
		t.Fatalf("first upload statuses = %v", first)
	}
	calls := embeddingCalls(fake)
	second, chunks2 := upload()
	if second[ragd.StatusUnchanged] != 281 || chunks2 != 0 {
		t.Fatalf("second upload statuses = %v, %d chunks written", second, chunks2)
	}
	if got := embeddingCalls(fake); got != calls {
		t.Errorf("re-upload made %d embedding calls", got-calls)
	}
	var coll ragd.Collection
	call(t, "GET", srv.URL+"/v1/collections/cfdocs", nil, &coll)
	if coll.DocumentCount != 281 || coll.ChunkCount != chunks || coll.Dimension != openaitest.Dim {
		t.Errorf("collection = %+v, want 281 documents and %d chunks", coll, chunks)
	}

	start := time.Now()
	events := postStream(t, srv.URL+"/v1/collections/cfdocs/query", map[string]any{"query": "How is Vectorize priced?"})
	names := []string{}
	for _, e := range events {
		if len(names) == 0 || names[len(names)-1] != e.name {
			names = append(names, e.name)
		}
	}
	if strings.Join(names, ",") != "sources,delta,done" {
		t.Fatalf("event order = %v", names)
	}
	var src struct {
		Sources   []ragd.Source  `json:"sources"`
		Retrieval ragd.Retrieval `json:"retrieval"`
	}
	json.Unmarshal([]byte(events[0].data), &src)
	if len(src.Sources) == 0 || src.Retrieval.Mode != ragd.ModeHybrid {
		t.Fatalf("sources event = %s", events[0].data)
	}
	// The first delta reached us well before the slow upstream finished.
	firstDelta, done := events[1], events[len(events)-1]
	if gap := done.at.Sub(firstDelta.at); gap < 150*time.Millisecond {
		t.Errorf("first delta %v before done: the stream is buffered", gap)
	}
	var answer strings.Builder
	for _, e := range events[1 : len(events)-1] {
		var d struct{ Text string }
		json.Unmarshal([]byte(e.data), &d)
		answer.WriteString(d.Text)
	}
	if !strings.Contains(answer.String(), "queried and stored vector dimensions") {
		t.Errorf("answer = %q", answer.String())
	}
	var fin struct {
		Citations []int      `json:"citations"`
		Usage     ragd.Usage `json:"usage"`
	}
	json.Unmarshal([]byte(done.data), &fin)
	for _, c := range fin.Citations {
		if c < 1 || c > len(src.Sources) {
			t.Errorf("citation %d of %d sources sent", c, len(src.Sources))
		}
	}
	if !slices.Contains(fin.Citations, 1) || slices.Contains(fin.Citations, 9) || fin.Usage.CompletionTokens == 0 {
		t.Errorf("done = %s", done.data)
	}
	t.Logf("query streamed in %v", time.Since(start))

	// A restart keeps every document and gives the same search results.
	search := map[string]any{"query": "vector dimensions pricing", "top_k": 5}
	var before, after struct{ Data []ragd.Hit }
	call(t, "POST", srv.URL+"/v1/collections/cfdocs/search", search, &before)
	srv.stop()
	srv = startApp(t, cfg)
	// The embedder loads in the background; until it has, search is
	// lexical (and says so).
	waitEmbedder(t, srv.URL, cfg.Embedder)
	call(t, "POST", srv.URL+"/v1/collections/cfdocs/search", search, &after)
	if len(before.Data) != 5 || !slices.EqualFunc(before.Data, after.Data, func(a, b ragd.Hit) bool { return a.ChunkID == b.ChunkID }) {
		t.Errorf("search after restart differs:\n%v\n%v", before.Data, after.Data)
	}
	call(t, "GET", srv.URL+"/v1/collections/cfdocs", nil, &coll)
	if coll.DocumentCount != 281 {
		t.Errorf("after restart: %d documents", coll.DocumentCount)
	}
}

// TestAnswerThroughWorkersAI streams a full answer through the Workers AI
// client (chosen automatically from the credentials), and `ragd query`
// prints it.
func TestAnswerThroughWorkersAI(t *testing.T) {
	fake := workersaitest.NewServer(t, workersaitest.Options{Answer: "Workers AI runs models on Cloudflare's network [1].", TokenDelay: 5 * time.Millisecond})
	cfg := testConfig(t)
	cfg.LLM = "auto"
	cfg.Embedder = "workersai:@cf/baai/bge-base-en-v1.5"
	cfg.CloudflareAccountID, cfg.CloudflareAPIToken, cfg.WorkersAIURL = workersaitest.Account, workersaitest.Token, fake.URL
	srv := startApp(t, cfg)
	code, res := uploadFiles(t, srv.URL+"/v1/collections/wai/documents", []fileUpload{{"workers-ai.md", "# Workers AI\n\nWorkers AI runs machine learning models on Cloudflare's global network.\n"}})
	if code != 201 || res[0].Embedded == 0 {
		t.Fatalf("upload: %d %+v", code, res)
	}
	var out, errOut bytes.Buffer
	env := &Env{
		Args:   []string{"query", "--collection", "wai", "--url", srv.URL, "What does Workers AI do?"},
		Getenv: func(string) string { return "" },
		Stdout: &out, Stderr: &errOut,
	}
	if err := Run(context.Background(), env); err != nil {
		t.Fatalf("ragd query: %v\n%s", err, errOut.String())
	}
	got := out.String()
	if !strings.Contains(got, "Workers AI runs models on Cloudflare's network [1].") || !strings.Contains(got, "*[1] Workers AI") {
		t.Errorf("ragd query printed:\n%s", got)
	}
}

// TestBadInputChangesNothing sends the bad inputs of the walking-skeleton
// issue and checks each gets its documented error while the collection
// stays as it was.
func TestBadInputChangesNothing(t *testing.T) {
	cfg := testConfig(t)
	srv := startApp(t, cfg)
	base := srv.URL + "/v1/collections/docs"
	if code, _ := uploadFiles(t, base+"/documents", []fileUpload{{"keep.md", "# Keep\n\nThis document stays."}}); code != 201 {
		t.Fatalf("setup upload: %d", code)
	}
	var before ragd.Collection
	call(t, "GET", base, nil, &before)
	if resp, err := http.Get(srv.URL + "/metrics"); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, stage := range []string{"extract", "chunk", "embed", "store"} {
			if want := `ragd_ingest_stage_seconds_count{stage="` + stage + `"} 1`; !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	}

	type apiErr struct {
		Error struct{ Code, Message string }
	}
	check := func(name string, status int, code string, gotStatus int, body apiErr) {
		t.Helper()
		if gotStatus != status || body.Error.Code != code || body.Error.Message == "" {
			t.Errorf("%s: got %d %q %q, want %d %q", name, gotStatus, body.Error.Code, body.Error.Message, status, code)
		}
	}
	var e apiErr
	code, _ := uploadFiles(t, base+"/documents", []fileUpload{{"empty.txt", ""}})
	if code != 400 {
		t.Errorf("empty file: %d", code)
	}
	code, _ = uploadFiles(t, base+"/documents", []fileUpload{{"a.bin", "\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00>\x00\x01\x00\x00\x00"}})
	if code != 415 {
		t.Errorf("binary file: %d", code)
	}
	req, _ := http.NewRequest("POST", base+"/documents", strings.NewReader("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhalf a part"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	check("malformed multipart", 400, ragd.EInvalid, resp.StatusCode, e)

	for _, tc := range []struct {
		name, method, url string
		body              any
		status            int
		code              string
	}{
		{"unknown collection", "POST", srv.URL + "/v1/collections/nope/search", map[string]any{"query": "x"}, 404, ragd.ENotFound},
		{"unknown filter operator", "POST", base + "/search", map[string]any{"query": "x", "filter": map[string]any{"a": map[string]any{"$gt": 1}}}, 400, ragd.EInvalid},
		{"100,000-character query", "POST", base + "/search", map[string]any{"query": strings.Repeat("a", 100000)}, 400, ragd.EInvalid},
		{"top_k 0", "POST", base + "/search", map[string]any{"query": "x", "top_k": 0}, 400, ragd.EInvalid},
		{"top_k 10,000", "POST", base + "/search", map[string]any{"query": "x", "top_k": 10000}, 400, ragd.EInvalid},
		{"query top_k 10,000", "POST", base + "/query", map[string]any{"query": "x", "top_k": 10000, "stream": false}, 400, ragd.EInvalid},
		{"query of 100,000 characters", "POST", base + "/query", map[string]any{"query": strings.Repeat("a", 100000)}, 400, ragd.EInvalid},
	} {
		e = apiErr{}
		check(tc.name, tc.status, tc.code, call(t, tc.method, tc.url, tc.body, &e), e)
	}

	var after ragd.Collection
	call(t, "GET", base, nil, &after)
	if after.DocumentCount != before.DocumentCount || after.ChunkCount != before.ChunkCount {
		t.Errorf("bad input changed the collection: %+v -> %+v", before, after)
	}
}

// TestUploadRecordsWithABadLine uploads JSON Lines with one broken line:
// the good records are indexed and the broken one is reported by line.
func TestUploadRecordsWithABadLine(t *testing.T) {
	srv := startApp(t, testConfig(t))
	jsonl := `{"id":"a","title":"Alpha","text":"Alpha particles are helium nuclei."}
{"id":"b","title":"Beta", "text": broken}
{"id":"c","title":"Gamma","text":"Gamma rays are photons of high energy."}
`
	body, ct := multipartOf([]fileUpload{{"records.jsonl", jsonl}})
	resp, err := http.Post(srv.URL+"/v1/collections/rec/documents", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data []documentResult `json:"data"`
	}
	if err := jsonDecode(resp.Body, &out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || len(out.Data) != 2 {
		t.Fatalf("upload: %d %+v", resp.StatusCode, out.Data)
	}
	if out.Data[0].Status != "indexed" || out.Data[0].Chunks == 0 {
		t.Errorf("good records: %+v", out.Data[0])
	}
	if bad := out.Data[1]; bad.Status != "failed" || bad.Error == nil || bad.Error.Code != ragd.EInvalid || !strings.Contains(bad.Error.Message, "line 2") {
		t.Errorf("bad record: %+v %+v", bad, bad.Error)
	}
	var hits struct{ Data []ragd.Hit }
	call(t, "POST", srv.URL+"/v1/collections/rec/search", map[string]any{"query": "gamma rays photons", "mode": "lexical"}, &hits)
	if len(hits.Data) == 0 || !strings.Contains(hits.Data[0].Text, "Gamma rays") {
		t.Errorf("search after a partial upload: %+v", hits.Data)
	}
}
