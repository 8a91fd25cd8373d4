package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klippa-app/go-pdfium"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// pdfEngine is PDFium compiled to WebAssembly, run by wazero: pure Go, no
// cgo, and sandboxed: the module sees no file system (an empty FS config;
// go-pdfium's default would mount the host's /) and its memory is capped.
type pdfEngine struct {
	pool pdfium.Pool
}

func newPDFEngine(ctx context.Context, opts Options, instances int) (*pdfEngine, error) {
	pages := uint32(min(opts.PDFMemoryLimit/65536, 65536))
	rc := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(max(pages, 256))
	if opts.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("pdf engine cache %s: %w", opts.CacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	pool, err := webassembly.Init(webassembly.Config{
		Context:       context.WithoutCancel(ctx),
		MinIdle:       1,
		MaxIdle:       instances,
		MaxTotal:      instances,
		FSConfig:      wazero.NewFSConfig(),
		RuntimeConfig: rc,
		Stdout:        io.Discard,
		Stderr:        io.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("start pdf engine: %w", err)
	}
	return &pdfEngine{pool: pool}, nil
}

func (p *pdfEngine) close() error { return p.pool.Close() }

// engine starts the PDF engine on first use.
func (e *Extractor) engine(ctx context.Context) (*pdfEngine, error) {
	e.pdfOnce.Do(func() {
		e.pdf, e.pdfErr = newPDFEngine(ctx, e.opts, runtime.GOMAXPROCS(0))
	})
	return e.pdf, e.pdfErr
}

// pdfLine is one line of text on a PDF page with its geometry, in PDF
// user space (y grows upwards): the origins (baseline positions) of its
// first and last characters. A line PDFium joined across a hyphenated line
// break spans two baselines.
type pdfLine struct {
	page     int
	text     string
	size     float64 // font size of its first character
	bold     bool
	x1, y1   float64 // origin of the first character
	x2, y2   float64 // origin of the last character
	geometry bool    // the geometry fields are known
}

// pdfDoc extracts a PDF: text per page in PDFium's reading order, split
// into paragraphs by line spacing, with headings where the font size (or a
// bold short line) says so, every block carrying its page number.
func (e *Extractor) pdfDoc(ctx context.Context, f ingest.File) ([]ingest.Doc, error) {
	eng, err := e.engine(ctx)
	if err != nil {
		return nil, failWrap(ReasonInternal, ragd.EInternal, err, "the PDF engine could not start")
	}
	inst, err := eng.pool.GetInstanceWithContext(ctx)
	if err != nil {
		return nil, failWrap(ReasonInternal, ragd.EInternal, err, "the PDF engine is unavailable")
	}
	defer inst.Close()

	if n := declaredPages(f.Data); n > e.opts.MaxPages {
		return nil, fail(ReasonTooManyPages, ragd.ETooLarge, "the PDF declares %d pages, more than the limit of %d", n, e.opts.MaxPages)
	}
	data := f.Data
	doc, err := openPDF(inst, &data, e.opts.Passwords)
	if err != nil {
		return nil, err
	}
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: doc})

	pc, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: doc})
	if err != nil {
		return nil, failWrap(ReasonParse, ragd.EInvalid, err, "the PDF could not be read")
	}
	if pc.PageCount > e.opts.MaxPages {
		return nil, fail(ReasonTooManyPages, ragd.ETooLarge, "the PDF has %d pages, more than the limit of %d", pc.PageCount, e.opts.MaxPages)
	}
	if pc.PageCount == 0 {
		return nil, fail(ReasonEmpty, ragd.EInvalid, "the PDF has no pages")
	}

	b := newBuilder(e.opts.MaxText)
	b.doc.Metadata = pdfMetadata(inst, doc, pc.PageCount)
	var lines []pdfLine
	textBytes := 0
	for i := 0; i < pc.PageCount; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pl, err := pageLines(inst, doc, i)
		if err != nil {
			return nil, pageError(err, i+1, e.opts.PDFMemoryLimit)
		}
		for _, l := range pl {
			textBytes += len(l.text) + 1
		}
		lines = append(lines, pl...)
		if textBytes > e.opts.MaxText {
			b.doc.Truncated = true // known now; the builder cuts at the cap
			break
		}
	}
	truncated := b.doc.Truncated
	b.doc.Truncated = false
	lines, running := dropRunningLines(lines)
	blocks, headingTitle := pdfBlocks(lines)
	for _, blk := range blocks {
		if !b.add(blk.Kind, blk.Level, blk.Page, blk.Text) {
			break
		}
	}
	b.doc.Truncated = b.doc.Truncated || truncated
	if len(b.doc.Blocks) == 0 {
		return nil, fail(ReasonEmpty, ragd.EInvalid, "the PDF contains no text (a scanned document without a text layer?)")
	}
	if t, _ := b.doc.Metadata["title"].(string); t != "" {
		b.doc.Title = t
	}
	if b.doc.Title == "" {
		b.doc.Title = squeezeLine(headingTitle)
	}
	if b.doc.Title == "" {
		b.doc.Title = baseTitle(f.Name)
	}
	if b.doc.Title == "" {
		b.doc.Title = firstLine(b.doc.Blocks[0].Text)
	}
	if extendsTitle(running, b.doc.Title) {
		// The running header "Apple Inc. | Q3 2023 Form 10-Q" says more
		// than the title "Apple Inc.", and every chunk carries the title
		// as context.
		b.doc.Title = squeezeLine(running)
	}
	return []ingest.Doc{b.doc}, nil
}

