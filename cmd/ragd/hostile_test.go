package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/extract/extracttest"
	"github.com/ragd/ragd/ingest/jobs"
)

// hostileCanary is the text of a file outside the ingest root that the
// root's symlinks point at; it must never become searchable.
const hostileCanary = "outsidecanary7b1e"

const (
	docxContentTypes = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`
	docxNS           = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`
)

// zipOf builds a ZIP archive of deflated entries, given as name, body
// pairs.
func zipOf(t *testing.T, entries ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(entries); i += 2 {
		w, err := zw.Create(entries[i])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(entries[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// docxWithBody is a minimal DOCX whose word/document.xml is body.
func docxWithBody(t *testing.T, body string, extra ...string) []byte {
	return zipOf(t, append([]string{"[Content_Types].xml", docxContentTypes, "word/document.xml", `<?xml version="1.0"?>` + body}, extra...)...)
}

// rawDOCX builds a DOCX whose word/document.xml is written raw: data
// deflated, with the uncompressed size it claims, true or not.
func rawDOCX(t *testing.T, data []byte, crc uint32, size uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("[Content_Types].xml")
	w.Write([]byte(docxContentTypes))
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "word/document.xml", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(data)), UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bombReasons are the reasons a PDF that expands to gigabytes fails with:
// the reader's own cap, or the child's memory limit, whichever comes first.
const bombReasons = "decompressed_too_large|memory_limit"

// hostileFolder writes a root "docs" of good and hostile files next to a
// folder "outside" holding the canary, and returns the root. want maps each
// item's source to its expected outcome ("status" or "status:reason").
func hostileFolder(t *testing.T, pdfEngine bool) (root string, want map[string]string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "docs")
	want = map[string]string{}
	write := func(name string, data []byte, outcome string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if outcome != "" {
			want["docs/"+name] = outcome
		}
	}
	if err := os.MkdirAll(filepath.Join(base, "outside"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "outside", "secret.txt"), []byte(hostileCanary+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The good files.
	write("good/lighthouse.md", []byte("# Lighthouse\n\nThe lighthouse keeper polishes the fresnel lens every evening.\n"), "indexed")
	write("good/orchard.txt", []byte("The orchard grows quinces and medlars along the southern wall.\n"), "indexed")

	// H-7: one line of a JSON Lines file nested 10,001 deep; the other
	// lines are ingested.
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	write("h7-deep.jsonl", []byte(`{"text": "The glacier calves icebergs into the fjord."}`+"\n"+
		`{"text": "deep", "x": `+deep+`}`+"\n"+
		`{"text": "The tundra blooms briefly in the arctic summer."}`+"\n"), "failed:too_deep")
	// H-8: NUL and control characters in a text file (a few: more would
	// make it binary data) and, escaped, in a JSON record's text and
	// metadata.
	write("h8-controls.txt", []byte("The falconer\x00 trains a\x07 merlin\x1b[31m on the\x00 moor.\n"+strings.Repeat("Heather and gorse cover the hills. ", 10)), "indexed")
	write("h8-nul.jsonl", []byte(`{"text": "The weaver\u0000 threads the\u0000 shuttle.", "loom": "jac\u0000quard"}`+"\n"), "indexed")
	// H-9: Latin-1 bytes, overlong encodings and CESU-8 surrogates.
	write("h9-utf8.txt", []byte("The cartographer caf\xe9 draws \xc0\xaf rivers \xed\xa0\x80\xed\xb0\x80 and mountains \xff\xfe on vellum.\n"), "indexed")
	// H-10: 20 MB in one line without whitespace: cut to the text cap and
	// the chunk cap, and marked truncated.
	write("h10-line.txt", bytes.Repeat([]byte("x"), 20<<20), "indexed")
	// H-12: an ELF named .pdf reaches no parser; HTML named .txt is
	// treated as HTML.
	write("h12-elf.pdf", append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 200)...), "skipped:unsupported_media_type")
	write("h12-page.txt", []byte("<!DOCTYPE html><html><head><title>Beekeeping</title></head><body><p>The beekeeper smokes the hive before lifting the frames.</p></body></html>"), "indexed")

	// H-5: a DOCX of 1 GiB of zeros, and one whose entry lies about its
	// size.
	gig, gigCRC := extracttest.DeflateRepeated(make([]byte, 1<<20), 1024)
	write("h5-zipbomb.docx", rawDOCX(t, gig, gigCRC, 1<<30), "failed:decompressed_too_large")
	body := `<w:document ` + docxNS + `><w:body>` + strings.Repeat(`<w:p><w:r><w:t>lies</w:t></w:r></w:p>`, 2000) + `</w:body></w:document>`
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	fw.Write([]byte(body))
	fw.Close()
	write("h5-lying.docx", rawDOCX(t, z.Bytes(), crc32.ChecksumIEEE([]byte(body)), 100), "failed:decompressed_too_large")
	// H-6: billion laughs and XXE inside word/document.xml.
	laughs := `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>` +
		`<w:document ` + docxNS + `><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>`
	write("h6-laughs.docx", docxWithBody(t, laughs), "failed:parse_error")
	xxe := `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><w:document ` + docxNS + `><w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>`
	write("h6-xxe.docx", docxWithBody(t, xxe), "failed:parse_error")
	// S-PT-3: a DOCX with a "../../x" entry.
	write("spt3-slip.docx", docxWithBody(t, `<w:document `+docxNS+`/>`, "../../x", "owned"), "failed:unsafe_path")

	if pdfEngine {
		pdf, err := os.ReadFile(filepath.Join(evalDir, "docs", "pdf", "pypdf-crazyones.pdf"))
		if err != nil {
			t.Fatalf("the shared evaluation fixtures are needed: %v", err)
		}
		write("good/crazyones.pdf", pdf, "indexed")
		// H-1: the fuzz reproducer of a parser crash.
		write("h1-crash.pdf", []byte("%PDF-1.0\ntrailer<</Root 1 0 R>>startxref\n100%%EOF"), "failed:parse_error")
		// H-3: ten million pages declared.
		write("h3-hugecount.pdf", extracttest.PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 10000000 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"), "failed:too_many_pages")
		// H-4: a content stream that inflates to 1.4 GB.
		write("h4-flatebomb.pdf", extracttest.FlatePagePDF(extracttest.ZlibRepeated(bytes.Repeat([]byte(" "), 1<<20), 1400)), "failed:"+bombReasons)
		// H-11: a small PDF whose text layer is 100 MB.
		line := []byte("(" + strings.Repeat("A", 98) + ") Tj T*\n")
		write("h11-bigtext.pdf", extracttest.FlatePagePDF(extracttest.ZlibRepeated(append([]byte("BT /F1 1 Tf 14 TL\n"), bytes.Repeat(line, 10000)...), 1)), "failed:"+bombReasons)
	}

	// S-PT-2: symlinks out of the root, a loop, a FIFO and /proc.
	for name, target := range map[string]string{
		"out-abs":     filepath.Join(base, "outside", "secret.txt"),
		"out-rel":     "../outside/secret.txt",
		"out-dir":     "../outside",
		"good/up":     "../../outside",
		"loop":        "loop",
		"proc-env":    "/proc/self/environ",
		"etc-passwd":  "/etc/passwd",
		"inside-link": "good/orchard.txt", // relative and inside: read through
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
		want["docs/"+name] = "skipped:path_escape"
	}
	want["docs/inside-link"] = "indexed"
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	want["docs/fifo"] = "skipped:not_regular"
	return root, want
}

// jobItems lists every item of a job through the API.
func jobItems(t *testing.T, base, id string) []jobs.Item {
	t.Helper()
	var out struct {
		Data []jobs.Item `json:"data"`
	}
	if code := call(t, "GET", base+"/v1/jobs/"+id+"/items?limit=1000", nil, &out); code != 200 {
		t.Fatalf("job items: %d", code)
	}
	return out.Data
}

// awaitJob polls a job through the API until it ends.
func awaitJob(t *testing.T, base, id string, limit time.Duration) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var j jobs.Job
		if code := call(t, "GET", base+"/v1/jobs/"+id, nil, &j); code != 200 {
			t.Fatalf("job: %d", code)
		}
		if j.Ended() {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s did not end within %v: %s %+v", id, limit, j.Status, j.Progress)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// submitJob posts a job and returns its ID.
func submitJob(t *testing.T, base string, spec map[string]any) string {
	t.Helper()
	var j jobs.Job
	if code := call(t, "POST", base+"/v1/jobs", spec, &j); code != 202 || j.ID == "" {
		t.Fatalf("submit job: %d %+v", code, j)
	}
	return j.ID
}

// searchTexts runs a lexical search and returns the hits' texts.
func searchTexts(t *testing.T, base, collection, query string) []string {
	t.Helper()
	var hits struct{ Data []ragd.Hit }
	if code := call(t, "POST", base+"/v1/collections/"+collection+"/search", map[string]any{"query": query, "mode": "lexical", "top_k": 5}, &hits); code != 200 {
		t.Fatalf("search %q: %d", query, code)
	}
	var texts []string
	for _, h := range hits.Data {
		texts = append(texts, h.Text)
	}
	return texts
}

// TestHostileFolderJob runs one folder job over good files and every hostile
// input of RELIABILITY.md H-1 to H-12 and S-PT-2/S-PT-3 through the HTTP
// API: each hostile item fails or is skipped with its reason, the good
// items are indexed, the server stays up, and nothing from outside the
// root, nor a hostile file's content, becomes searchable.
func TestHostileFolderJob(t *testing.T) {
	pdfEngine := !raceEnabled
	root, want := hostileFolder(t, pdfEngine)
	cfg := testConfig(t)
	cfg.IngestRoots = []string{root}
	srv := startApp(t, cfg)

	start := time.Now()
	id := submitJob(t, srv.URL, map[string]any{"collection": "hostile", "sources": []map[string]string{{"path": root}}})
	final := awaitJob(t, srv.URL, id, 60*time.Second)
	t.Logf("job ended in %v: %s %+v", time.Since(start), final.Status, final.Progress)

	got := map[string]string{}
	items := map[string]jobs.Item{}
	for _, it := range jobItems(t, srv.URL, id) {
		o := it.Status
		if it.Status != ragd.StatusIndexed {
			o += ":" + it.Reason
			if it.Error == "" {
				t.Errorf("%s: %s without a message", it.Source, o)
			}
		}
		if w := want[it.Source]; strings.Contains(w, "|") && strings.HasPrefix(w, it.Status+":") &&
			strings.Contains("|"+strings.TrimPrefix(w, it.Status+":")+"|", "|"+it.Reason+"|") {
			o = w // one of the accepted reasons
		}
		got[it.Source] = o
		items[it.Source] = it
		t.Logf("%-24s %-40s %s", it.Source, o, it.Error)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("item outcomes (-want +got):\n%s", diff)
	}
	if final.Status != jobs.StatusFailed || final.Progress.Total != len(want) || final.Progress.Done != len(want) {
		t.Errorf("final job: %s %+v, want failed with %d items done", final.Status, final.Progress, len(want))
	}
	if !items["docs/h10-line.txt"].Truncated {
		t.Errorf("the 20 MB line was not marked truncated: %+v", items["docs/h10-line.txt"])
	}

	// The server is up and serves the good documents.
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz after the job: %v %v", resp, err)
	}
	resp.Body.Close()
	for query, wantText := range map[string]string{
		"fresnel lens":        "lighthouse keeper",
		"quinces medlars":     "orchard grows",
		"glacier icebergs":    "calves icebergs",
		"tundra arctic":       "tundra blooms",
		"falconer merlin":     "falconer",
		"weaver shuttle":      "weaver",
		"cartographer vellum": "cartographer",
		"beekeeper hive":      "beekeeper smokes",
	} {
		texts := searchTexts(t, srv.URL, "hostile", query)
		if len(texts) == 0 || !strings.Contains(texts[0], wantText) {
			t.Errorf("search %q: %q, want a hit with %q", query, texts, wantText)
		}
	}
	if pdfEngine {
		if texts := searchTexts(t, srv.URL, "hostile", "round pegs in the square holes"); len(texts) == 0 || !strings.Contains(texts[0], "round pegs") {
			t.Errorf("search for the PDF's sentence: %q", texts)
		}
	}

	// Nothing hostile is searchable: not the canary outside the root, not
	// /etc/passwd, not the process environment, not the entity payloads.
	environ, _ := os.ReadFile("/proc/self/environ")
	var envWord string
	for _, kv := range bytes.Split(environ, []byte{0}) {
		if k, _, ok := strings.Cut(string(kv), "="); ok && len(k) > 3 && strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
			envWord = k
			break
		}
	}
	for _, q := range []string{hostileCanary, "root nologin bin bash", "lol lies owned", envWord} {
		if q == "" {
			continue
		}
		if texts := searchTexts(t, srv.URL, "hostile", q); len(texts) != 0 {
			t.Errorf("search %q found hostile content: %.200q", q, texts)
		}
	}

	// What is stored is valid UTF-8 without NULs, and chunks stay within
	// the byte cap (MaxTokens × 12, the chunker's bound).
	ctx := context.Background()
	coll, err := srv.app.Store.Collection(ctx, "hostile")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := srv.app.Store.Documents(ctx, "hostile", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, d := range docs {
		sources = append(sources, d.Source)
		if strings.ContainsAny(d.Title+d.Source+fmt.Sprint(d.Metadata), "\x00\ufffd") || !utf8.ValidString(d.Title+fmt.Sprint(d.Metadata)) {
			t.Errorf("document %s: title %q, metadata %q", d.Source, d.Title, d.Metadata)
		}
		chunks, err := srv.app.Store.Chunks(ctx, "hostile", d.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			if !utf8.ValidString(c.Text) || strings.ContainsAny(c.Text, "\x00\x07\x1b\ufffd") {
				t.Errorf("%s chunk %d: %.100q", d.Source, c.Index, c.Text)
			}
			if len(c.Text) > coll.Chunking.MaxTokens*12 {
				t.Errorf("%s chunk %d is %d bytes, over the cap of %d", d.Source, c.Index, len(c.Text), coll.Chunking.MaxTokens*12)
			}
		}
		if loom, ok := d.Metadata["loom"]; ok && loom != "jacquard" {
			t.Errorf("H-8 metadata: %q", d.Metadata)
		}
	}
	sort.Strings(sources)
	t.Logf("documents: %q", sources)
	// The good files and the link to one, the two good JSONL lines, H-8
	// twice, H-9, H-10 and the HTML of H-12; and the real PDF.
	wantDocs := 9
	if pdfEngine {
		wantDocs++
	}
	if len(docs) != wantDocs {
		t.Errorf("%d documents stored, want %d: %q", len(docs), wantDocs, sources)
	}
	// The zip slip wrote nothing.
	for _, p := range []string{filepath.Join(root, "..", "x"), filepath.Join(root, "..", "..", "x"), filepath.Join(cfg.DataDir, "..", "x")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was created", p)
		}
	}
}

// trapListener counts the connections made to a loopback port that URL
// jobs must never reach.
type trapListener struct {
	addr  string
	conns atomic.Int64
}

func startTrap(t *testing.T, host string) *trapListener {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &trapListener{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tr.conns.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return tr
}

// TestHostileURLJob submits one URL job through the API with the SSRF
// inputs of RELIABILITY.md S-SSRF-1 and S-SSRF-3 beside good URLs on an
// allow-listed test address (127.0.0.2, standing in for the Internet):
// each forbidden URL fails with "ssrf", the good page and a capped,
// same-site crawl are ingested, and a listener on 127.0.0.1 sees no
// connection at all.
func TestHostileURLJob(t *testing.T) {
	trap := startTrap(t, "127.0.0.1")
	_, trapPort, _ := net.SplitHostPort(trap.addr)
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address to stand in for a public host: %v", err)
	}
	var pubRequests atomic.Int64
	pub := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pubRequests.Add(1)
		w.Header().Set("Content-Type", "text/html")
		switch {
		case r.URL.Path == "/page":
			fmt.Fprint(w, "<html><body><p>The ferryman crosses the estuary at dawn.</p></body></html>")
		case r.URL.Path == "/to-trap":
			http.Redirect(w, r, "http://127.0.0.1:"+trapPort+"/", http.StatusFound)
		case r.URL.Path == "/seed":
			fmt.Fprintf(w, `<p>The seed page about harbours.</p><a href="http://127.0.0.1:%s/">internal</a><a href="http://10.0.0.5/">internal</a>`, trapPort)
			for i := range 50 {
				fmt.Fprintf(w, `<a href="/p/%d">page %d</a>`, i, i)
			}
		case strings.HasPrefix(r.URL.Path, "/p/"):
			fmt.Fprintf(w, "<p>Crawled page %s about lighthouses.</p>", r.URL.Path)
		default:
			http.NotFound(w, r)
		}
	})}
	go pub.Serve(ln)
	t.Cleanup(func() { pub.Close() })
	pubAddr := ln.Addr().String()
	_, pubPort, _ := net.SplitHostPort(pubAddr)

	cfg := testConfig(t)
	cfg.FetchAllow = []string{"127.0.0.2/32"}
	cfg.FetchPorts = []string{pubPort, trapPort, "80", "443"}
	srv := startApp(t, cfg)

	good := "http://" + pubAddr
	want := map[string]string{
		good + "/page":    "indexed",
		good + "/to-trap": "failed:ssrf", // a public page that redirects to loopback
		"http://169.254.169.254/latest/meta-data/":    "failed:ssrf",
		"http://127.0.0.1:" + trapPort + "/":          "failed:ssrf",
		"http://[::ffff:127.0.0.1]:" + trapPort + "/": "failed:ssrf",
		"http://0:" + trapPort + "/":                  "failed:ssrf",
		"http://2130706433:" + trapPort + "/":         "failed:ssrf",
		"file:///etc/passwd":                          "failed:ssrf",
		"gopher://127.0.0.1:" + trapPort + "/":        "failed:ssrf",
	}
	var sources []map[string]any
	for u := range want {
		sources = append(sources, map[string]any{"url": u})
	}
	const maxPages = 4
	sources = append(sources, map[string]any{"url": good + "/seed", "crawl": map[string]int{"depth": 1, "max_pages": maxPages}})
	id := submitJob(t, srv.URL, map[string]any{"collection": "web", "sources": sources})
	final := awaitJob(t, srv.URL, id, 30*time.Second)

	got := map[string]string{}
	crawled := 0
	for _, it := range jobItems(t, srv.URL, id) {
		if strings.HasPrefix(it.Source, good+"/seed") || strings.HasPrefix(it.Source, good+"/p/") {
			crawled++
			if it.Status != ragd.StatusIndexed {
				t.Errorf("crawled %s: %s:%s %s", it.Source, it.Status, it.Reason, it.Error)
			}
			continue
		}
		o := it.Status
		if it.Status != ragd.StatusIndexed {
			o += ":" + it.Reason
		}
		got[it.Source] = o
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("item outcomes (-want +got):\n%s", diff)
	}
	if crawled != maxPages {
		t.Errorf("the crawl made %d items, want %d (its page cap)", crawled, maxPages)
	}
	if final.Status != jobs.StatusFailed || final.Progress.Indexed != 1+maxPages {
		t.Errorf("final job: %s %+v", final.Status, final.Progress)
	}
	// /page, /to-trap and the crawled pages; nothing else.
	if n := pubRequests.Load(); n != 2+maxPages {
		t.Errorf("the test host served %d requests, want %d", n, 2+maxPages)
	}
	if n := trap.conns.Load(); n != 0 {
		t.Errorf("the loopback listener saw %d connections, want 0", n)
	}
	if texts := searchTexts(t, srv.URL, "web", "ferryman estuary"); len(texts) == 0 || !strings.Contains(texts[0], "ferryman") {
		t.Errorf("search for the good page: %q", texts)
	}
}

