package extract_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
	"github.com/ragd/ragd/ingest/extract/extracttest"
)

const (
	wNS      = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`
	wStrict  = `xmlns:w="http://purl.oclc.org/ooxml/wordprocessingml/main"`
	relNS    = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	relNSStr = "http://purl.oclc.org/ooxml/officeDocument/relationships"
)

// docxParts builds a DOCX from its parts: the package relationships point
// at word/document.xml and docProps/core.xml, the document's at the other
// word/ parts by their names (header1.xml is a header, and so on).
func docxParts(tb testing.TB, ns, relBase string, parts map[string]string) []byte {
	tb.Helper()
	entries := []zipEntry{
		{"[Content_Types].xml", contentTypesXML},
		{"_rels/.rels", `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="` + relBase + `/officeDocument" Target="word/document.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
			`</Relationships>`},
	}
	var rels strings.Builder
	rels.WriteString(`<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	i := 0
	for _, name := range []string{"styles", "header1", "footer1", "footnotes", "endnotes"} {
		if body, ok := parts[name]; ok {
			i++
			typ := strings.TrimRight(name, "1")
			fmt.Fprintf(&rels, `<Relationship Id="r%d" Type="%s/%s" Target="%s.xml"/>`, i, relBase, typ, name)
			entries = append(entries, zipEntry{"word/" + name + ".xml", `<?xml version="1.0"?>` + strings.ReplaceAll(body, "NS", ns)})
		}
	}
	rels.WriteString(`</Relationships>`)
	entries = append(entries,
		zipEntry{"word/_rels/document.xml.rels", rels.String()},
		zipEntry{"word/document.xml", `<?xml version="1.0"?>` + strings.ReplaceAll(parts["document"], "NS", ns)})
	if core, ok := parts["core"]; ok {
		entries = append(entries, zipEntry{"docProps/core.xml", core})
	}
	return makeZip(tb, entries...)
}

func para(style, text string) string {
	ppr := ""
	if style != "" {
		ppr = `<w:pPr><w:pStyle w:val="` + style + `"/></w:pPr>`
	}
	return `<w:p>` + ppr + `<w:r><w:t xml:space="preserve">` + text + `</w:t></w:r></w:p>`
}

const textBox = `<w:p><w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">` +
	`<mc:Choice Requires="wps"><w:drawing><wps:txbx xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><w:txbxContent>` + `<w:p><w:r><w:t>Boxed words</w:t></w:r></w:p>` + `</w:txbxContent></wps:txbx></w:drawing></mc:Choice>` +
	`<mc:Fallback><w:pict><v:textbox xmlns:v="urn:schemas-microsoft-com:vml"><w:txbxContent><w:p><w:r><w:t>Boxed words</w:t></w:r></w:p></w:txbxContent></v:textbox></w:pict></mc:Fallback>` +
	`</mc:AlternateContent></w:r></w:p>`

func structuredDocx(tb testing.TB, ns, relBase string) []byte {
	return docxParts(tb, ns, relBase, map[string]string{
		"styles": `<w:styles NS><w:style w:type="paragraph" w:styleId="Kop1"><w:name w:val="heading 1"/></w:style>` +
			`<w:style w:type="paragraph" w:styleId="Sub"><w:name w:val="Sub"/><w:basedOn w:val="Kop2"/></w:style>` +
			`<w:style w:type="paragraph" w:styleId="Kop2"><w:name w:val="heading 2"/></w:style></w:styles>`,
		"document": `<w:document NS><w:body>` +
			para("Title", "Quarterly Plan") +
			para("Kop1", "Goals") +
			para("", "We ship the &lt;b&gt;new&lt;/b&gt; reader.") +
			`<w:p><w:pPr><w:numPr><w:ilvl w:val="1"/><w:numId w:val="3"/></w:numPr></w:pPr><w:r><w:t>Apple</w:t></w:r></w:p>` +
			`<w:p><w:pPr><w:outlineLvl w:val="2"/></w:pPr><w:r><w:t>Outlined</w:t></w:r></w:p>` +
			para("Sub", "Inherited") +
			`<w:tbl><w:tblPr/><w:tr><w:tc><w:p><w:r><w:t>Top left</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Top right</w:t></w:r></w:p></w:tc></w:tr>` +
			`<w:tr><w:tc><w:p><w:r><w:t>Bottom</w:t></w:r><w:r><w:tab/><w:t>left</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:delText>gone</w:delText><w:t>Bottom right</w:t></w:r></w:p></w:tc></w:tr></w:tbl>` +
			textBox +
			`</w:body></w:document>`,
		"header1":   `<w:hdr NS>` + para("", "Company Confidential") + `</w:hdr>`,
		"footer1":   `<w:ftr NS>` + para("", "Page footer") + `</w:ftr>`,
		"footnotes": `<w:footnotes NS><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote><w:footnote w:id="1">` + para("", "A footnote.") + `</w:footnote></w:footnotes>`,
		"core":      `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Plan 2027</dc:title><dc:creator>Ann</dc:creator></cp:coreProperties>`,
	})
}

func TestDOCXStructure(t *testing.T) {
	want := []string{
		"paragraph:0:Company Confidential",
		"heading:1:Quarterly Plan",
		"heading:1:Goals",
		"paragraph:0:We ship the <b>new</b> reader.",
		"list:2:Apple",
		"heading:3:Outlined",
		"heading:2:Inherited",
		"table:0:Top left | Top right\nBottom left | Bottom right",
		"paragraph:0:Boxed words",
		"paragraph:0:Page footer",
		"paragraph:0:A footnote.",
	}
	for _, tc := range []struct{ name, ns, rel string }{
		{"transitional", wNS, relNS},
		{"strict", wStrict, relNSStr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := structuredDocx(t, tc.ns, tc.rel)
			docs, err := extract.New(extract.Options{}).Extract(context.Background(), ingest.File{Name: "plan.docx", Data: data})
			if err != nil {
				t.Fatal(err)
			}
			d := docs[0]
			var got []string
			for _, b := range d.Blocks {
				got = append(got, fmt.Sprintf("%s:%d:%s", b.Kind, b.Level, b.Text))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("blocks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if d.Title != "Plan 2027" || d.Metadata["author"] != "Ann" || d.ContentType != extract.TypeDOCX {
				t.Errorf("title %q, metadata %v, type %s", d.Title, d.Metadata, d.ContentType)
			}
		})
	}
}

// deflateZeros returns n bytes of zeros (a multiple of 1 MiB), deflated.
func deflateZeros(n int) (data []byte, crc uint32) {
	return extracttest.DeflateRepeated(make([]byte, 1<<20), n>>20)
}

// rawZip builds an archive whose entries are written raw, with the sizes
// and checksums given, true or not.
func rawZip(tb testing.TB, entries ...struct {
	name             string
	data             []byte
	crc              uint32
	uncompressedSize uint64
}) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: e.name, Method: zip.Deflate, CRC32: e.crc,
			CompressedSize64: uint64(len(e.data)), UncompressedSize64: e.uncompressedSize})
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