var countRE = regexp.MustCompile(`/Count\s+(\d{1,12})`)

// declaredPages returns the largest /Count of a page tree node visible in
// the raw file (not in compressed object streams), so that a file
// declaring ten million pages is rejected before it is opened
// (RELIABILITY.md H-3). PDFium itself counts the pages it can reach.
func declaredPages(data []byte) int {
	most := 0
	for _, m := range countRE.FindAllSubmatchIndex(data, -1) {
		// Only the /Count of a dictionary that is a /Pages node (outlines
		// have counts too).
		open := bytes.LastIndex(data[max(0, m[0]-4096):m[0]], []byte("<<"))
		if open < 0 {
			continue
		}
		dictStart := max(0, m[0]-4096) + open
		end := bytes.Index(data[m[1]:min(len(data), m[1]+4096)], []byte(">>"))
		if end < 0 {
			continue
		}
		dict := data[dictStart : m[1]+end]
		if !pagesTypeRE.Match(dict) {
			continue
		}
		if n, err := strconv.Atoi(string(data[m[2]:m[3]])); err == nil && n > most {
			most = n
		}
	}
	return most
}

var pagesTypeRE = regexp.MustCompile(`/Type\s*/Pages\b`)

// openPDF opens a document with the empty password, then each of the
// given passwords. An encrypted document none of them opens is EInvalid
// with ReasonPasswordRequired.
func openPDF(inst pdfium.Pdfium, data *[]byte, passwords []string) (references.FPDF_DOCUMENT, error) {
	res, err := inst.FPDF_LoadMemDocument(&requests.FPDF_LoadMemDocument{Data: data})
	if err == nil {
		return res.Document, nil
	}
	if !errors.Is(err, pdfiumerrors.ErrPassword) {
		if errors.Is(err, pdfiumerrors.ErrSecurity) {
			return "", failWrap(ReasonPasswordRequired, ragd.EInvalid, err, "the PDF uses an encryption ragd cannot open")
		}
		return "", failWrap(ReasonParse, ragd.EInvalid, err, "the PDF is damaged and could not be opened")
	}
	for _, pw := range passwords {
		pw := pw
		res, err := inst.FPDF_LoadMemDocument(&requests.FPDF_LoadMemDocument{Data: data, Password: &pw})
		if err == nil {
			return res.Document, nil
		}
	}
	if len(passwords) > 0 {
		return "", fail(ReasonPasswordRequired, ragd.EInvalid, "the PDF is encrypted and none of the passwords given opens it")
	}
	return "", fail(ReasonPasswordRequired, ragd.EInvalid, "the PDF is encrypted: a password is required")
}

