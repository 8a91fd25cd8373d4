package extract_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
)

// checkDocs fails unless docs are well-formed extraction output: valid
// UTF-8 without NULs, known block kinds, no empty blocks.
func checkDocs(t *testing.T, docs []ingest.Doc, err error) {
	t.Helper()
	if err != nil {
		if code := ragd.ErrorCode(err); code == ragd.EInternal {
			t.Fatalf("internal error: %v", err)
		}
		if extract.Reason(err) == extract.ReasonInternal {
			t.Fatalf("no reason for %v", err)
		}
	}
	for _, d := range docs {
		if !utf8.ValidString(d.Title) || strings.ContainsRune(d.Title, 0) {
			t.Fatalf("bad title %q", d.Title)
		}
		for _, b := range d.Blocks {
			switch b.Kind {
			case ingest.BlockHeading, ingest.BlockParagraph, ingest.BlockList, ingest.BlockCode, ingest.BlockTable, ingest.BlockQuote:
			default:
				t.Fatalf("unknown block kind %q", b.Kind)
			}
			if !utf8.ValidString(b.Text) || strings.ContainsRune(b.Text, 0) || strings.TrimSpace(b.Text) == "" {
				t.Fatalf("bad block text %q", b.Text)
			}
		}
	}
}

func FuzzSniff(f *testing.F) {
	for _, s := range []string{"%PDF-1.7", "PK\x03\x04", "<!doctype html><p>x", "# md\n", "{\"a\":1}\n", "a,b\n1,2\n", "\xff\xfeh\x00", "\x7fELF", "<div>x</div>"} {
		f.Add("file.txt", s)
		f.Add("file.csv", s)
	}
	f.Fuzz(func(t *testing.T, name, data string) {
		typ, err := extract.Sniff(name, "", []byte(data))
		if err != nil {
			switch ragd.ErrorCode(err) {
			case ragd.EUnsupported, ragd.EInvalid:
			default:
				t.Fatalf("Sniff error code %s: %v", ragd.ErrorCode(err), err)
			}
			return
		}
		switch typ {
		case extract.TypeText, extract.TypeMarkdown, extract.TypeMDX, extract.TypeHTML, extract.TypePDF,
			extract.TypeDOCX, extract.TypeCSV, extract.TypeJSONL:
		default:
			t.Fatalf("Sniff = %q", typ)
		}
	})
}

func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{
		"---\ntitle: x\n---\n# H\n\ntext",
		"import x from 'y'\n\n<Tabs>\n<TabItem label=\"a\">\n\ttext {/* c */}\n</TabItem>\n</Tabs>",
		"export const a = `x\n\ny`;\n\n<Code code={a} />",
		"| a | b |\n|---|---|\n| 1 | 2 |",
		"- a\n  - b\n    ```\n    code\n    ```",
		":::note[x]\ny\n:::",
		"<div>\n<script>alert(1)</script>\n</div>",
		"`unclosed <Tag {",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	e := extract.New(extract.Options{})
	f.Fuzz(func(t *testing.T, src string, mdx bool) {
		typ := extract.TypeMarkdown
		if mdx {
			typ = extract.TypeMDX
		}
		docs, err := e.ExtractAs(context.Background(), typ, ingest.File{Name: "f.md", Data: []byte(src)})
		if err != nil && extract.Reason(err) == extract.ReasonParse {
			t.Fatalf("Markdown must not fail to parse: %v", err)
		}
		checkDocs(t, docs, err)
	})
}

func FuzzRecords(f *testing.F) {
	for _, s := range []string{
		"id,name\n1,a\n2,\"b\"\"c\"\n",
		"a;b\n1;2;3\n\"x\n",
		"{\"id\": 1, \"text\": \"a\", \"m\": {\"k\": [1]}}\n{\"text\": 2}\n",
		"{\"body\": \"x\", \"id\": 1e300}\n[[[[[]]]]]\n{\"id\": \"a\", \"text\": \"b\"}\n{\"id\": \"a\", \"text\": \"c\"}",
	} {
		f.Add(s, false, true)
		f.Add(s, true, false)
	}
	f.Fuzz(func(t *testing.T, src string, jsonl, rows bool) {
		e := extract.New(extract.Options{RowsAsDocuments: rows, MaxDepth: 8})
		typ := extract.TypeCSV
		if jsonl {
			typ = extract.TypeJSONL
		}
		docs, err := e.ExtractAs(context.Background(), typ, ingest.File{Name: "f", Data: []byte(src)})
		checkDocs(t, docs, err)
		keys := map[string]bool{}
		for _, d := range docs {
			if rows && (d.Key == "" || keys[d.Key]) {
				t.Fatalf("missing or repeated key %q", d.Key)
			}
			keys[d.Key] = true
		}
	})
}
