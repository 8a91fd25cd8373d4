package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/store/postgres/pgtest"
	"github.com/ragd/ragd/store/qdrant/qdranttest"
)

// TestPostgresStoreEndToEnd runs ragd on the Postgres store: migrate,
// uploads, unchanged re-uploads, vector, lexical and hybrid search, a
// streamed answer, a batch job on the Postgres queue, a second ragd on the
// same database, and a restart that finds everything again.
func TestPostgresStoreEndToEnd(t *testing.T) {
	dsn := pgtest.DSN(t)
	cfg := testConfig(t)
	cfg.Store = "postgres"
	// Small pools: two ragd processes share the test server with other
	// test packages.
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	cfg.DatabaseURL = dsn + sep + "pool_max_conns=2"
	cfg.DBSchema = pgtest.Schema(t, dsn)

	// ragd migrate creates the schema; serve then finds nothing pending.
	var out, errb bytes.Buffer
	env := &Env{Args: []string{"migrate", "--database-url", dsn, "--database-schema", cfg.DBSchema}, Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if err := Run(context.Background(), env); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "applied 0001_store.sql") {
		t.Errorf("migrate printed %q", out.String())
	}
	out.Reset()
	if err := Run(context.Background(), env); err != nil || !strings.Contains(out.String(), "up to date") {
		t.Errorf("second migrate: %v %q", err, out.String())
	}

	storeEndToEnd(t, cfg)
}