// pageError explains a failure to read a page. PDFium aborts (a
// WebAssembly "unreachable" trap) when its memory limit is reached, which
// on a page means its content expanded beyond it: a decompression bomb or
// a page with millions of objects (RELIABILITY.md H-4).
func pageError(err error, page int, limit int64) error {
	if strings.Contains(err.Error(), "wasm error: unreachable") || strings.Contains(err.Error(), "out of memory") {
		return failWrap(ReasonDecompressedTooLarge, ragd.ETooLarge, err, "page %d of the PDF expands to more than the %d MB the PDF reader may use", page, limit>>20)
	}
	return failWrap(ReasonParse, ragd.EInvalid, err, "page %d of the PDF could not be read", page)
}

// pdfMetadata reads the document information dictionary.
func pdfMetadata(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT, pages int) map[string]any {
	m := map[string]any{"pages": float64(pages)}
	for _, tag := range []struct{ tag, key string }{
		{"Title", "title"}, {"Author", "author"}, {"Subject", "subject"}, {"Keywords", "keywords"},
		{"Creator", "creator"}, {"Producer", "producer"}, {"CreationDate", "created"}, {"ModDate", "modified"},
	} {
		res, err := inst.FPDF_GetMetaText(&requests.FPDF_GetMetaText{Document: doc, Tag: tag.tag})
		if err != nil {
			continue
		}
		v := squeezeLine(res.Value)
		if v == "" {
			continue
		}
		switch tag.key {
		case "created", "modified":
			if t, ok := parsePDFDate(v); ok {
				v = t.Format(time.RFC3339)
			}
		case "title":
			v = cleanPDFTitle(v)
			if v == "" {
				continue
			}
		}
		m[tag.key] = cutAt(v, 1000)
	}
	return m
}

// cleanPDFTitle drops the application prefixes office suites put in front
// of a document title ("Microsoft Word - report.docx") and titles that are
// only a file name.
func cleanPDFTitle(t string) string {
	for _, p := range []string{"Microsoft Word - ", "Microsoft PowerPoint - ", "Microsoft Excel - "} {
		t = strings.TrimPrefix(t, p)
	}
	lower := strings.ToLower(t)
	for _, x := range []string{".doc", ".docx", ".pdf", ".rtf", ".odt", ".tex", ".dvi", ".ppt", ".pptx", ".indd"} {
		if strings.HasSuffix(lower, x) && !strings.Contains(t, " ") {
			return ""
		}
	}
	if lower == "untitled" || lower == "title" || lower == "(anonymous)" || !hasLetter(t) {
		return ""
	}
	return t
}

// parsePDFDate parses a PDF date string, D:YYYYMMDDHHmmSSOHH'mm'.
func parsePDFDate(s string) (time.Time, bool) {
	s = strings.TrimPrefix(s, "D:")
	s = strings.ReplaceAll(s, "'", "")
	for _, layout := range []string{"20060102150405-0700", "20060102150405Z", "20060102150405", "200601021504", "20060102"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
		if len(s) > len(layout) {
			if t, err := time.Parse(layout, s[:len(layout)]); err == nil && !strings.ContainsAny(layout, "-Z") {
				return t.UTC(), true
			}
		}
	}
	return time.Time{}, false
}

// pageLines returns the lines of text of page i with their geometry.
func pageLines(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT, i int) ([]pdfLine, error) {
	page := requests.Page{ByIndex: &requests.PageByIndex{Document: doc, Index: i}}
	tp, err := inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: page})
	if err != nil {
		return nil, err
	}
	defer inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage})
	count, err := inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil {
		return nil, err
	}
	if count.Count <= 0 {
		return nil, nil
	}
	res, err := inst.FPDFText_GetText(&requests.FPDFText_GetText{TextPage: tp.TextPage, Count: count.Count})
	if err != nil {
		return nil, err
	}
	text := res.Text
	// Every character PDFium counts is one rune of the text, generated line
	// breaks included; when that does not hold, positions are unknown.
	aligned := utf8.RuneCountInString(text) == count.Count
	var lines []pdfLine
	idx := 0 // character index of text[start]
	for start := 0; start < len(text); {
		end := strings.IndexAny(text[start:], "\r\n")
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		raw := text[start:end]
		l := pdfLine{page: i + 1, text: raw}
		if aligned && strings.TrimSpace(raw) != "" {
			first, last := lineBounds(raw)
			l.geometry = lineGeometry(inst, tp.TextPage, idx+first, idx+last, &l)
		}
		if strings.TrimSpace(raw) != "" {
			lines = append(lines, l)
		}
		idx += utf8.RuneCountInString(raw)
		start = end
		for start < len(text) && (text[start] == '\r' || text[start] == '\n') {
			start++
			idx++
		}
	}
	return lines, nil
}