// TestHostileUploadNames uploads files under the hostile names of
// RELIABILITY.md S-PT-1: each is stored (201) or refused (400), nothing is
// written outside the data directory, and no stored title or source holds
// a separator, a NUL or a parent-directory step. It also sends a filter
// nested 10,000 deep (H-7), which is refused with 400.
func TestHostileUploadNames(t *testing.T) {
	base := t.TempDir()
	cfg := testConfig(t)
	cfg.DataDir = filepath.Join(base, "a", "b", "data")
	srv := startApp(t, cfg)
	docs := srv.URL + "/v1/collections/names/documents"

	names := []string{"../../x.txt", `..\..\x.txt`, `..\x.txt`, "/etc/passwd", "%2e%2e%2fx", "a/b.txt", strings.Repeat("n", 300) + ".txt"}
	ids := map[string]bool{}
	for i, name := range names {
		code, res := uploadFiles(t, docs, []fileUpload{{name, fmt.Sprintf("Upload %d tells of the albatross over the southern ocean.", i)}})
		if code != 201 && code != 400 {
			t.Errorf("%q: status %d, want 201 or 400", name, code)
		}
		for _, r := range res {
			ids[r.ID] = true
		}
		t.Logf("%.40q: %d %+v", name, code, res)
	}
	// A NUL inside the filename parameter, as raw bytes on the wire.
	var body bytes.Buffer
	body.WriteString("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../nul\x00/../../x.txt\"\r\n\r\n" +
		"The NUL upload tells of the petrel.\r\n--b--\r\n")
	resp, err := http.Post(docs, "multipart/form-data; boundary=b", &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 && resp.StatusCode != 400 {
		t.Errorf("NUL in the name: status %d, want 201 or 400", resp.StatusCode)
	}

	stored, err := srv.app.Store.Documents(context.Background(), "names", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range stored {
		delete(ids, d.ID)
		t.Logf("stored: title %.40q source %.60q", d.Title, d.Source)
		if strings.ContainsAny(d.Title, "/\\\x00") || d.Title == "" {
			t.Errorf("title %q", d.Title)
		}
		if strings.ContainsAny(d.Source, "\\\x00") || strings.HasPrefix(d.Source, "/") ||
			strings.Contains("/"+d.Source+"/", "/../") || len(d.Source) > 512 {
			t.Errorf("source %q", d.Source)
		}
	}
	if len(ids) != 0 {
		t.Errorf("uploads answered 201 but are not stored: %v", ids)
	}
	// Nothing outside the data directory: not beside it, not above it, not
	// relative to the working directory.
	err = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == cfg.DataDir {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			t.Errorf("file written outside the data directory: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"x.txt", "../x.txt", "../../x.txt", "x", "b.txt"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was created in the working directory's tree", p)
		}
	}

	// H-7: a filter nested 10,000 levels deep is refused; the server lives.
	filter := strings.Repeat(`{"$and":[`, 5000) + `{"k":"v"}` + strings.Repeat(`]}`, 5000)
	req, _ := http.NewRequest("POST", srv.URL+"/v1/collections/names/search",
		strings.NewReader(`{"query":"albatross","filter":`+filter+`}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	jsonDecode(resp.Body, &e)
	resp.Body.Close()
	if resp.StatusCode != 400 || e.Error.Code != ragd.EInvalid {
		t.Errorf("10,000-deep filter: %d %+v, want 400 invalid", resp.StatusCode, e)
	}
	if texts := searchTexts(t, srv.URL, "names", "albatross"); len(texts) == 0 {
		t.Error("search after the deep filter found nothing")
	}
}
