package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/api"
	"github.com/ragd/ragd/generate"
	"github.com/ragd/ragd/ingest"
)

// fakes records what the handlers asked of the use cases.
type fakes struct {
	mu       sync.Mutex
	files    []ingest.File
	texts    []ingest.Text
	meta     []map[string]any
	ingestFn func(f ingest.File) ([]ingest.Result, error)
	answerFn func(ctx context.Context, q ragd.Question, emit func(generate.Event) error) error
	question ragd.Question
}

func (f *fakes) CreateCollection(_ context.Context, c ragd.Collection) (ragd.Collection, error) {
	if c.Name == "exists" {
		return ragd.Collection{}, ragd.Errorf(ragd.EConflict, "collection %q already exists", c.Name)
	}
	return c, nil
}

func (f *fakes) IngestFile(_ context.Context, coll string, file ingest.File, meta map[string]any) ([]ingest.Result, error) {
	f.mu.Lock()
	f.files = append(f.files, file)
	f.meta = append(f.meta, meta)
	f.mu.Unlock()
	if f.ingestFn != nil {
		return f.ingestFn(file)
	}
	return []ingest.Result{{DocumentID: "d1", Source: file.Name, Status: ragd.StatusIndexed, Chunks: 2}}, nil
}

func (f *fakes) IngestText(_ context.Context, coll string, t ingest.Text) (ingest.Result, error) {
	f.mu.Lock()
	f.texts = append(f.texts, t)
	f.mu.Unlock()
	return ingest.Result{DocumentID: "t1", Status: ragd.StatusUnchanged, Chunks: 1}, nil
}

func (f *fakes) Collection(_ context.Context, name string) (ragd.Collection, error) {
	if name != "docs" {
		return ragd.Collection{}, ragd.Errorf(ragd.ENotFound, "collection %q does not exist", name)
	}
	return ragd.Collection{Name: name}, nil
}
func (f *fakes) Collections(context.Context) ([]ragd.Collection, error) { return nil, nil }
func (f *fakes) DeleteCollection(_ context.Context, name string) error {
	_, err := f.Collection(context.Background(), name)
	return err
}
func (f *fakes) Document(context.Context, string, string) (ragd.Document, error) {
	return ragd.Document{}, ragd.Errorf(ragd.ENotFound, "document does not exist")
}
func (f *fakes) Documents(context.Context, string, string, int) ([]ragd.Document, error) {
	return nil, nil
}
func (f *fakes) Chunks(context.Context, string, string) ([]ragd.Chunk, error) { return nil, nil }
func (f *fakes) DeleteDocument(context.Context, string, string) error {
	return fmt.Errorf("store exploded: password=hunter2")
}
func (f *fakes) Retrieve(_ context.Context, q ragd.Question) ([]ragd.Hit, ragd.Retrieval, error) {
	f.mu.Lock()
	f.question = q
	f.mu.Unlock()
	return []ragd.Hit{{ChunkID: "c1", Text: "hello"}}, ragd.Retrieval{Mode: ragd.ModeLexical, TopK: q.TopK}, nil
}
func (f *fakes) Answer(ctx context.Context, q ragd.Question, emit func(generate.Event) error) error {
	return f.answerFn(ctx, q, emit)
}