// Running headers and footers ("Apple Inc. | Q3 2023 Form 10-Q | 16", a
// bare page number, "Table of Contents") repeat on most pages; left in, they
// become sentences of every chunk, match every query that names the
// company, and are what an extractive answer quotes. A line is one when it
// is among the first or last runningEdge lines of a page, at most
// runningMaxBytes long, and the same but for its digits on at least
// runningMinPages pages and runningShare of the document's pages, unless
// such lines are a third of the text or more.
const (
	runningEdge     = 2
	runningMaxBytes = 200
	runningMinPages = 3
	runningShare    = 0.2
)

// dropRunningLines returns lines without the running headers and footers.
// Lines are in page order.
func dropRunningLines(lines []pdfLine) ([]pdfLine, string) {
	type span struct{ start, end int }
	var pages []span
	for i := range lines {
		if i == 0 || lines[i].page != lines[i-1].page {
			pages = append(pages, span{i, i})
		}
		pages[len(pages)-1].end = i + 1
	}
	if len(pages) < runningMinPages {
		return lines, ""
	}
	edge := func(p span, i int) bool { return i < p.start+runningEdge || i >= p.end-runningEdge }
	keys := make([]string, len(lines))
	count := map[string]int{}
	for _, p := range pages {
		seen := map[string]bool{}
		for i := p.start; i < p.end; i++ {
			if !edge(p, i) || len(lines[i].text) > runningMaxBytes {
				continue
			}
			keys[i] = runningKey(lines[i].text)
			if !seen[keys[i]] {
				seen[keys[i]] = true
				count[keys[i]]++
			}
		}
	}
	need := max(runningMinPages, int(math.Ceil(runningShare*float64(len(pages)))))
	out := lines[:0:0]
	header, best := "", 0
	for i, l := range lines {
		n := count[keys[i]] // 0 for a line that is not a candidate (key "")
		if n < need {
			out = append(out, l)
			continue
		}
		if n > best && hasLetter(l.text) {
			header, best = l.text, n
		}
	}
	if len(out) < len(lines)*2/3 {
		// Pages that repeat one another (a form filled in on every page)
		// are content, not margins.
		return lines, ""
	}
	return out, strings.TrimRight(strings.TrimSpace(header), "0123456789 |-–—·")
}

// extendsTitle reports whether running starts with the words of title and
// has more after them.
func extendsTitle(running, title string) bool {
	if title == "" {
		return false
	}
	rest, ok := strings.CutPrefix(strings.ToLower(running), strings.ToLower(title))
	if !ok || strings.TrimSpace(rest) == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

// runningKey is a line's text folded for comparison across pages: spaces
// squeezed, lower case, every run of digits one "#".
func runningKey(s string) string {
	var b strings.Builder
	digits, space := false, false // the previous rune was a digit, a space
	for _, r := range strings.TrimSpace(s) {
		isDigit, isSpace := unicode.IsDigit(r), unicode.IsSpace(r)
		switch {
		case isDigit && !digits:
			b.WriteByte('#')
		case isSpace && !space:
			b.WriteByte(' ')
		case !isDigit && !isSpace:
			b.WriteRune(unicode.ToLower(r))
		}
		digits, space = isDigit, isSpace
	}
	return b.String()
}

// lineBounds returns the rune indices of the first and last non-space
// characters of s.
func lineBounds(s string) (first, last int) {
	first, last = -1, 0
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			if first < 0 {
				first = n
			}
			last = n
		}
		n++
	}
	return max(first, 0), last
}

