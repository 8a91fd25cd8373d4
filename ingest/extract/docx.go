package extract

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/net/html/charset"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// Zip limits that are not options.
const (
	// ratioFloor is the entry size under which the compression ratio is
	// not checked: small XML compresses well and cannot be a bomb.
	ratioFloor = 1 << 20
	// maxXMLDepth bounds element nesting in a DOCX part.
	maxXMLDepth = 512
)

// WordprocessingML namespaces: transitional and ISO/IEC 29500 Strict.
var wordNamespaces = map[string]bool{
	"http://schemas.openxmlformats.org/wordprocessingml/2006/main": true,
	"http://purl.oclc.org/ooxml/wordprocessingml/main":             true,
}

const mcNamespace = "http://schemas.openxmlformats.org/markup-compatibility/2006"

// docxPackage is a DOCX opened with the zip defences of RELIABILITY.md H-5
// and S-PT-3 applied to every entry before anything is decompressed.
type docxPackage struct {
	files    map[string]*zip.File
	opts     Options
	inflated int64 // bytes decompressed so far
}

func openDocx(data []byte, opts Options) (*docxPackage, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, failWrap(ReasonParse, ragd.EInvalid, err, "the DOCX is not a valid ZIP archive")
	}
	if len(zr.File) > opts.MaxZipEntries {
		return nil, fail(ReasonTooManyEntries, ragd.ETooLarge, "the DOCX has %d entries, more than the limit of %d", len(zr.File), opts.MaxZipEntries)
	}
	p := &docxPackage{files: make(map[string]*zip.File, len(zr.File)), opts: opts}
	var total uint64
	type span struct{ start, end int64 }
	spans := make([]span, 0, len(zr.File))
	for _, f := range zr.File {
		if !safeZipName(f.Name) {
			return nil, fail(ReasonUnsafePath, ragd.EInvalid, "the DOCX has an entry with an unsafe name %q", cutAt(clean(f.Name), 100))
		}
		total += f.UncompressedSize64
		if total > uint64(opts.MaxDecompressed) {
			return nil, fail(ReasonDecompressedTooLarge, ragd.ETooLarge, "the DOCX would decompress to more than %d MB", opts.MaxDecompressed>>20)
		}
		if f.UncompressedSize64 > ratioFloor && f.UncompressedSize64 > uint64(opts.MaxZipRatio)*max(f.CompressedSize64, 1) {
			return nil, fail(ReasonDecompressedTooLarge, ragd.ETooLarge, "the DOCX entry %q is compressed more than %d:1 (a zip bomb?)", cutAt(clean(f.Name), 100), opts.MaxZipRatio)
		}
		if f.CompressedSize64 > 0 {
			off, err := f.DataOffset()
			if err != nil {
				return nil, failWrap(ReasonParse, ragd.EInvalid, err, "the DOCX is damaged")
			}
			spans = append(spans, span{off, off + int64(f.CompressedSize64)})
		}
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		if _, dup := p.files[f.Name]; dup {
			return nil, fail(ReasonParse, ragd.EInvalid, "the DOCX has two entries named %q", cutAt(clean(f.Name), 100))
		}
		p.files[f.Name] = f
	}
	// Entries whose data overlap are the trick of non-recursive zip bombs
	// (many entries inflating the same compressed bytes).
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return nil, fail(ReasonDecompressedTooLarge, ragd.ETooLarge, "the DOCX has overlapping entries (a zip bomb)")
		}
	}
	return p, nil
}

// safeZipName rejects entry names that would escape a directory if the
// archive were unpacked: "..", absolute paths, backslashes, drive letters
// and NULs (RELIABILITY.md S-PT-3). ragd never unpacks to disk, but such
// a file is not a document anyone produced honestly.
func safeZipName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	if len(name) >= 2 && name[1] == ':' {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return false
		}
	}
	return true
}