type rawEntry = struct {
	name             string
	data             []byte
	crc              uint32
	uncompressedSize uint64
}

func deflated(s string) ([]byte, uint32) {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes(), crc32.ChecksumIEEE([]byte(s))
}

// overlapping builds the non-recursive zip bomb: one compressed kernel
// and n central directory entries that all point at it.
func overlapping(tb testing.TB, n int) []byte {
	tb.Helper()
	kernel, crc := deflateZeros(4 << 20)
	base := rawZip(tb, rawEntry{"word/document.xml", kernel, crc, 4 << 20})
	cd := bytes.LastIndex(base, []byte("PK\x01\x02"))
	eocd := bytes.LastIndex(base, []byte("PK\x05\x06"))
	entry := base[cd:eocd]
	var out bytes.Buffer
	out.Write(base[:cd])
	start := out.Len()
	for i := 0; i < n; i++ {
		e := bytes.Clone(entry)
		copy(e[46:], fmt.Sprintf("word/doc%05d.xml", i)) // same length as the original name
		out.Write(e)
	}
	size := out.Len() - start
	end := bytes.Clone(base[eocd:])
	binary.LittleEndian.PutUint16(end[8:], uint16(n))
	binary.LittleEndian.PutUint16(end[10:], uint16(n))
	binary.LittleEndian.PutUint32(end[12:], uint32(size))
	binary.LittleEndian.PutUint32(end[16:], uint32(start))
	out.Write(end)
	return out.Bytes()
}