// TestQdrantStoreEndToEnd runs ragd on the Qdrant store (the stand-in, or
// a real Qdrant at RAGD_TEST_QDRANT_ADDR) through the same life as the
// Postgres test, then takes Qdrant away and brings it back.
func TestQdrantStoreEndToEnd(t *testing.T) {
	cfg := testConfig(t)
	cfg.Store = "qdrant"
	var standIn *qdranttest.Server
	if addr := os.Getenv("RAGD_TEST_QDRANT_ADDR"); addr != "" {
		cfg.QdrantURL = addr
		cfg.QdrantPrefix = fmt.Sprintf("ragdtest_%d_", time.Now().UnixNano())
	} else {
		standIn = qdranttest.Start(t, qdranttest.Config{})
		cfg.QdrantURL = standIn.Addr()
	}
	srv := storeEndToEnd(t, cfg)
	if standIn == nil {
		return
	}

	// Qdrant goes away: requests fail fast with 503 unavailable and
	// /readyz says so; when Qdrant is back ragd serves again by itself.
	standIn.Stop()
	var env struct {
		Error struct{ Code, Message string }
	}
	if code := call(t, "POST", srv.URL+"/v1/collections/kb/search", map[string]any{"query": "bread", "mode": "lexical"}, &env); code != 503 || env.Error.Code != "unavailable" {
		t.Errorf("search with Qdrant down: %d %+v", code, env)
	}
	if code := call(t, "GET", srv.URL+"/readyz", nil, nil); code != 503 {
		t.Errorf("readyz with Qdrant down: %d", code)
	}
	if err := standIn.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code := call(t, "POST", srv.URL+"/v1/collections/kb/search", map[string]any{"query": "bread", "mode": "lexical"}, nil)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search after Qdrant came back: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// storeEndToEnd takes ragd on cfg's store through uploads, unchanged
// re-uploads, vector, lexical and hybrid search, a batch job, a streamed
// answer, a second ragd on the same store, a restart that finds everything
// again and a delete. It returns the running server.
func storeEndToEnd(t *testing.T, cfg Config) *testServer {
	t.Helper()
	cfg.Embedder = "hash:64"
	root := t.TempDir()
	cfg.IngestRoots = []string{root}
	for name, text := range map[string]string{"glass.txt": "Glass is made by melting sand.", "salt.txt": "Sea salt is left when sea water evaporates."} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := startApp(t, cfg)
	base := srv.URL + "/v1/collections/kb"
	files := []fileUpload{
		{"tides.md", "# Tides\n\nThe moon's gravity pulls the oceans, which makes the tides rise and fall twice a day."},
		{"bread.md", "# Bread\n\nYeast ferments the sugars in dough and the carbon dioxide makes the bread rise."},
		{"rust.md", "# Rust\n\nIron exposed to water and oxygen oxidises into rust over time."},
	}
	code, docs := uploadFiles(t, base+"/documents", files)
	if code != 201 || len(docs) != 3 {
		t.Fatalf("upload: %d %+v", code, docs)
	}
	for _, d := range docs {
		if d.Status != "indexed" || d.Chunks == 0 || d.Embedded != d.Chunks {
			t.Errorf("upload %s: %+v", d.Title, d)
		}
	}
	if code, again := uploadFiles(t, base+"/documents", files[:1]); code != 200 || again[0].Status != "unchanged" || again[0].Embedded != 0 {
		t.Errorf("re-upload: %d %+v", code, again)
	}

	search := func(url, mode string) string {
		t.Helper()
		var res struct {
			Data []struct {
				DocumentID string `json:"document_id"`
				Title      string `json:"title"`
			} `json:"data"`
			Retrieval struct{ Mode string } `json:"retrieval"`
		}
		if code := call(t, "POST", url+"/search", map[string]any{"query": "why does yeast make bread rise", "mode": mode, "top_k": 3}, &res); code != 200 {
			t.Fatalf("search %s: %d", mode, code)
		}
		if res.Retrieval.Mode != mode || len(res.Data) == 0 {
			t.Fatalf("search %s: %+v", mode, res)
		}
		return res.Data[0].DocumentID
	}
	want := docs[1].ID
	for _, mode := range []string{"lexical", "hybrid"} {
		if got := search(base, mode); got != want {
			t.Errorf("%s search: top hit %s, want %s (bread)", mode, got, want)
		}
	}
	search(base, "vector")

	var ready struct{ Details map[string]any }
	if code := call(t, "GET", srv.URL+"/readyz", nil, &ready); code != 200 || ready.Details["store"] != cfg.Store {
		t.Errorf("readyz: %d %v", code, ready)
	}

	// A folder job on the Postgres queue.
	var job struct {
		ID       string                            `json:"id"`
		Status   string                            `json:"status"`
		Progress struct{ Total, Done, Failed int } `json:"progress"`
	}
	if code := call(t, "POST", srv.URL+"/v1/jobs", map[string]any{"collection": "kb", "sources": []map[string]string{{"path": root}}}, &job); code != 202 {
		t.Fatalf("job: %d %+v", code, job)
	}
	deadline := time.Now().Add(60 * time.Second)
	for job.Status != "succeeded" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		call(t, "GET", srv.URL+"/v1/jobs/"+job.ID, nil, &job)
		if job.Status == "failed" || job.Status == "cancelled" {
			break
		}
	}
	if job.Status != "succeeded" || job.Progress.Done != 2 || job.Progress.Failed != 0 {
		t.Fatalf("job ended %+v", job)
	}

	// A streamed answer cites the document about bread.
	events := postStream(t, base+"/query", map[string]any{"query": "Why does bread rise?"})
	if len(events) < 3 || events[0].name != "sources" || events[len(events)-1].name != "done" {
		t.Fatalf("query events: %+v", events)
	}
	if !strings.Contains(events[0].data, want) {
		t.Errorf("sources do not include the bread document %s: %s", want, events[0].data)
	}

	// A second ragd on the same store serves what the first stored, and
	// the first sees what the second stores.
	otherCfg := cfg
	otherCfg.DataDir = t.TempDir()
	other := startApp(t, otherCfg)
	if got := search(other.URL+"/v1/collections/kb", "hybrid"); got != want {
		t.Errorf("second process: top hit %s, want %s", got, want)
	}
	code, ice := uploadFiles(t, other.URL+"/v1/collections/kb/documents", []fileUpload{{"ice.md", "Ice floats because it is less dense than liquid water."}})
	if code != 201 || len(ice) != 1 {
		t.Fatalf("upload through the second process: %d", code)
	}
	var iceHits struct {
		Data []struct {
			DocumentID string `json:"document_id"`
		}
	}
	call(t, "POST", base+"/search", map[string]any{"query": "why does ice float", "mode": "lexical", "top_k": 1}, &iceHits)
	if len(iceHits.Data) != 1 || iceHits.Data[0].DocumentID != ice[0].ID {
		t.Errorf("first process does not see the second's upload: %+v", iceHits)
	}
	other.stop()

	srv.stop()
	srv = startApp(t, cfg)
	if got := search(srv.URL+"/v1/collections/kb", "hybrid"); got != want {
		t.Errorf("after restart: top hit %s, want %s", got, want)
	}
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	if code := call(t, "GET", srv.URL+"/v1/collections/kb/documents", nil, &list); code != 200 || len(list.Data) != 6 {
		t.Errorf("documents after restart: %d %+v", code, list)
	}

	// Deleting a document takes it out of search and the list.
	if code := call(t, "DELETE", srv.URL+"/v1/collections/kb/documents/"+want, nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code := call(t, "GET", srv.URL+"/v1/collections/kb/documents/"+want, nil, nil); code != 404 {
		t.Errorf("get after delete: %d", code)
	}
	for _, mode := range []string{"lexical", "vector", "hybrid"} {
		var res struct {
			Data []struct {
				DocumentID string `json:"document_id"`
			} `json:"data"`
		}
		call(t, "POST", srv.URL+"/v1/collections/kb/search", map[string]any{"query": "why does yeast make bread rise", "mode": mode, "top_k": 10}, &res)
		for _, h := range res.Data {
			if h.DocumentID == want {
				t.Errorf("%s search finds the deleted document", mode)
			}
		}
	}
	return srv
}