// read returns an entry's content, or nil when there is none. It never
// reads more than the entry declares (archive/zip stops there too) nor more
// than the package's decompression budget.
func (p *docxPackage) read(name string) ([]byte, error) {
	f, ok := p.files[name]
	if !ok {
		return nil, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, failWrap(ReasonParse, ragd.EInvalid, err, "the DOCX entry %q is damaged", cutAt(clean(name), 100))
	}
	defer rc.Close()
	limit := min(int64(f.UncompressedSize64), p.opts.MaxDecompressed-p.inflated)
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	p.inflated += int64(len(data))
	switch {
	case errors.Is(err, zip.ErrFormat) && inflatesPast(f):
		// archive/zip stops an entry that inflates past its declared size
		// with ErrFormat, as it does for other damage.
		return nil, failWrap(ReasonDecompressedTooLarge, ragd.ETooLarge, err, "the DOCX entry %q holds more data than it declares", cutAt(clean(name), 100))
	case err != nil:
		return nil, failWrap(ReasonParse, ragd.EInvalid, err, "the DOCX entry %q is damaged", cutAt(clean(name), 100))
	case int64(len(data)) > limit:
		return nil, fail(ReasonDecompressedTooLarge, ragd.ETooLarge, "the DOCX entry %q holds more data than it declares", cutAt(clean(name), 100))
	}
	return data, nil
}

// inflatesPast reports whether a deflated entry holds more data than its
// header declares, reading at most one byte more than that.
func inflatesPast(f *zip.File) bool {
	if f.Method != zip.Deflate {
		return false
	}
	raw, err := f.OpenRaw()
	if err != nil {
		return false
	}
	fr := flate.NewReader(raw)
	defer fr.Close()
	n, _ := io.Copy(io.Discard, io.LimitReader(fr, int64(f.UncompressedSize64)+1))
	return uint64(n) > f.UncompressedSize64
}

// relationship is one entry of a part's .rels file.
type relationship struct {
	ID, Type, Target, TargetMode string
}

// rels returns the relationships of a part ("" for the package), with
// targets resolved to entry names.
func (p *docxPackage) rels(part string) ([]relationship, error) {
	dir, file := path.Split(part)
	data, err := p.read(dir + "_rels/" + file + ".rels")
	if err != nil || data == nil {
		return nil, err
	}
	var doc struct {
		Rels []struct {
			ID         string `xml:"Id,attr"`
			Type       string `xml:"Type,attr"`
			Target     string `xml:"Target,attr"`
			TargetMode string `xml:"TargetMode,attr"`
		} `xml:"Relationship"`
	}
	if err := newXMLDecoder(data).Decode(&doc); err != nil {
		return nil, failWrap(ReasonParse, ragd.EInvalid, err, "the DOCX relationships are damaged")
	}
	out := make([]relationship, 0, len(doc.Rels))
	for _, r := range doc.Rels {
		if strings.EqualFold(r.TargetMode, "External") {
			continue
		}
		target := r.Target
		if strings.HasPrefix(target, "/") {
			target = path.Clean(target)[1:]
		} else {
			target = path.Join(dir, target)
		}
		if target == "" || strings.HasPrefix(target, "../") || target == ".." {
			continue
		}
		out = append(out, relationship{ID: r.ID, Type: relType(r.Type), Target: target})
	}
	return out, nil
}

// relType shortens a relationship type URI (transitional or Strict) to its
// last segment: "officeDocument", "header", "footnotes"...
func relType(uri string) string {
	return uri[strings.LastIndexByte(uri, '/')+1:]
}

func newXMLDecoder(data []byte) *xml.Decoder {
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte{0xef, 0xbb, 0xbf})))
	d.Strict = true // undefined entities (billion laughs, XXE) are errors, never expanded
	d.CharsetReader = charset.NewReaderLabel
	return d
}

