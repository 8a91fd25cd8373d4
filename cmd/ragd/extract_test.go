package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/extract/extracttest"
)

// TestUploadParsesInTheSandbox uploads a real PDF, which ragd
// parses in a child process, then a PDF bomb (1.4 GB of content from 1.4 MB)
// that exceeds the child's memory limit: the bomb fails alone with a clear error, the server and
// what it stored are untouched.
func TestUploadParsesInTheSandbox(t *testing.T) {
	if raceEnabled {
		t.Skip("the PDF engine (WebAssembly) is too slow under the race detector")
	}
	docs := filepath.Join("..", "..", "..", "shared", "eval", "docs")
	pdf, err := os.ReadFile(filepath.Join(docs, "pdf", "pypdf-crazyones.pdf"))
	if err != nil {
		t.Fatalf("the shared evaluation fixtures are needed: %v", err)
	}
	cfg := testConfig(t)
	srv := startApp(t, cfg)
	base := srv.URL + "/v1/collections/files"

	code, res := uploadFiles(t, base+"/documents", []fileUpload{{"crazyones.pdf", string(pdf)}})
	if code != 201 || len(res) != 1 || res[0].Status != "indexed" {
		t.Fatalf("PDF upload: %d %+v", code, res)
	}
	var hits struct{ Data []ragd.Hit }
	call(t, "POST", base+"/search", map[string]any{"query": "round pegs in the square holes", "mode": "lexical", "top_k": 1}, &hits)
	if len(hits.Data) != 1 || !strings.Contains(hits.Data[0].Text, "round pegs in the square holes") {
		t.Fatalf("search for the PDF's sentence: %+v", hits.Data)
	}
	if p, _ := hits.Data[0].Metadata["page"].(float64); p != 1 {
		t.Errorf("hit metadata %v: want page 1", hits.Data[0].Metadata)
	}

	bomb := extracttest.FlatePagePDF(extracttest.ZlibRepeated(bytes.Repeat([]byte(" "), 1<<20), 1400))
	body, ct := multipartOf([]fileUpload{{"bomb.pdf", string(bomb)}})
	resp, err := http.Post(base+"/documents", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	jsonDecode(resp.Body, &e)
	resp.Body.Close()
	t.Logf("bomb: %d %+v", resp.StatusCode, e)
	if resp.StatusCode != 413 || e.Error.Code != ragd.ETooLarge || e.Error.Message == "" {
		t.Errorf("bomb: %d %+v", resp.StatusCode, e)
	}

	var coll ragd.Collection
	if code := call(t, "GET", base, nil, &coll); code != 200 || coll.DocumentCount != 1 {
		t.Errorf("collection after the bomb: %d %+v", code, coll)
	}
	call(t, "POST", base+"/search", map[string]any{"query": "round pegs", "mode": "lexical", "top_k": 1}, &hits)
	if len(hits.Data) != 1 {
		t.Errorf("search after the bomb: %+v", hits.Data)
	}
}