// TestDOCXHostile checks the zip and XML defences (RELIABILITY.md H-5,
// H-6, S-PT-3): each hostile file fails with its reason, quickly and
// without inflating what it claims to hold.
func TestDOCXHostile(t *testing.T) {
	ct := zipEntry{"[Content_Types].xml", contentTypesXML}
	doc := func(body string) zipEntry {
		return zipEntry{"word/document.xml", `<?xml version="1.0"?>` + body}
	}
	gig, gigCRC := deflateZeros(1 << 30)
	small, smallCRC := deflated(`<w:document ` + wNS + `><w:body>` + strings.Repeat(para("", "lies"), 2000) + `</w:body></w:document>`)
	ctData, ctCRC := deflated(contentTypesXML)
	many := []zipEntry{ct}
	for i := 0; i < 1001; i++ {
		many = append(many, zipEntry{fmt.Sprintf("word/media/%d.xml", i), "x"})
	}
	laughs := `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>` +
		`<w:document ` + wNS + `><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>`
	xxe := `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><w:document ` + wNS + `><w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>`

	for _, tc := range []struct {
		name   string
		data   []byte
		code   string
		reason string
	}{
		{"1 GiB of zeros", rawZip(t, rawEntry{"[Content_Types].xml", ctData, ctCRC, uint64(len(contentTypesXML))}, rawEntry{"word/document.xml", gig, gigCRC, 1 << 30}), ragd.ETooLarge, extract.ReasonDecompressedTooLarge},
		{"overlapping entries", overlapping(t, 20), ragd.ETooLarge, extract.ReasonDecompressedTooLarge},
		{"lying size", rawZip(t, rawEntry{"[Content_Types].xml", ctData, ctCRC, uint64(len(contentTypesXML))}, rawEntry{"word/document.xml", small, smallCRC, 100}), ragd.ETooLarge, extract.ReasonDecompressedTooLarge},
		{"too many entries", makeZip(t, many...), ragd.ETooLarge, extract.ReasonTooManyEntries},
		{"zip slip", makeZip(t, ct, doc(`<w:document `+wNS+`/>`), zipEntry{"../../x", "owned"}), ragd.EInvalid, extract.ReasonUnsafePath},
		{"absolute name", makeZip(t, ct, doc(`<w:document `+wNS+`/>`), zipEntry{"/etc/x", "owned"}), ragd.EInvalid, extract.ReasonUnsafePath},
		{"backslash name", makeZip(t, ct, doc(`<w:document `+wNS+`/>`), zipEntry{`word\..\..\x`, "owned"}), ragd.EInvalid, extract.ReasonUnsafePath},
		{"billion laughs", makeZip(t, ct, doc(laughs)), ragd.EInvalid, extract.ReasonParse},
		{"XXE", makeZip(t, ct, doc(xxe)), ragd.EInvalid, extract.ReasonParse},
		{"deep nesting", makeZip(t, ct, doc(`<w:document `+wNS+`>`+strings.Repeat("<w:p>", 100000)+`</w:document>`)), ragd.EInvalid, extract.ReasonParse},
		{"not a zip", append([]byte("PK\x03\x04"), make([]byte, 100)...), ragd.EInvalid, extract.ReasonParse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			docs, err := extract.New(extract.Options{}).ExtractAs(context.Background(), extract.TypeDOCX, ingest.File{Name: "x.docx", Data: tc.data})
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if ragd.ErrorCode(err) != tc.code || extract.Reason(err) != tc.reason || len(docs) != 0 {
				t.Errorf("ExtractAs = %d docs, %v (code %s, reason %s), want %s/%s", len(docs), err, ragd.ErrorCode(err), extract.Reason(err), tc.code, tc.reason)
			}
			if strings.Contains(fmt.Sprint(docs), "root:") {
				t.Errorf("file content leaked: %v", docs)
			}
			t.Logf("%v in %v, %d MB allocated", err, elapsed, (after.TotalAlloc-before.TotalAlloc)>>20)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 50<<20 {
				t.Errorf("allocated %d MB", alloc>>20)
			}
		})
	}
}

// TestDOCXMissingPart: a part the relationships name but the package lacks
// is passed over, and the parts after it are still read.
func TestDOCXMissingPart(t *testing.T) {
	rels := `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="r1" Type="` + relNS + `/header" Target="header1.xml"/>` +
		`<Relationship Id="r2" Type="` + relNS + `/header" Target="header2.xml"/></Relationships>`
	data := makeZip(t,
		zipEntry{"[Content_Types].xml", contentTypesXML},
		zipEntry{"_rels/.rels", `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="` + relNS + `/officeDocument" Target="word/document.xml"/></Relationships>`},
		zipEntry{"word/_rels/document.xml.rels", rels},
		zipEntry{"word/header2.xml", `<?xml version="1.0"?><w:hdr ` + wNS + `>` + para("", "Second header") + `</w:hdr>`},
		zipEntry{"word/document.xml", `<?xml version="1.0"?><w:document ` + wNS + `><w:body>` + para("", "Body text.") + `</w:body></w:document>`},
	)
	docs, err := extract.New(extract.Options{}).Extract(context.Background(), ingest.File{Name: "h.docx", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range docs[0].Blocks {
		got = append(got, b.Text)
	}
	if strings.Join(got, "|") != "Second header|Body text." {
		t.Errorf("blocks %q", got)
	}
}