// docx extracts a Word document: body paragraphs with heading styles (and
// outline levels) as headings, list items, tables as rows, text boxes once;
// then footnotes, endnotes and comments; headers and footers first, each
// distinct paragraph once. The title is docProps/core.xml's, else the
// first heading, else the file name.
func (e *Extractor) docx(f ingest.File) ([]ingest.Doc, error) {
	p, err := openDocx(f.Data, e.opts)
	if err != nil {
		return nil, err
	}
	rootRels, err := p.rels("")
	if err != nil {
		return nil, err
	}
	main := "word/document.xml"
	meta := map[string]any{}
	for _, r := range rootRels {
		switch r.Type {
		case "officeDocument":
			main = r.Target
		case "core-properties":
			if err := p.coreProperties(r.Target, meta); err != nil {
				return nil, err
			}
		}
	}
	if _, ok := p.files[main]; !ok {
		return nil, fail(ReasonParse, ragd.EInvalid, "the DOCX has no main document")
	}
	rels, err := p.rels(main)
	if err != nil {
		return nil, err
	}
	parts := map[string][]string{}
	for _, r := range rels {
		parts[r.Type] = append(parts[r.Type], r.Target)
	}
	st := docxStyles{}
	if len(parts["styles"]) > 0 {
		if data, err := p.read(parts["styles"][0]); err != nil {
			return nil, err
		} else if data != nil {
			if st, err = parseStyles(data); err != nil {
				return nil, err
			}
		}
	}

	b := newBuilder(e.opts.MaxText)
	seen := map[string]bool{} // header and footer paragraphs already taken
	emit := func(names []string, dedupe bool) error {
		sort.Strings(names)
		for _, name := range names {
			data, err := p.read(name)
			if err != nil {
				return err
			}
			if data == nil {
				continue // listed but not in the package: the other parts still count
			}
			w := &docxWalker{b: b, styles: st, seen: seen, dedupe: dedupe}
			if err := w.walk(data); err != nil {
				return failWrap(ReasonParse, ragd.EInvalid, err, "the DOCX part %q could not be parsed", cutAt(clean(name), 100))
			}
			if b.full() {
				return nil
			}
		}
		return nil
	}
	for _, step := range []struct {
		names  []string
		dedupe bool
	}{
		{parts["header"], true},
		{[]string{main}, false},
		{parts["footer"], true},
		{parts["footnotes"], false},
		{parts["endnotes"], false},
		{parts["comments"], false},
	} {
		if err := emit(step.names, step.dedupe); err != nil {
			return nil, err
		}
	}
	if len(b.doc.Blocks) == 0 {
		return nil, fail(ReasonEmpty, ragd.EInvalid, "the DOCX contains no text")
	}
	if t, _ := meta["title"].(string); t != "" {
		b.doc.Title = t
	}
	if b.doc.Title == "" {
		for _, blk := range b.doc.Blocks {
			if blk.Kind == ingest.BlockHeading {
				b.doc.Title = squeezeLine(blk.Text)
				break
			}
		}
	}
	if b.doc.Title == "" {
		b.doc.Title = baseTitle(f.Name)
	}
	if len(meta) > 0 {
		b.doc.Metadata = meta
	}
	return []ingest.Doc{b.doc}, nil
}

// coreProperties reads title, subject, creator, keywords and dates from
// docProps/core.xml (Dublin Core).
func (p *docxPackage) coreProperties(name string, meta map[string]any) error {
	data, err := p.read(name)
	if err != nil || data == nil {
		return err
	}
	d := newXMLDecoder(data)
	depth := 0
	var cur string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return failWrap(ReasonParse, ragd.EInvalid, err, "the DOCX properties could not be parsed")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxXMLDepth {
				return fail(ReasonParse, ragd.EInvalid, "the DOCX properties are nested too deeply")
			}
			if depth == 2 {
				cur = t.Name.Local
				text.Reset()
			}
		case xml.CharData:
			if depth == 2 && text.Len() < 4096 {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				v := squeezeLine(text.String())
				key := map[string]string{"title": "title", "subject": "subject", "creator": "author",
					"keywords": "keywords", "description": "description", "created": "created", "modified": "modified"}[cur]
				if key != "" && v != "" {
					meta[key] = cutAt(v, 1000)
				}
			}
			depth--
		}
	}
}

// docxStyle is what extraction needs of a paragraph style.
type docxStyle struct {
	heading int // 1-6, or 0
	list    bool
	basedOn string
}

type docxStyles map[string]docxStyle

// parseStyles reads paragraph styles: a style named "heading N" or
// "Title", or with an outline level, is a heading; one with numbering is a
// list style.
func parseStyles(data []byte) (docxStyles, error) {
	st := docxStyles{}
	d := newXMLDecoder(data)
	depth := 0
	var id string
	var cur docxStyle
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, failWrap(ReasonParse, ragd.EInvalid, err, "the DOCX styles could not be parsed")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxXMLDepth {
				return nil, fail(ReasonParse, ragd.EInvalid, "the DOCX styles are nested too deeply")
			}
			if !wordNamespaces[t.Name.Space] {
				continue
			}
			switch t.Name.Local {
			case "style":
				id, cur = wattr(t, "styleId"), docxStyle{}
			case "name":
				if id != "" {
					name := strings.ToLower(wattr(t, "val"))
					if name == "title" {
						cur.heading = 1
					} else if n, ok := strings.CutPrefix(name, "heading "); ok {
						if lvl, err := strconv.Atoi(n); err == nil && lvl >= 1 {
							cur.heading = min(lvl, 6)
						}
					}
				}
			case "outlineLvl":
				if lvl, err := strconv.Atoi(wattr(t, "val")); err == nil && lvl >= 0 && lvl < 9 && cur.heading == 0 {
					cur.heading = min(lvl+1, 6)
				}
			case "numPr":
				cur.list = true
			case "basedOn":
				cur.basedOn = wattr(t, "val")
			}
		case xml.EndElement:
			depth--
			if wordNamespaces[t.Name.Space] && t.Name.Local == "style" && id != "" {
				st[id] = cur
				id = ""
			}
		}
	}
	return st, nil
}