// lineGeometry fills l's font size, weight and baseline positions from its
// first and last characters.
func lineGeometry(inst pdfium.Pdfium, tp references.FPDF_TEXTPAGE, first, last int, l *pdfLine) bool {
	size, err := inst.FPDFText_GetFontSize(&requests.FPDFText_GetFontSize{TextPage: tp, Index: first})
	if err != nil {
		return false
	}
	o1, err := inst.FPDFText_GetCharOrigin(&requests.FPDFText_GetCharOrigin{TextPage: tp, Index: first})
	if err != nil {
		return false
	}
	o2, err := inst.FPDFText_GetCharOrigin(&requests.FPDFText_GetCharOrigin{TextPage: tp, Index: last})
	if err != nil {
		return false
	}
	l.size = size.FontSize
	l.x1, l.y1, l.x2, l.y2 = o1.X, o1.Y, o2.X, o2.Y
	l.bold = boldChar(inst, tp, first) && boldChar(inst, tp, last)
	return l.size > 0 && !math.IsNaN(l.size) && !math.IsNaN(l.y1) && !math.IsNaN(l.y2)
}

// boldChar reports whether a character is set in a bold font: by the
// font's weight, its force-bold flag or its name (weights are often missing
// or wrong in embedded fonts, "Arial-BoldMT" reporting 380).
func boldChar(inst pdfium.Pdfium, tp references.FPDF_TEXTPAGE, i int) bool {
	fi, err := inst.FPDFText_GetFontInfo(&requests.FPDFText_GetFontInfo{TextPage: tp, Index: i})
	if err != nil {
		return false
	}
	const forceBold = 1 << 18
	if fi.Flags&forceBold != 0 {
		return true
	}
	name := strings.ToLower(fi.FontName)
	for _, b := range []string{"bold", "black", "heavy", "semibd", "demi"} {
		if strings.Contains(name, b) {
			return true
		}
	}
	w, err := inst.FPDFText_GetFontWeight(&requests.FPDFText_GetFontWeight{TextPage: tp, Index: i})
	return err == nil && w.FontWeight >= 600
}

// pdfBlocks groups lines into paragraphs and headings. The body font size
// of a page is the size most of its text is set in (per page: converted
// documents scale pages differently); a short paragraph set clearly larger
// is a heading, its level from the ratio to the body size; a short bold
// line in body size is a heading one level below those.
//
// It also returns a title: the heading set in the largest size on the first
// two pages.
func pdfBlocks(lines []pdfLine) ([]ingest.Block, string) {
	pitch := linePitch(lines)
	pageBody := map[int]float64{}
	for start := 0; start < len(lines); {
		end := start
		for end < len(lines) && lines[end].page == lines[start].page {
			end++
		}
		pageBody[lines[start].page] = bodySize(lines[start:end])
		start = end
	}
	var paras [][]pdfLine
	for i, l := range lines {
		var next *pdfLine
		if i+1 < len(lines) {
			next = &lines[i+1]
		}
		if i == 0 || newParagraph(paras[len(paras)-1], l, next, pageBody[l.page], pitch) {
			paras = append(paras, nil)
		}
		paras[len(paras)-1] = append(paras[len(paras)-1], l)
	}

	blocks := make([]ingest.Block, 0, len(paras))
	title, titleSize := "", 0.0
	for _, p := range paras {
		b := ingest.Block{Kind: ingest.BlockParagraph, Text: joinLines(p), Page: p[0].page}
		if level := headingLevel(p, pageBody[p[0].page]); level > 0 {
			b.Kind = ingest.BlockHeading
			b.Level = level
			b.Text = strings.ReplaceAll(b.Text, "\n", " ")
			if level < 4 && p[0].page <= 2 && p[0].size > titleSize {
				title, titleSize = b.Text, p[0].size
			}
		}
		blocks = append(blocks, b)
	}
	return blocks, title
}

// headingLevel returns the heading level of a paragraph, or 0 when it is
// not a heading: at most three lines and 200 bytes, with a letter, not a
// sentence; then 1 to 3 by how much larger than the body size it is set,
// or 4 for a single bold line in body size.
func headingLevel(p []pdfLine, body float64) int {
	text := joinLines(p)
	if body <= 0 || !p[0].geometry || len(p) > 3 || len(text) > 200 || len(text) < 2 || !hasLetter(text) {
		return 0
	}
	if strings.HasSuffix(text, ".") && !strings.HasSuffix(text, "..") && len(p) > 1 {
		return 0
	}
	size := roundHalf(p[0].size)
	switch ratio := size / body; {
	case ratio >= 1.08 && size >= body+0.9:
		switch {
		case ratio >= 1.6:
			return 1
		case ratio >= 1.3:
			return 2
		}
		return 3
	case len(p) == 1 && p[0].bold && ratio >= 0.95 && len(text) <= 120 &&
		!strings.HasSuffix(text, ".") && !startsWithDigitOrSign(text):
		return 4
	}
	return 0
}

