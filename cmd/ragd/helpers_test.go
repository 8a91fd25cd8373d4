package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/upstream/upstreamtest"
)

// evalDir is the shared evaluation data, beside the repository.
var evalDir = filepath.Join("..", "..", "..", "shared", "eval")

// testConfig is a configuration for an app under test: a fresh data
// directory, no model downloads, quiet logs.
func testConfig(t testing.TB) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Addr = "127.0.0.1:0"
	cfg.Embedder = "none"
	cfg.LLM = "extractive"
	cfg.Offline = true
	cfg.LogLevel = "error"
	cfg.ShutdownGrace = 2 * time.Second
	return cfg
}

// testServer is a running app.
type testServer struct {
	app  *App
	URL  string
	stop func()
}

// startApp builds the app from cfg and serves it on a loopback port until
// the test ends (or stop is called).
func startApp(t testing.TB, cfg Config) *testServer {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs io.Writer = io.Discard
	if testing.Verbose() {
		logs = os.Stderr
	}
	app, err := NewApp(context.Background(), cfg, newLogger(cfg, logs))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	stopped := false
	ts := &testServer{app: app, URL: "http://" + ln.Addr().String()}
	ts.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		app.Close()
	}
	t.Cleanup(ts.stop)
	return ts
}

// call sends a JSON request and decodes the JSON response.
func call(t testing.TB, method, url string, in any, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, data)
		}
	}
	return resp.StatusCode
}

// fileUpload is one file of a multipart upload.
type fileUpload struct{ name, data string }

// multipartOf encodes files as a multipart body.
func multipartOf(files []fileUpload) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, f.name))
		w, _ := mw.CreatePart(h)
		w.Write([]byte(f.data))
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// uploadFiles posts files as one multipart request.
func uploadFiles(t testing.TB, url string, files []fileUpload) (int, []documentResult) {
	t.Helper()
	body, ct := multipartOf(files)
	resp, err := http.Post(url, ct, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out struct {
		Data []documentResult `json:"data"`
	}
	json.Unmarshal(data, &out)
	if resp.StatusCode >= 300 {
		t.Logf("upload: %d %s", resp.StatusCode, data)
	}
	return resp.StatusCode, out.Data
}

// cfdocsPages returns the Cloudflare docs pages of the eval data, named by
// their paths under src/.
func cfdocsPages(t testing.TB) []fileUpload {
	t.Helper()
	root := filepath.Join(evalDir, "cfdocs", "src")
	var pages []fileUpload
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		pages = append(pages, fileUpload{name: filepath.ToSlash(rel), data: string(data)})
		return nil
	})
	if err != nil || len(pages) == 0 {
		t.Fatalf("the shared eval data must sit beside the repository (%s): %v", root, err)
	}
	return pages
}

// sseEvent is one received server-sent event and when it arrived.
type sseEvent struct {
	name string
	data string
	at   time.Time
}

// postStream posts a query and reads its whole event stream.
func postStream(t testing.TB, url string, body any) []sseEvent {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		data, _ := io.ReadAll(resp.Body)
		t.Fatalf("query: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	var events []sseEvent
	var name string
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return events
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			events = append(events, sseEvent{name: name, data: strings.TrimPrefix(line, "data: "), at: time.Now()})
		}
	}
}

// upstreamRequest is a request a provider fake recorded.
type upstreamRequest = upstreamtest.Request