// resolve returns a style with what it inherits.
func (st docxStyles) resolve(id string) docxStyle {
	s, ok := st[id]
	if !ok {
		// No styles part, or an unknown ID: Word's built-in IDs.
		lower := strings.ToLower(id)
		if lower == "title" {
			return docxStyle{heading: 1}
		}
		if n, ok := strings.CutPrefix(lower, "heading"); ok {
			if lvl, err := strconv.Atoi(n); err == nil && lvl >= 1 {
				return docxStyle{heading: min(lvl, 6)}
			}
		}
		return docxStyle{}
	}
	for i, base := 0, s.basedOn; base != "" && i < 10; i++ {
		b, ok := st[base]
		if !ok {
			break
		}
		if s.heading == 0 {
			s.heading = b.heading
		}
		s.list = s.list || b.list
		base = b.basedOn
	}
	return s
}

// wattr returns the attribute with the given local name in a Word
// namespace (or none).
func wattr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local && (a.Name.Space == "" || wordNamespaces[a.Name.Space]) {
			return a.Value
		}
	}
	return ""
}

// docxPara is a paragraph being read.
type docxPara struct {
	text    strings.Builder
	style   string
	outline int // outline level + 1, or 0
	list    bool
	ilvl    int
	inPPr   bool
}

// docxTable is a table being read.
type docxTable struct {
	rows [][]string
	cell *strings.Builder
}

// docxWalker streams one part's XML into blocks.
type docxWalker struct {
	b      *builder
	styles docxStyles
	seen   map[string]bool
	dedupe bool

	paras  []*docxPara
	tables []*docxTable
	inText bool // inside a w:t
}

var errTooDeep = errors.New("elements nested too deeply")

func (w *docxWalker) walk(data []byte) error {
	d := newXMLDecoder(data)
	depth := 0
	skip := 0 // depth at which a skipped subtree started, or 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxXMLDepth {
				return errTooDeep
			}
			if skip > 0 {
				continue
			}
			if w.skipElement(t) {
				skip = depth
				continue
			}
			w.start(t)
		case xml.EndElement:
			if skip > 0 {
				if depth == skip {
					skip = 0
				}
				depth--
				continue
			}
			depth--
			w.end(t)
		case xml.CharData:
			if p := top(w.paras); skip == 0 && p != nil && w.inText {
				p.text.Write(t)
			}
		}
		if w.b.full() {
			return nil
		}
	}
}

// skipElement reports whether an element's subtree holds nothing to read:
// the Fallback of an AlternateContent (the Choice has the same content,
// text boxes included), deleted text, field instructions, separator
// footnotes, and drawing properties.
func (w *docxWalker) skipElement(t xml.StartElement) bool {
	if t.Name.Space == mcNamespace {
		return t.Name.Local == "Fallback"
	}
	if !wordNamespaces[t.Name.Space] {
		return false
	}
	switch t.Name.Local {
	case "delText", "instrText", "rPr", "sectPr", "tblPr", "tblGrid", "trPr", "tcPr":
		return true
	case "footnote", "endnote":
		typ := wattr(t, "type")
		return typ == "separator" || typ == "continuationSeparator" || typ == "continuationNotice"
	}
	return false
}

// top returns the innermost element of a stack, or nil when it is empty.
func top[T any](stack []*T) *T {
	if len(stack) == 0 {
		return nil
	}
	return stack[len(stack)-1]
}

