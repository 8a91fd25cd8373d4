package extract_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
	"github.com/ragd/ragd/ingest/extract/extracttest"
)

func TestPDFPagesAndMetadata(t *testing.T) {
	needPDFEngine(t)
	e := extract.New(extract.Options{CacheDir: testCacheDir})
	defer e.Close()
	data := textPDF(t, []string{"First page words."}, []string{"Second page words."})
	docs, err := e.Extract(context.Background(), ingest.File{Name: "report.pdf", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("%d docs", len(docs))
	}
	d := docs[0]
	if d.ContentType != extract.TypePDF || d.Title != "report" || d.Metadata["pages"] != float64(2) {
		t.Errorf("doc = %q %q %v", d.ContentType, d.Title, d.Metadata)
	}
	var pages []int
	for _, b := range d.Blocks {
		pages = append(pages, b.Page)
		if !strings.Contains(b.Text, "page words.") {
			t.Errorf("block %+v", b)
		}
	}
	if len(pages) != 2 || pages[0] != 1 || pages[1] != 2 {
		t.Errorf("pages of blocks = %v, want [1 2]", pages)
	}
}

// TestPDFHostile feeds the PDF reader the hostile files of RELIABILITY.md
// H-1 to H-3: each fails with its reason, quickly.
func TestPDFHostile(t *testing.T) {
	needPDFEngine(t)
	e := extract.New(extract.Options{CacheDir: testCacheDir})
	defer e.Close()
	page := "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
	for _, tc := range []struct {
		name   string
		data   []byte
		code   string
		reason string
	}{
		// H-1: the fuzz reproducer of a parser crash, and a dangling reference.
		{"truncated", []byte("%PDF-1.0\ntrailer<</Root 1 0 R>>startxref\n100%%EOF"), ragd.EInvalid, extract.ReasonParse},
		{"badref", extracttest.PDF("<< /Type /Catalog /Pages 9 0 R >>"), ragd.EInvalid, extract.ReasonEmpty},
		// H-2: a page tree whose node is its own kid: PDFium detects the
		// cycle, and the page behind it cannot be loaded.
		{"cycle", extracttest.PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>", page), ragd.EInvalid, extract.ReasonParse},
		// H-3: ten million pages declared, rejected before any is read.
		{"hugecount", extracttest.PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 10000000 >>", page), ragd.ETooLarge, extract.ReasonTooManyPages},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			docs, err := e.Extract(context.Background(), ingest.File{Name: tc.name + ".pdf", Data: tc.data})
			t.Logf("%s: %v in %v", tc.name, err, time.Since(start))
			if ragd.ErrorCode(err) != tc.code || extract.Reason(err) != tc.reason || len(docs) != 0 {
				t.Errorf("Extract = %d docs, %v (code %s, reason %s), want %s/%s", len(docs), err, ragd.ErrorCode(err), extract.Reason(err), tc.code, tc.reason)
			}
		})
	}
}

// TestPDFHeadings checks that a line set much larger than the body text
// becomes a heading, and the document's title without an Info title.
func TestPDFHeadings(t *testing.T) {
	needPDFEngine(t)
	e := extract.New(extract.Options{CacheDir: testCacheDir})
	defer e.Close()
	content := "BT /F1 24 Tf 72 720 Td (Annual Results) Tj ET\n" +
		"BT /F1 11 Tf 72 680 Td 13 TL (Revenue grew in every region this year,) Tj T* (and costs fell in most of them.) Tj T* ET"
	data := extracttest.PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [5 0 R] /Count 1 >>", extracttest.Helvetica,
		stream(t, "", []byte(content), true),
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>")
	docs, err := e.Extract(context.Background(), ingest.File{Name: "x.pdf", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	d := docs[0]
	if len(d.Blocks) != 2 || d.Blocks[0].Kind != ingest.BlockHeading || d.Blocks[0].Level != 1 || d.Blocks[0].Text != "Annual Results" ||
		d.Blocks[1].Kind != ingest.BlockParagraph || d.Blocks[1].Text != "Revenue grew in every region this year,\nand costs fell in most of them." {
		t.Errorf("blocks = %+v", d.Blocks)
	}
	if d.Title != "Annual Results" {
		t.Errorf("title = %q", d.Title)
	}
}

// TestPDFTextCap (H-11): extraction stops at Options.MaxText and marks the
// document truncated.
func TestPDFTextCap(t *testing.T) {
	needPDFEngine(t)
	e := extract.New(extract.Options{CacheDir: testCacheDir, MaxText: 2000})
	defer e.Close()
	var pages [][]string
	for i := 0; i < 30; i++ {
		pages = append(pages, []string{strings.Repeat("word ", 40), strings.Repeat("more ", 40)})
	}
	docs, err := e.Extract(context.Background(), ingest.File{Name: "x.pdf", Data: textPDF(t, pages...)})
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, b := range docs[0].Blocks {
		size += len(b.Text) + 2
	}
	if !docs[0].Truncated || size > 2000 || size < 1500 {
		t.Errorf("truncated %v, %d bytes of text", docs[0].Truncated, size)
	}
}

// TestPDFRunningHeadersAndFooters checks that a header and a page number
// repeated on every page are dropped, the pages' own text kept, the title
// extended by the header, and that a two-page document keeps its lines
// whatever they repeat.
func TestPDFRunningHeadersAndFooters(t *testing.T) {
	needPDFEngine(t)
	e := extract.New(extract.Options{CacheDir: testCacheDir})
	defer e.Close()
	title := ""
	extractText := func(name string, pages [][]string) string {
		t.Helper()
		docs, err := e.Extract(context.Background(), ingest.File{Name: name, Data: textPDF(t, pages...)})
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for _, b := range docs[0].Blocks {
			all = append(all, b.Text)
		}
		title = docs[0].Title
		return strings.Join(all, "\n")
	}
	var pages [][]string
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	for i := 1; i <= 6; i++ {
		w := words[i-1]
		pages = append(pages, []string{
			fmt.Sprintf("Acme Corp | Q3 2023 Form 10-Q | %d", i),
			fmt.Sprintf("Body text of page %s says something of its own.", w),
			fmt.Sprintf("Its second line is a line of page %s too.", w),
			"Revenue grew in every segment this quarter.", // repeated, but not at an edge
			fmt.Sprintf("Another sentence, %s, also belongs to the page.", w),
			fmt.Sprintf("The page ends with its own words, %s.", w),
			fmt.Sprint(i),
		})
	}
	text := extractText("acme.pdf", pages)
	if strings.Contains(text, "Acme Corp") || strings.Contains(text, "\n3\n") || strings.HasSuffix(text, "\n6") {
		t.Errorf("running header or page number kept:\n%s", text)
	}
	for _, want := range []string{"Body text of page alpha", "Another sentence, foxtrot", "own words, foxtrot.", "Revenue grew in every segment"} {
		if !strings.Contains(text, want) {
			t.Errorf("lost %q:\n%s", want, text)
		}
	}
	// The title "acme" (from the file name) grows to the running header,
	// without its page number; "corp" is not a word the header starts with.
	if title != "Acme Corp | Q3 2023 Form 10-Q" {
		t.Errorf("title %q", title)
	}
	if extractText("corp.pdf", pages); title != "corp" {
		t.Errorf("title %q, want corp", title)
	}
	if text := extractText("acme.pdf", pages[:2]); !strings.Contains(text, "Acme Corp | Q3 2023 Form 10-Q | 2") || title != "acme" {
		t.Errorf("two pages: header dropped or title %q:\n%s", title, text)
	}
}
