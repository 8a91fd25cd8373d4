package extract_test

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/extract"
)

type zipEntry struct {
	name string
	body string
}

// makeZip builds a ZIP archive with deflated entries.
func makeZip(tb testing.TB, entries ...zipEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// odfZip builds an OpenDocument-style archive: its "mimetype" entry first
// and stored uncompressed, as the OpenDocument and EPUB specifications
// require.
func odfZip(tb testing.TB, mimetype string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "mimetype", Method: zip.Store})
	if err != nil {
		tb.Fatal(err)
	}
	w.Write([]byte(mimetype))
	w, err = zw.Create("content.xml")
	if err != nil {
		tb.Fatal(err)
	}
	w.Write([]byte("<x/>"))
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

const contentTypesXML = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`

func TestSniff(t *testing.T) {
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 100)...)
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 50)...)
	docx := makeZip(t, zipEntry{"[Content_Types].xml", contentTypesXML}, zipEntry{"word/document.xml", "<w:document/>"})
	xlsx := makeZip(t, zipEntry{"[Content_Types].xml", contentTypesXML}, zipEntry{"xl/workbook.xml", "<workbook/>"})
	pptx := makeZip(t, zipEntry{"[Content_Types].xml", contentTypesXML}, zipEntry{"ppt/presentation.xml", "<p/>"})
	odt := odfZip(t, "application/vnd.oasis.opendocument.text")
	epub := odfZip(t, "application/epub+zip")
	plainZip := makeZip(t, zipEntry{"a.txt", "hello"})
	ole := append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), make([]byte, 600)...)
	encOOXML := append(append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), make([]byte, 100)...), []byte("E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e\x00")...)
	jsonl := "{\"id\": 1, \"text\": \"a\"}\n{\"id\": 2, \"text\": \"b\"}\n"
	csvText := "name,age\nann,31\nbob,42\n"

	for _, tc := range []struct {
		desc, name, declared string
		data                 []byte
		want                 string // a Type, or an error code
		msg                  string // part of the error message
	}{
		{"pdf", "a.pdf", "", []byte("%PDF-1.7\n..."), extract.TypePDF, ""},
		{"pdf with junk before the header", "a.bin", "", append(bytes.Repeat([]byte{'x'}, 500), "%PDF-2.0"...), extract.TypePDF, ""},
		{"pdf named .txt", "a.txt", "", []byte("%PDF-1.4\n"), extract.TypePDF, ""},
		{"H-12 ELF named .pdf", "report.pdf", "application/pdf", elf, ragd.EUnsupported, "an ELF executable"},
		{"png", "a.md", "", png, ragd.EUnsupported, "a PNG image"},
		{"jpeg", "a.jpg", "", []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), ragd.EUnsupported, "a JPEG image"},
		{"gzip", "a.txt.gz", "", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"), ragd.EUnsupported, "a gzip archive"},
		{"docx", "a.zip", "", docx, extract.TypeDOCX, ""},
		{"xlsx", "a.docx", "", xlsx, ragd.EUnsupported, "Excel"},
		{"pptx", "a.pptx", "", pptx, ragd.EUnsupported, "PowerPoint"},
		{"odt", "a.odt", "", odt, ragd.EUnsupported, "OpenDocument"},
		{"epub", "a.epub", "", epub, ragd.EUnsupported, "EPUB"},
		{"zip", "a.docx", "", plainZip, ragd.EUnsupported, "a ZIP archive"},
		{"legacy doc", "a.doc", "", ole, ragd.EUnsupported, "legacy Microsoft Office"},
		{"encrypted docx", "a.docx", "", encOOXML, ragd.EInvalid, "password"},
		{"binary junk", "a.txt", "", []byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11\x12"), ragd.EUnsupported, "binary"},
		{"empty", "a.txt", "", nil, ragd.EInvalid, "file is empty"},
		{"H-12 HTML named .txt", "page.txt", "text/plain", []byte("<!DOCTYPE html><html><body><p>x</p></body></html>"), extract.TypeHTML, ""},
		{"HTML after a comment", "page", "", []byte("\n<!-- generated -->\n<html lang=en><p>x"), extract.TypeHTML, ""},
		{"HTML fragment, no extension", "page", "", []byte("<div class=x><p>Hello</p></div>"), extract.TypeHTML, ""},
		{"HTML fragment in Markdown", "page.md", "", []byte("<div align=center>Logo</div>\n\n# Title\n"), extract.TypeMarkdown, ""},
		{"XHTML", "page.xhtml", "", []byte("<?xml version=\"1.0\"?>\n<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"></html>"), extract.TypeHTML, ""},
		{"SVG", "a.txt", "", []byte("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"), ragd.EUnsupported, "SVG"},
		{"XML", "a.xml", "", []byte("<?xml version=\"1.0\"?><root/>"), ragd.EUnsupported, "XML"},
		{"RTF", "a.txt", "", []byte("{\\rtf1\\ansi hello}"), ragd.EUnsupported, "RTF"},
		{"markdown by extension", "a.markdown", "", []byte("plain words"), extract.TypeMarkdown, ""},
		{"mdx", "a.mdx", "", []byte("# x"), extract.TypeMDX, ""},
		{"markdown by content", "README", "", []byte("---\ntitle: x\n---\n# Heading\n"), extract.TypeMarkdown, ""},
		{"markdown by declared type", "upload", "text/markdown; charset=utf-8", []byte("plain words"), extract.TypeMarkdown, ""},
		{"text", "notes", "", []byte("Just some words.\nMore words.\n"), extract.TypeText, ""},
		{"UTF-16 text", "a.txt", "", []byte("\xff\xfeh\x00i\x00"), extract.TypeText, ""},
		{"UTF-16 without BOM", "a", "", []byte("h\x00e\x00l\x00l\x00o\x00 \x00w\x00o\x00r\x00l\x00d\x00"), extract.TypeText, ""},
		{"jsonl by extension", "a.jsonl", "", []byte(jsonl), extract.TypeJSONL, ""},
		{"jsonl by content", "corpus", "", []byte(jsonl), extract.TypeJSONL, ""},
		{"jsonl named .txt stays text", "a.txt", "", []byte(jsonl), extract.TypeText, ""},
		{"jsonl with a bad line", "a.jsonl", "", []byte("{\"a\": 1}\nnot json\n{\"a\": 2}\n"), extract.TypeJSONL, ""},
		{"jsonl starting badly is text", "a.jsonl", "", []byte("not json\n{\"a\": 1}\n{\"a\": 2}\n"), extract.TypeText, ""},
		{"mostly bad jsonl is text", "a.jsonl", "", []byte("{\"a\": 1}\nnot json\nnor this\n"), extract.TypeText, ""},
		{"a bad line makes content-sniffed jsonl text", "corpus", "", []byte("{\"a\": 1}\nnot json\n{\"a\": 2}\n"), extract.TypeText, ""},
		{"csv", "a.csv", "", []byte(csvText), extract.TypeCSV, ""},
		{"semicolon csv", "a.csv", "", []byte("a;b\n1;2\n"), extract.TypeCSV, ""},
		{"tsv", "a.tsv", "", []byte("a\tb\n1\t2\n"), extract.TypeCSV, ""},
		{"csv needs its extension", "a.txt", "", []byte(csvText), extract.TypeText, ""},
		{"inconsistent csv is text", "a.csv", "", []byte("a,b\n1,2,3\nx\n"), extract.TypeText, ""},
		{"text with a stray NUL", "a.txt", "", []byte(strings.Repeat("words and words ", 20) + "\x00"), extract.TypeText, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := extract.Sniff(tc.name, tc.declared, tc.data)
			if strings.Contains(tc.want, "/") {
				if err != nil || got != tc.want {
					t.Errorf("Sniff = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if ragd.ErrorCode(err) != tc.want || !strings.Contains(ragd.ErrorMessage(err), tc.msg) {
				t.Errorf("Sniff = %q, %v (code %s); want a %s error mentioning %q", got, err, ragd.ErrorCode(err), tc.want, tc.msg)
			}
		})
	}
}

func TestSniffUnsupportedReason(t *testing.T) {
	_, err := extract.Sniff("a.pdf", "", []byte("\x7fELF\x02\x01\x01"))
	if got := extract.Reason(err); got != extract.ReasonUnsupported {
		t.Errorf("Reason = %q, want %q", got, extract.ReasonUnsupported)
	}
	if got := ragd.ErrorMessage(err); got != "cannot extract an ELF executable" {
		t.Errorf("message %q", got)
	}
}