// pop removes the innermost element of a stack and returns it, or returns
// nil when the stack is empty.
func pop[T any](stack *[]*T) *T {
	t := top(*stack)
	if t != nil {
		*stack = (*stack)[:len(*stack)-1]
	}
	return t
}

func (w *docxWalker) start(t xml.StartElement) {
	if !wordNamespaces[t.Name.Space] {
		return
	}
	p := top(w.paras)
	switch t.Name.Local {
	case "p":
		w.paras = append(w.paras, &docxPara{})
	case "pPr":
		if p != nil {
			p.inPPr = true
		}
	case "pStyle":
		if p != nil && p.inPPr {
			p.style = wattr(t, "val")
		}
	case "outlineLvl":
		if p != nil && p.inPPr {
			if lvl, err := strconv.Atoi(wattr(t, "val")); err == nil && lvl >= 0 && lvl < 9 {
				p.outline = min(lvl+1, 6)
			}
		}
	case "numId":
		if p != nil && p.inPPr && wattr(t, "val") != "0" {
			p.list = true
		}
	case "ilvl":
		if p != nil && p.inPPr {
			if lvl, err := strconv.Atoi(wattr(t, "val")); err == nil && lvl >= 0 && lvl < 9 {
				p.ilvl = lvl
			}
		}
	case "t":
		w.inText = true
	case "tab", "ptab":
		if p != nil && !p.inPPr {
			p.text.WriteByte('\t')
		}
	case "br", "cr":
		if p != nil {
			p.text.WriteByte('\n')
		}
	case "noBreakHyphen":
		if p != nil {
			p.text.WriteByte('-')
		}
	case "tbl":
		w.tables = append(w.tables, &docxTable{})
	case "tr":
		if tb := top(w.tables); tb != nil {
			tb.rows = append(tb.rows, nil)
		}
	case "tc":
		if tb := top(w.tables); tb != nil {
			tb.cell = &strings.Builder{}
		}
	}
}

func (w *docxWalker) end(t xml.EndElement) {
	if !wordNamespaces[t.Name.Space] {
		return
	}
	switch t.Name.Local {
	case "t":
		w.inText = false
	case "pPr":
		if p := top(w.paras); p != nil {
			p.inPPr = false
		}
	case "p":
		if p := pop(&w.paras); p != nil {
			w.finishPara(p)
		}
	case "tc":
		if tb := top(w.tables); tb != nil && tb.cell != nil && len(tb.rows) > 0 {
			row := &tb.rows[len(tb.rows)-1]
			*row = append(*row, squeezeLine(tb.cell.String()))
			tb.cell = nil
		}
	case "tbl":
		tb := pop(&w.tables)
		if tb == nil {
			return
		}
		var lines []string
		for _, row := range tb.rows {
			if strings.TrimSpace(strings.Join(row, "")) == "" {
				continue
			}
			lines = append(lines, strings.Join(row, " | "))
		}
		text := strings.Join(lines, "\n")
		if outer := top(w.tables); outer != nil && outer.cell != nil {
			// A nested table: its text goes into the enclosing cell.
			outer.cell.WriteString(" " + strings.ReplaceAll(text, "\n", " ; ") + " ")
			return
		}
		w.emit(ingest.BlockTable, 0, text)
	}
}

// finishPara emits a paragraph as a heading, list item or paragraph, or
// adds its text to the table cell it is in.
func (w *docxWalker) finishPara(p *docxPara) {
	text := p.text.String()
	if tb := top(w.tables); tb != nil && tb.cell != nil && len(w.paras) == 0 {
		if tb.cell.Len() > 0 {
			tb.cell.WriteByte(' ')
		}
		tb.cell.WriteString(text)
		return
	}
	st := w.styles.resolve(p.style)
	switch {
	case st.heading > 0:
		w.emit(ingest.BlockHeading, st.heading, strings.ReplaceAll(text, "\n", " "))
	case p.outline > 0:
		w.emit(ingest.BlockHeading, p.outline, strings.ReplaceAll(text, "\n", " "))
	case p.list || st.list:
		w.emit(ingest.BlockList, p.ilvl+1, text)
	default:
		w.emit(ingest.BlockParagraph, 0, text)
	}
}

func (w *docxWalker) emit(kind string, level int, text string) {
	if w.dedupe {
		key := squeezeLine(text)
		if key == "" || w.seen[key] {
			return
		}
		w.seen[key] = true
	}
	w.b.add(kind, level, 0, text)
}
