package extract_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
)

func readDir(b *testing.B, dir, suffix string) []ingest.File {
	b.Helper()
	var files []ingest.File
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, suffix) {
			return err
		}
		data, err := os.ReadFile(path)
		files = append(files, ingest.File{Name: filepath.Base(path), Data: data})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return files
}

// benchPDFs extracts the SEC 10-Q filings of ../shared/eval/sec10q/docs
// and reports pages per second.
func benchPDFs(b *testing.B, x ingest.Extractor) {
	files := readDir(b, evalDir(b, "sec10q", "docs"), ".pdf")
	ctx := context.Background()
	pages := 0
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		f := files[i%len(files)]
		docs, err := x.Extract(ctx, f)
		if err != nil {
			b.Fatalf("%s: %v", f.Name, err)
		}
		pages += int(docs[0].Metadata["pages"].(float64))
	}
	b.ReportMetric(float64(pages)/time.Since(start).Seconds(), "pages/s")
}

// BenchmarkPDFInProcess: go test -bench PDF -benchtime 20x ./ingest/extract
func BenchmarkPDFInProcess(b *testing.B) {
	e := extract.New(extract.Options{CacheDir: testCacheDir})
	defer e.Close()
	e.Extract(context.Background(), ingest.File{Name: "warm.pdf", Data: textPDF(b, []string{"x"})})
	benchPDFs(b, e)
}

// BenchmarkPDFSandbox is BenchmarkPDFInProcess with one child process per
// file, as ragd parses uploads.
func BenchmarkPDFSandbox(b *testing.B) {
	e := extract.New(extract.Options{CacheDir: testCacheDir})
	e.Extract(context.Background(), ingest.File{Name: "warm.pdf", Data: textPDF(b, []string{"x"})}) // fills the compilation cache
	e.Close()
	benchPDFs(b, childSandbox("serve"))
}

// BenchmarkMarkdownCFDocs extracts the 281 Cloudflare docs pages (MDX).
func BenchmarkMarkdownCFDocs(b *testing.B) {
	files := readDir(b, evalDir(b, "cfdocs", "src"), ".mdx")
	e := extract.New(extract.Options{})
	size := 0
	for _, f := range files {
		size += len(f.Data)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range files {
			if _, err := e.Extract(context.Background(), f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkChildOverhead measures what a child process adds to one small
// file: the same DOCX in process and through the sandbox; and a small PDF
// through the sandbox (the child starts PDFium from the compilation cache).
func BenchmarkChildOverhead(b *testing.B) {
	docx := ingest.File{Name: "a.docx", Data: structuredDocx(b, wNS, relNS)}
	pdf := ingest.File{Name: "a.pdf", Data: textPDF(b, []string{"One line."})}
	warm := extract.New(extract.Options{CacheDir: testCacheDir})
	warm.Extract(context.Background(), pdf)
	warm.Close()
	for _, bc := range []struct {
		name string
		x    ingest.Extractor
		f    ingest.File
	}{
		{"docx/in-process", extract.New(extract.Options{}), docx},
		{"docx/child", childSandbox("serve"), docx},
		{"pdf/child", childSandbox("serve"), pdf},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := bc.x.Extract(context.Background(), bc.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