// newParagraph reports whether line l starts a new paragraph after the
// lines of the current one: on a new page; when the font size or weight
// changes; when the text moves up or far right (a new column or region);
// after a gap clearly larger than the usual line pitch; or when l is
// indented against the paragraph's lines and the next line is not (a
// first-line indent, not a hanging one) or the previous line stopped
// short after a full stop.
func newParagraph(para []pdfLine, l pdfLine, next *pdfLine, body float64, pitches map[float64]float64) bool {
	prev := para[len(para)-1]
	if l.page != prev.page {
		return true
	}
	if !l.geometry || !prev.geometry {
		return false
	}
	size := max(prev.size, l.size, 1)
	if d := math.Abs(l.size - prev.size); d >= 0.75 && d > 0.05*size {
		return true
	}
	if prev.bold != l.bold && prev.size >= body*0.95 && len(para) == 1 {
		return true
	}
	if l.y1 > prev.y2+0.5*size { // moved up: a new column or region
		return true
	}
	step := prev.y2 - l.y1
	pitch := pitches[roundHalf(l.size)]
	if pitch <= 0 {
		pitch = 1.2 * l.size
	}
	if step > 1.35*pitch && step > 0.3*size {
		return true
	}
	left := para[0].x1
	if len(para) > 1 {
		left = para[1].x1 // the first line may be indented
	}
	indent := l.x1 - left
	if indent > 0.6*size && indent < 6*size && (next == nil || math.Abs(next.x1-left) < 0.4*size || next.page != l.page) {
		return true
	}
	right := prev.x2
	for _, p := range para {
		right = max(right, p.x2)
	}
	if len(para) > 1 && prev.x2 < right-6*size && endsSentence(prev.text) {
		return true
	}
	return false
}

// linePitch returns, per font size (to half a point), the most common
// distance between the baselines of consecutive lines in that size.
func linePitch(lines []pdfLine) map[float64]float64 {
	counts := map[float64]map[float64]int{}
	for i := 1; i < len(lines); i++ {
		a, b := lines[i-1], lines[i]
		if !a.geometry || !b.geometry || a.page != b.page || roundHalf(a.size) != roundHalf(b.size) {
			continue
		}
		step := roundHalf(a.y2 - b.y1)
		if step <= 0 || step > 3*b.size {
			continue
		}
		s := roundHalf(b.size)
		if counts[s] == nil {
			counts[s] = map[float64]int{}
		}
		counts[s][step]++
	}
	out := map[float64]float64{}
	for s, c := range counts {
		best, bestN := 0.0, 0
		for step, n := range c {
			if n > bestN || n == bestN && step < best {
				best, bestN = step, n
			}
		}
		out[s] = best
	}
	return out
}

func endsSentence(s string) bool {
	s = strings.TrimRight(s, " \t")
	if s == "" {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	return strings.ContainsRune(".!?:;\"”)", r)
}

// bodySize is the font size (to half a point) of most characters.
func bodySize(lines []pdfLine) float64 {
	weight := map[float64]int{}
	for _, l := range lines {
		if l.geometry {
			weight[roundHalf(l.size)] += utf8.RuneCountInString(l.text)
		}
	}
	best, bestN := 0.0, 0
	for s, n := range weight {
		if n > bestN || n == bestN && s < best {
			best, bestN = s, n
		}
	}
	return best
}

// joinLines joins the lines of a paragraph with newlines, which keeps the
// rows of tables apart. PDFium already joins words hyphenated across lines
// (marking the hyphen with U+FFFE, which clean removes).
func joinLines(p []pdfLine) string {
	var b strings.Builder
	for i, l := range p {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strings.TrimSpace(l.text))
	}
	return b.String()
}

func roundHalf(f float64) float64 { return math.Round(f*2) / 2 }

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

func startsWithDigitOrSign(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsDigit(r) || r == '$' || r == '(' || r == '-' || r == '—' || r == '•'
}
