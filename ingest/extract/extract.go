// Package extract turns files into structured text for ingestion: plain
// text, Markdown and MDX, HTML, PDF, DOCX, CSV and JSON Lines. The type is
// decided from the content ([Sniff]); the file name only breaks ties among
// text types.
//
// [Extractor] parses in the calling process. [Sandbox] parses untrusted
// binary formats (PDF, DOCX, HTML) in a child process with a wall-clock
// limit, a memory limit and a cap on the text it returns, so that a panic,
// a hang or a bomb in one file fails that file only; the child runs
// [ServeChild].
//
// Every error is a *ragd.Error (EUnsupported for a type ragd cannot
// extract, EInvalid for a damaged, empty or encrypted file, ETooLarge for a
// file over a limit) inside a *[Failure] that names a machine-readable
// reason ([Reason]).
package extract

import (
	"context"
	"fmt"
	"path"
	"runtime/debug"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// Media types of the formats extract reads. Doc.ContentType is one of them.
const (
	TypeText     = "text/plain"
	TypeMarkdown = "text/markdown"
	TypeMDX      = "text/mdx"
	TypeHTML     = "text/html"
	TypePDF      = "application/pdf"
	TypeDOCX     = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	TypeCSV      = "text/csv"
	TypeJSONL    = "application/jsonl"
)

// Default limits (RELIABILITY.md H-3, H-5, H-7, H-11).
const (
	DefaultMaxText         = 10 << 20  // bytes of extracted text per document
	DefaultMaxPages        = 2000      // PDF pages
	DefaultMaxZipEntries   = 1000      // entries in a DOCX
	DefaultMaxDecompressed = 100 << 20 // bytes decompressed from one DOCX, all entries together
	DefaultMaxZipRatio     = 100       // decompressed:compressed size of one DOCX entry
	DefaultMaxDepth        = 64        // nesting of a JSON Lines record
	DefaultMaxRecords      = 1_000_000 // CSV rows or JSON lines read from one file
)

// Options configure extraction. The zero value is usable: zero fields take
// the defaults above.
type Options struct {
	// MaxText caps the extracted text of one document, in bytes. Extraction
	// stops at the cap and marks the document Truncated.
	MaxText int
	// MaxPages rejects PDFs with more pages, before any page is read.
	MaxPages int
	// MaxZipEntries, MaxDecompressed and MaxZipRatio bound a DOCX: its entry
	// count, the sum of its entries' sizes and any entry's compression
	// ratio. A file over a bound is rejected before it is decompressed.
	MaxZipEntries   int
	MaxDecompressed int64
	MaxZipRatio     int
	// MaxDepth bounds the nesting of a JSON Lines record.
	MaxDepth int
	// MaxRecords bounds the CSV rows or JSON lines read from one file; the
	// rest is dropped and the last document marked Truncated.
	MaxRecords int
	// RowsAsDocuments makes each CSV row and each JSON line its own
	// document (Doc.Key set to its row or line number, or its "id"). When
	// false a CSV or JSON Lines file is one document with one block per
	// record.
	RowsAsDocuments bool
	// Passwords are tried in order on an encrypted PDF after the empty
	// password.
	Passwords []string
	// CacheDir, when set, holds the compiled PDF engine between runs (a
	// wazero compilation cache): start-up drops from seconds to a fraction
	// of one. ragd passes DATA_DIR/cache/wazero.
	CacheDir string
	// PDFMemoryLimit caps the PDF engine's memory, in bytes (rounded down
	// to 64 KiB pages); 0 means 512 MiB.
	PDFMemoryLimit int64
}

func (o Options) withDefaults() Options {
	if o.MaxText <= 0 {
		o.MaxText = DefaultMaxText
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.MaxZipEntries <= 0 {
		o.MaxZipEntries = DefaultMaxZipEntries
	}
	if o.MaxDecompressed <= 0 {
		o.MaxDecompressed = DefaultMaxDecompressed
	}
	if o.MaxZipRatio <= 0 {
		o.MaxZipRatio = DefaultMaxZipRatio
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxRecords <= 0 {
		o.MaxRecords = DefaultMaxRecords
	}
	if o.PDFMemoryLimit <= 0 {
		o.PDFMemoryLimit = 512 << 20
	}
	return o
}

// Extractor extracts every supported format in the calling process. It is
// safe for concurrent use. Use it directly for trusted input or cheap
// formats; [Sandbox] wraps it for untrusted files.
type Extractor struct {
	opts Options
}

// New returns an Extractor with the given options.
func New(opts Options) *Extractor {
	return &Extractor{opts: opts.withDefaults()}
}

// Close releases what the Extractor holds.
func (e *Extractor) Close() error { return nil }

// Extract sniffs f's type and extracts it. It returns one document, or one
// per record for CSV and JSON Lines with Options.RowsAsDocuments. For CSV
// and JSON Lines, records that fail are reported in a *[RecordErrors]
// returned together with the documents of the good records.
func (e *Extractor) Extract(ctx context.Context, f ingest.File) ([]ingest.Doc, error) {
	typ, err := Sniff(f.Name, f.ContentType, f.Data)
	if err != nil {
		return nil, err
	}
	return e.ExtractAs(ctx, typ, f)
}

// ExtractAs extracts f as the given type (one of the Type constants), as
// returned by [Sniff]. It does not check that the content matches.
func (e *Extractor) ExtractAs(ctx context.Context, typ string, f ingest.File) (docs []ingest.Doc, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer func() {
		// Second line of defence: a parser bug fails this file only. Untrusted
		// files are parsed in a child process (Sandbox) in the first place.
		if r := recover(); r != nil {
			docs = nil
			err = failWrap(ReasonParse, ragd.EInvalid, fmt.Errorf("panic: %v %s", r, debug.Stack()), "the file could not be parsed")
		}
	}()
	switch typ {
	case TypeText:
		docs, err = e.text(f)
	case TypeMarkdown:
		docs, err = e.markdown(f, false)
	case TypeMDX:
		docs, err = e.markdown(f, true)
	default:
		return nil, fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract %s", typ)
	}
	if err != nil && len(docs) == 0 {
		return nil, err
	}
	for i := range docs {
		docs[i].ContentType = typ
	}
	return docs, err
}

// baseTitle is the title of last resort: the file name without its
// directory and extension.
func baseTitle(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	if i := strings.IndexAny(name, "?#"); i >= 0 && strings.Contains(name, "://") {
		name = name[:i]
	}
	base := path.Base(strings.TrimRight(name, "/"))
	if base == "." || base == "/" {
		return ""
	}
	if ext := path.Ext(base); ext != "" && len(ext) < len(base) {
		base = base[:len(base)-len(ext)]
	}
	return clean(base)
}

// ext returns the lower-case extension of name, with its dot.
func ext(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	if strings.Contains(name, "://") {
		if i := strings.IndexAny(name, "?#"); i >= 0 {
			name = name[:i]
		}
	}
	return strings.ToLower(path.Ext(name))
}