func newServer(t *testing.T, f *fakes, configure func(*api.Server)) *httptest.Server {
	t.Helper()
	s := &api.Server{Catalog: f, Ingester: f, Retriever: f, Answerer: f, Metrics: api.NewMetrics()}
	if configure != nil {
		configure(s)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func checkError(t *testing.T, resp *http.Response, body []byte, status int, code string) api.ErrorBody {
	t.Helper()
	var e api.ErrorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("status %d, body is not the error envelope: %s", resp.StatusCode, body)
	}
	if resp.StatusCode != status || e.Error.Code != code {
		t.Fatalf("got %d %q (%s), want %d %q", resp.StatusCode, e.Error.Code, e.Error.Message, status, code)
	}
	if e.Error.RequestID == "" || e.Error.RequestID != resp.Header.Get("X-Request-Id") {
		t.Errorf("request id %q, header %q", e.Error.RequestID, resp.Header.Get("X-Request-Id"))
	}
	return e
}

func jsonReq(t *testing.T, method, url, body string) *http.Request {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

func multipartBody(t *testing.T, parts map[string]string, files ...[2]string) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range files {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename=%q`, f[0])}
		w, _ := mw.CreatePart(h)
		w.Write([]byte(f[1]))
	}
	for k, v := range parts {
		mw.WriteField(k, v)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func TestErrorsAreEnvelopedAndLeakNothing(t *testing.T) {
	ts := newServer(t, &fakes{}, nil)
	tests := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"unknown route", jsonReq(t, "GET", ts.URL+"/v1/nope", ""), 404, ragd.ENotFound},
		{"unknown collection", jsonReq(t, "GET", ts.URL+"/v1/collections/missing", ""), 404, ragd.ENotFound},
		{"conflict", jsonReq(t, "POST", ts.URL+"/v1/collections", `{"name":"exists"}`), 409, ragd.EConflict},
		{"bad json", jsonReq(t, "POST", ts.URL+"/v1/collections", `{"name":`), 400, ragd.EInvalid},
		{"unknown field", jsonReq(t, "POST", ts.URL+"/v1/collections/docs/search", `{"query":"q","top-k":3}`), 400, ragd.EInvalid},
		{"top_k zero", jsonReq(t, "POST", ts.URL+"/v1/collections/docs/search", `{"query":"q","top_k":0}`), 400, ragd.EInvalid},
		{"filter operator", jsonReq(t, "POST", ts.URL+"/v1/collections/docs/search", `{"query":"q","filter":{"a":{"$regex":"x"}}}`), 400, ragd.EInvalid},
		{"internal", jsonReq(t, "DELETE", ts.URL+"/v1/collections/docs/documents/d1", ""), 500, ragd.EInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.req)
			checkError(t, resp, body, tt.status, tt.code)
			if bytes.Contains(body, []byte("hunter2")) || bytes.Contains(body, []byte("exploded")) {
				t.Errorf("internal details leaked: %s", body)
			}
		})
	}
}

// TestUploadMultipart also checks that upload file names are sanitized
// (RELIABILITY.md S-PT-1).
func TestUploadMultipart(t *testing.T) {
	f := &fakes{}
	ts := newServer(t, f, nil)
	body, ct := multipartBody(t, map[string]string{"metadata": `{"team":"docs","n":3}`},
		[2]string{"guides/intro.md", "# Intro"}, [2]string{`..\..\evil.txt`, "x"}, [2]string{"/etc/passwd", "y"})
	req, _ := http.NewRequest("POST", ts.URL+"/v1/collections/docs/documents", body)
	req.Header.Set("Content-Type", ct)
	resp, data := do(t, req)
	if resp.StatusCode != 201 {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	names := []string{}
	for _, file := range f.files {
		names = append(names, file.Name)
	}
	if strings.Join(names, ",") != "guides/intro.md,evil.txt,etc/passwd" {
		t.Errorf("sanitized names = %v", names)
	}
	if f.meta[0]["team"] != "docs" || f.meta[0]["n"] != 3.0 {
		t.Errorf("metadata = %v", f.meta[0])
	}
}

// TestUploadBadInputChangesNothing covers multipart abuse (RELIABILITY.md
// H-13): a 2 GB body, an oversized chunked body, malformed multipart and
// too many parts are refused before anything is ingested.
func TestUploadBadInputChangesNothing(t *testing.T) {
	f := &fakes{}
	ts := newServer(t, f, func(s *api.Server) {
		s.Limits = api.Limits{MaxUploadBytes: 1 << 20, MaxRequestBytes: 1 << 16, MaxParts: 10}
	})
	post := func(body io.Reader, ct string, length int64) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", ts.URL+"/v1/collections/docs/documents", body)
		req.Header.Set("Content-Type", ct)
		if length > 0 {
			req.ContentLength = length
		}
		return do(t, req)
	}
	// A 2 GB body is refused from its Content-Length, before it is sent.
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /v1/collections/docs/documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n", int64(2)<<30)
	raw, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(raw.Body)
	conn.Close()
	checkError(t, raw, data, 413, ragd.ETooLarge)
	// A chunked body over the limit.
	big, ct := multipartBody(t, nil, [2]string{"big.txt", strings.Repeat("x", 2<<20)})
	resp, data := post(io.MultiReader(big), ct, -1)
	checkError(t, resp, data, 413, ragd.ETooLarge)
	// Malformed multipart: a good part, then garbage.
	good, ct := multipartBody(t, nil, [2]string{"a.txt", "fine"})
	broken := bytes.TrimSuffix(good.Bytes(), []byte("--\r\n"))
	broken = append(broken[:len(broken)-10], []byte("garbage")...)
	resp, data = post(bytes.NewReader(broken), ct, 0)
	checkError(t, resp, data, 400, ragd.EInvalid)
	// Too many parts.
	var files [][2]string
	for i := 0; i < 20; i++ {
		files = append(files, [2]string{fmt.Sprintf("f%d.txt", i), "x"})
	}
	many, ct := multipartBody(t, nil, files...)
	resp, data = post(many, ct, 0)
	checkError(t, resp, data, 400, ragd.EInvalid)
	// No file part; unknown field; wrong content type; empty JSON text.
	none, ct := multipartBody(t, map[string]string{"other": "x"})
	resp, data = post(none, ct, 0)
	checkError(t, resp, data, 400, ragd.EInvalid)
	resp, data = post(strings.NewReader("hello"), "text/plain", 0)
	checkError(t, resp, data, 415, ragd.EUnsupported)
	resp, data = post(strings.NewReader(`{"text":"  "}`), "application/json", 0)
	checkError(t, resp, data, 400, ragd.EInvalid)
	if len(f.files) != 0 || len(f.texts) != 0 {
		t.Errorf("bad requests reached ingestion: %d files, %d texts", len(f.files), len(f.texts))
	}
}

func TestUploadReportsPerFileFailures(t *testing.T) {
	f := &fakes{ingestFn: func(file ingest.File) ([]ingest.Result, error) {
		if strings.HasSuffix(file.Name, ".bin") {
			return nil, ragd.Errorf(ragd.EUnsupported, "%s is not a document", file.Name)
		}
		return []ingest.Result{{DocumentID: "d", Status: ragd.StatusIndexed}}, nil
	}}
	ts := newServer(t, f, nil)
	body, ct := multipartBody(t, nil, [2]string{"a.txt", "x"}, [2]string{"b.bin", "y"})
	req, _ := http.NewRequest("POST", ts.URL+"/v1/collections/docs/documents", body)
	req.Header.Set("Content-Type", ct)
	resp, data := do(t, req)
	if resp.StatusCode != 201 || !strings.Contains(string(data), `"status":"failed"`) || !strings.Contains(string(data), ragd.EUnsupported) {
		t.Errorf("mixed upload: %d %s", resp.StatusCode, data)
	}
	// A single failing file is the error itself.
	body, ct = multipartBody(t, nil, [2]string{"b.bin", "y"})
	req, _ = http.NewRequest("POST", ts.URL+"/v1/collections/docs/documents", body)
	req.Header.Set("Content-Type", ct)
	resp, data = do(t, req)
	checkError(t, resp, data, 415, ragd.EUnsupported)
}

func TestAuth(t *testing.T) {
	ts := newServer(t, &fakes{}, func(s *api.Server) { s.APIKeys = []string{"k1", "k2"} })
	for _, path := range []string{"/v1/collections", "/V1/collections", "/v1/collections/", "//v1/collections", "/v1%2Fcollections"} {
		resp, _ := do(t, jsonReq(t, "GET", ts.URL+path, ""))
		if resp.StatusCode < 400 {
			t.Errorf("GET %s without a key: %d", path, resp.StatusCode)
		}
	}
	req := jsonReq(t, "GET", ts.URL+"/v1/collections", "")
	req.Header.Set("Authorization", "Bearer wrong")
	resp, body := do(t, req)
	checkError(t, resp, body, 401, ragd.EUnauthorized)
	req.Header.Set("Authorization", "Bearer k2")
	if resp, body := do(t, req); resp.StatusCode != 200 {
		t.Errorf("valid key: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, jsonReq(t, "GET", ts.URL+"/healthz", "")); resp.StatusCode != 200 {
		t.Errorf("healthz needs no key: %d", resp.StatusCode)
	}
}

// readEvents reads an SSE stream, returning the event names with their data
// and when each arrived.
func readEvents(t *testing.T, r io.Reader) (names []string, data []string, at []time.Time) {
	t.Helper()
	br := bufio.NewReader(r)
	var name string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			names = append(names, name)
			data = append(data, strings.TrimPrefix(line, "data: "))
			at = append(at, time.Now())
		}
	}
}

func TestQueryStreamsDeltasAsTheyArrive(t *testing.T) {
	release := make(chan struct{})
	f := &fakes{answerFn: func(ctx context.Context, q ragd.Question, emit func(generate.Event) error) error {
		emit(generate.Event{Kind: generate.EventSources, Sources: []ragd.Source{{N: 1, Hit: ragd.Hit{ChunkID: "c"}}}, Retrieval: ragd.Retrieval{Mode: ragd.ModeLexical}})
		emit(generate.Event{Kind: generate.EventDelta, Text: "first"})
		<-release // the upstream is slow
		emit(generate.Event{Kind: generate.EventDelta, Text: " second [1]"})
		return emit(generate.Event{Kind: generate.EventDone, Citations: []int{1}})
	}}
	ts := newServer(t, f, nil)
	resp, err := http.DefaultClient.Do(jsonReq(t, "POST", ts.URL+"/v1/collections/docs/query", `{"query":"q"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	// The first delta arrives while the upstream is still blocked.
	deadline := time.After(5 * time.Second)
	got := make(chan string, 1)
	go func() {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if strings.Contains(line, `"first"`) {
				got <- line
				return
			}
		}
	}()
	select {
	case <-got:
	case <-deadline:
		t.Fatal("first delta did not arrive before the upstream finished")
	}
	close(release)
	names, _, _ := readEvents(t, br)
	if strings.Join(names, ",") != "delta,done" {
		t.Errorf("rest of stream = %v", names)
	}
}

func TestQueryStreamEndsWithOneTerminalEvent(t *testing.T) {
	f := &fakes{answerFn: func(ctx context.Context, q ragd.Question, emit func(generate.Event) error) error {
		emit(generate.Event{Kind: generate.EventSources})
		emit(generate.Event{Kind: generate.EventDelta, Text: "x"})
		return ragd.WrapError(ragd.EUpstream, fmt.Errorf("account 1234 token abc"), "the model service failed")
	}}
	ts := newServer(t, f, nil)
	resp, body := do(t, jsonReq(t, "POST", ts.URL+"/v1/collections/docs/query", `{"query":"q"}`))
	names, data, _ := readEvents(t, bytes.NewReader(body))
	if resp.StatusCode != 200 || strings.Join(names, ",") != "sources,delta,error" {
		t.Fatalf("events = %v", names)
	}
	if !strings.Contains(data[2], `"code":"upstream"`) || strings.Contains(string(body), "1234") {
		t.Errorf("error event = %s", data[2])
	}
	// Before the stream starts, a failure is a plain error response.
	f.answerFn = func(ctx context.Context, q ragd.Question, emit func(generate.Event) error) error {
		return ragd.Errorf(ragd.ENotFound, "collection %q does not exist", q.Collection)
	}
	resp, body = do(t, jsonReq(t, "POST", ts.URL+"/v1/collections/docs/query", `{"query":"q"}`))
	checkError(t, resp, body, 404, ragd.ENotFound)
}

func TestQueryJSON(t *testing.T) {
	f := &fakes{answerFn: func(ctx context.Context, q ragd.Question, emit func(generate.Event) error) error {
		emit(generate.Event{Kind: generate.EventSources, Sources: []ragd.Source{{N: 1}}, Retrieval: ragd.Retrieval{Mode: "lexical"}})
		emit(generate.Event{Kind: generate.EventDelta, Text: "a [1]"})
		return emit(generate.Event{Kind: generate.EventDone, Citations: []int{1}, Usage: ragd.Usage{PromptTokens: 5}})
	}}
	ts := newServer(t, f, nil)
	resp, body := do(t, jsonReq(t, "POST", ts.URL+"/v1/collections/docs/query", `{"query":"q","stream":false}`))
	var ans ragd.Answer
	if err := json.Unmarshal(body, &ans); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if ans.Answer != "a [1]" || len(ans.Citations) != 1 || ans.Retrieval.Mode != "lexical" || ans.Usage.PromptTokens != 5 {
		t.Errorf("answer = %+v", ans)
	}
}

func TestQueryClientDisconnectCancels(t *testing.T) {
	cancelled := make(chan struct{})
	f := &fakes{answerFn: func(ctx context.Context, q ragd.Question, emit func(generate.Event) error) error {
		emit(generate.Event{Kind: generate.EventSources})
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				close(cancelled)
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
				emit(generate.Event{Kind: generate.EventDelta, Text: "tok"})
			}
		}
	}}
	ts := newServer(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req := jsonReq(t, "POST", ts.URL+"/v1/collections/docs/query", `{"query":"q"}`).WithContext(ctx)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	br.ReadString('\n')
	cancel()
	resp.Body.Close()
	select {
	case <-cancelled:
	case <-time.After(time.Second):
		t.Fatal("the answer was not cancelled within a second of the client leaving")
	}
}

func TestShutdownEndsStreamsWithAnEvent(t *testing.T) {
	started := make(chan struct{})
	f := &fakes{answerFn: func(ctx context.Context, q ragd.Question, emit func(generate.Event) error) error {
		emit(generate.Event{Kind: generate.EventSources})
		close(started)
		<-ctx.Done()
		return ragd.WrapError(ragd.EUpstream, ctx.Err(), "cancelled")
	}}
	var srv *api.Server
	ts := newServer(t, f, func(s *api.Server) { srv = s })
	done := make(chan []string)
	go func() {
		resp, err := http.DefaultClient.Do(jsonReq(t, "POST", ts.URL+"/v1/collections/docs/query", `{"query":"q"}`))
		if err != nil {
			done <- nil
			return
		}
		defer resp.Body.Close()
		names, data, _ := readEvents(t, resp.Body)
		done <- append(names, data...)
	}()
	<-started
	srv.BeginShutdown()
	select {
	case got := <-done:
		if len(got) < 2 || got[1] != "error" || !strings.Contains(strings.Join(got, " "), "shutting down") {
			t.Errorf("stream = %v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not end at shutdown")
	}
}

func TestSearchPassesTheQuestion(t *testing.T) {
	f := &fakes{}
	ts := newServer(t, f, nil)
	resp, body := do(t, jsonReq(t, "POST", ts.URL+"/v1/collections/docs/search", `{"query":"q","top_k":7,"mode":"lexical","filter":{"lang":{"$in":["en","de"]}},"min_score":0.5}`))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"retrieval":{"mode":"lexical"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	q := f.question
	if q.TopK != 7 || q.Mode != "lexical" || q.MinScore != 0.5 || q.Filter == nil || q.Filter.Op != ragd.OpIn {
		t.Errorf("question = %+v", q)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	ts := newServer(t, &fakes{}, func(s *api.Server) {
		s.Ready = func(context.Context) api.Readiness {
			return api.Readiness{Ready: false, Status: "unavailable", Details: map[string]any{"store": "down"}}
		}
	})
	do(t, jsonReq(t, "GET", ts.URL+"/v1/collections", ""))
	resp, body := do(t, jsonReq(t, "GET", ts.URL+"/metrics", ""))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `ragd_http_requests_total{method="GET",route="/v1/collections",status="200"} 1`) {
		t.Errorf("metrics: %d %.300s", resp.StatusCode, body)
	}
	resp, body = do(t, jsonReq(t, "GET", ts.URL+"/readyz", ""))
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"store":"down"`) {
		t.Errorf("readyz: %d %s", resp.StatusCode, body)
	}
}

// TestSlowBodyTimesOut checks H-13's slow body: a client that sends its
// body at a byte every 50 ms gets 408 request_timeout once the body falls
// behind the minimum rate, with the connection closed and nothing ingested,
// while a small body followed by an answer that streams for longer than
// the grace is not cut.
func TestSlowBodyTimesOut(t *testing.T) {
	f := &fakes{answerFn: func(ctx context.Context, q ragd.Question, emit func(generate.Event) error) error {
		emit(generate.Event{Kind: generate.EventDelta, Text: "slow"})
		select {
		case <-time.After(time.Second): // longer than the grace
		case <-ctx.Done():
			return ctx.Err()
		}
		return emit(generate.Event{Kind: generate.EventDone})
	}}
	ts := newServer(t, f, func(s *api.Server) {
		s.Limits = api.DefaultLimits
		s.Limits.BodyGrace, s.Limits.BodyMinRate = 300*time.Millisecond, 1000
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body, ct := multipartBody(t, nil, [2]string{"a.txt", strings.Repeat("x", 5000)})
	fmt.Fprintf(conn, "POST /v1/collections/docs/documents HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ct, body.Len())
	start := time.Now()
	go func() {
		for b := range bytes.SplitSeq(body.Bytes(), nil) {
			if _, err := conn.Write(b); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	raw, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a slow body after %v: %v", time.Since(start), err)
	}
	data, _ := io.ReadAll(raw.Body)
	e := checkError(t, raw, data, http.StatusRequestTimeout, ragd.ETimeout)
	if !strings.Contains(e.Error.Message, "too slowly") || !raw.Close {
		t.Errorf("message %q, connection close %v", e.Error.Message, raw.Close)
	}
	if len(f.files) != 0 {
		t.Errorf("a slow body reached ingestion")
	}

	// A body sent at once is fine however large the grace makes it look.
	fast, ct := multipartBody(t, nil, [2]string{"b.txt", strings.Repeat("y ", 200_000)})
	req, _ := http.NewRequest("POST", ts.URL+"/v1/collections/docs/documents", fast)
	req.Header.Set("Content-Type", ct)
	if resp, data := do(t, req); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("fast upload: %d %s", resp.StatusCode, data)
	}
	// The deadline ends with the body: an answer that streams past the
	// grace completes, twice on one keep-alive connection.
	for range 2 {
		resp, data := do(t, jsonReq(t, "POST", ts.URL+"/v1/collections/docs/query", `{"query":"q"}`))
		if names, _, _ := readEvents(t, bytes.NewReader(data)); resp.StatusCode != 200 || strings.Join(names, ",") != "delta,done" {
			t.Fatalf("stream after a small body: %d %v %s", resp.StatusCode, names, data)
		}
	}
}
