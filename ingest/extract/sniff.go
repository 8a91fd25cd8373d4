package extract

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/ragd/ragd"
)

// sniffLen is how much of a file sniffing looks at for text types.
const sniffLen = 8 << 10

// Sniff decides a file's type from its content; the name's extension and
// the declared media type only break ties among text types (.md, .mdx,
// .markdown, .csv, .tsv, .jsonl, .ndjson, .txt, .html). It returns one of
// the Type constants. A file of any other kind (executables, images,
// archives, other office formats) is EUnsupported with a message naming
// what it looks like; an empty file is EInvalid.
func Sniff(name, declared string, data []byte) (string, error) {
	if len(data) == 0 {
		return "", fail(ReasonEmpty, ragd.EInvalid, "file is empty")
	}
	if pdfHeader(data) {
		return TypePDF, nil
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")) {
		return sniffZip(data)
	}
	if what := binaryKind(data); what != "" {
		if what == encryptedOffice {
			return "", fail(ReasonPasswordRequired, ragd.EInvalid, "the file is a password-protected Office document: a password is required")
		}
		return "", fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract %s", what)
	}
	head := data[:min(len(data), sniffLen)]
	if !looksLikeText(head) {
		return "", fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract binary data (%s)", describeBinary(data))
	}
	text := decodeText(head)
	hint := typeHint(name, declared)
	switch html := htmlSignal(text); {
	case html == htmlStrong:
		return TypeHTML, nil
	case html == htmlWeak && hint != TypeMarkdown && hint != TypeMDX && hint != TypeText:
		return TypeHTML, nil
	}
	if xmlKind := xmlDocument(text); xmlKind != "" {
		return "", fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract %s", xmlKind)
	}
	if strings.HasPrefix(strings.TrimLeft(text, " \t\r\n"), "{\\rtf") {
		return "", fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract an RTF document")
	}
	switch hint {
	case TypeCSV:
		if csvDelimiter(text, ext(name), len(head) < len(data)) != 0 {
			return TypeCSV, nil
		}
		return TypeText, nil
	case TypeJSONL:
		if jsonLines(text, len(head) < len(data)) {
			return TypeJSONL, nil
		}
		return TypeText, nil
	case TypeMarkdown, TypeMDX, TypeText, TypeHTML:
		if hint == TypeHTML && htmlSignal(text) == htmlNone {
			return TypeText, nil
		}
		return hint, nil
	}
	// No text extension: the content decides.
	switch {
	case jsonLines(text, len(head) < len(data)):
		return TypeJSONL, nil
	case looksLikeMarkdown(text):
		return TypeMarkdown, nil
	}
	return TypeText, nil
}

// typeHint returns the text type the extension (or, without one, the
// declared media type) names, or "".
func typeHint(name, declared string) string {
	switch ext(name) {
	case ".md", ".markdown", ".mdown", ".mkd":
		return TypeMarkdown
	case ".mdx":
		return TypeMDX
	case ".csv", ".tsv", ".tab":
		return TypeCSV
	case ".jsonl", ".ndjson":
		return TypeJSONL
	case ".txt", ".text", ".log", ".rst", ".adoc", ".org":
		return TypeText
	case ".html", ".htm", ".xhtml":
		return TypeHTML
	}
	mt, _, err := mime.ParseMediaType(declared)
	if err != nil {
		return ""
	}
	switch mt {
	case "text/markdown", "text/x-markdown":
		return TypeMarkdown
	case "text/mdx":
		return TypeMDX
	case "text/csv", "text/tab-separated-values":
		return TypeCSV
	case "application/jsonl", "application/x-ndjson", "application/x-jsonlines":
		return TypeJSONL
	case "text/plain":
		return TypeText
	case "text/html", "application/xhtml+xml":
		return TypeHTML
	}
	return ""
}

// pdfHeader reports whether "%PDF-" appears in the first kilobyte, where
// readers accept it (junk before the header is common).
func pdfHeader(data []byte) bool {
	return bytes.Contains(data[:min(len(data), 1024)], []byte("%PDF-"))
}

// sniffZip tells a DOCX from other ZIP-based formats by its parts: a
// [Content_Types].xml and a WordprocessingML main document.
func sniffZip(data []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", failWrap(ReasonParse, ragd.EInvalid, err, "the file looks like a ZIP archive but is damaged")
	}
	names := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		names[f.Name] = true
	}
	switch {
	case names["[Content_Types].xml"] && (names["word/document.xml"] || hasPrefixName(names, "word/")):
		return TypeDOCX, nil
	case names["[Content_Types].xml"] && hasPrefixName(names, "xl/"):
		return "", fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract an Excel workbook (XLSX)")
	case names["[Content_Types].xml"] && hasPrefixName(names, "ppt/"):
		return "", fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract a PowerPoint presentation (PPTX)")
	case names["mimetype"]:
		mt := zipMimetype(zr)
		switch {
		case strings.HasPrefix(mt, "application/vnd.oasis.opendocument"):
			return "", fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract an OpenDocument file (%s)", mt)
		case mt == "application/epub+zip":
			return "", fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract an EPUB book")
		}
	case names["META-INF/MANIFEST.MF"]:
		return "", fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract a Java archive (JAR)")
	case names["[Content_Types].xml"]:
		return "", fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract an Office Open XML package that is not a Word document")
	}
	return "", fail(ReasonUnsupported, ragd.EUnsupported, "cannot extract a ZIP archive")
}

func hasPrefixName(names map[string]bool, prefix string) bool {
	for n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

func zipMimetype(zr *zip.Reader) string {
	for _, f := range zr.File {
		if f.Name != "mimetype" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return ""
		}
		defer rc.Close()
		b, _ := io.ReadAll(io.LimitReader(rc, 100))
		return strings.TrimSpace(string(b))
	}
	return ""
}

const encryptedOffice = "encrypted office document"

// magic numbers of formats ragd does not extract, and what to call them.
var magics = []struct {
	prefix string
	what   string
}{
	{"\x7fELF", "an ELF executable"},
	{"MZ", "a Windows executable"},
	{"\xfe\xed\xfa\xce", "a Mach-O executable"},
	{"\xfe\xed\xfa\xcf", "a Mach-O executable"},
	{"\xce\xfa\xed\xfe", "a Mach-O executable"},
	{"\xcf\xfa\xed\xfe", "a Mach-O executable"},
	{"\xca\xfe\xba\xbe", "a Java class file or Mach-O universal binary"},
	{"\x00asm", "a WebAssembly module"},
	{"\x89PNG\r\n\x1a\n", "a PNG image"},
	{"\xff\xd8\xff", "a JPEG image"},
	{"GIF87a", "a GIF image"},
	{"GIF89a", "a GIF image"},
	{"II*\x00", "a TIFF image"},
	{"MM\x00*", "a TIFF image"},
	{"BM", "a BMP image"},
	{"\x00\x00\x01\x00", "an icon"},
	{"8BPS", "a Photoshop image"},
	{"\x1f\x8b", "a gzip archive"},
	{"BZh", "a bzip2 archive"},
	{"\xfd7zXZ\x00", "an xz archive"},
	{"\x28\xb5\x2f\xfd", "a zstd archive"},
	{"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"},
	{"Rar!\x1a\x07", "a RAR archive"},
	{"MSCF", "a Microsoft cabinet archive"},
	{"!<arch>\n", "an ar archive (Debian package or static library)"},
	{"\xed\xab\xee\xdb", "an RPM package"},
	{"SQLite format 3\x00", "an SQLite database"},
	{"ID3", "an MP3 audio file"},
	{"fLaC", "a FLAC audio file"},
	{"OggS", "an Ogg media file"},
	{"\x1aE\xdf\xa3", "a Matroska/WebM video"},
	{"%!PS", "a PostScript document"},
	{"\xf7\x02", "a DVI document"},
	{"wOFF", "a web font"},
	{"wOF2", "a web font"},
	{"\x00\x01\x00\x00\x00", "a TrueType font"},
	{"OTTO", "an OpenType font"},
	{"PAR1", "a Parquet file"},
	{"ARROW1", "an Arrow file"},
	{"\x89HDF\r\n\x1a\n", "an HDF5 file"},
	{"\x93NUMPY", "a NumPy array"},
}

// binaryKind names a binary format ragd does not extract, or returns "".
func binaryKind(data []byte) string {
	if bytes.HasPrefix(data, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")) {
		// OLE2 compound file: legacy Office formats, and encrypted OOXML,
		// which is an OLE2 file with an "EncryptedPackage" stream.
		if bytes.Contains(data[:min(len(data), 1<<20)], utf16le("EncryptedPackage")) {
			return encryptedOffice
		}
		return "a legacy Microsoft Office document (DOC, XLS or PPT)"
	}
	if len(data) >= 12 && string(data[:4]) == "RIFF" {
		switch string(data[8:12]) {
		case "WEBP":
			return "a WebP image"
		case "WAVE":
			return "a WAV audio file"
		case "AVI ":
			return "an AVI video"
		}
		return "a RIFF media file"
	}
	if len(data) >= 12 && string(data[4:8]) == "ftyp" {
		switch string(data[8:12]) {
		case "heic", "heix", "mif1", "msf1", "avif":
			return "an HEIF/AVIF image"
		}
		return "an MP4/QuickTime media file"
	}
	if len(data) > 262 && string(data[257:262]) == "ustar" {
		return "a tar archive"
	}
	for _, m := range magics {
		if bytes.HasPrefix(data, []byte(m.prefix)) {
			// Two-byte magic numbers that text can start with ("MZ", "BM")
			// count only when the rest is not text.
			if len(m.prefix) == 2 && looksLikeText(data[:min(len(data), sniffLen)]) {
				continue
			}
			return m.what
		}
	}
	return ""
}

func utf16le(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return b
}

// describeBinary names binary data as net/http's sniffer would.
func describeBinary(data []byte) string {
	if bytes.IndexByte(data[:min(len(data), 512)], 0) >= 0 {
		return "contains NUL bytes"
	}
	return "not text in any encoding ragd reads"
}

// looksLikeText reports whether head decodes as text: UTF-16 with or
// without a byte order mark, or bytes without NULs and with few control
// characters.
func looksLikeText(head []byte) bool {
	if bytes.HasPrefix(head, []byte{0xff, 0xfe}) || bytes.HasPrefix(head, []byte{0xfe, 0xff}) {
		return len(head)%2 == 0 || len(head) == sniffLen || len(head) > 2
	}
	if _, ok := utf16NoBOM(head); ok {
		return true
	}
	// A few NULs and control characters are damage in a text file (they
	// are removed); more are binary data.
	control := 0
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b {
			control++
		}
	}
	if control > len(head)/100+2 {
		return false
	}
	if utf8.Valid(head) || mostlyUTF8(head) {
		return true
	}
	// Latin-1 text: letters above 0x7f are allowed, but a high share of
	// bytes there with no structure is more likely binary.
	high := 0
	for _, c := range head {
		if c >= 0x80 {
			high++
		}
	}
	return high*3 < len(head)
}

const (
	htmlNone = iota
	htmlWeak
	htmlStrong
)

// htmlSignal rates how clearly text is HTML: a doctype, <html>, <head> or
// <body> at the start (after comments and whitespace) is strong; another
// common HTML element at the start is weak (Markdown can start with one).
func htmlSignal(text string) int {
	t := strings.TrimLeft(text, " \t\r\n\ufeff")
	for strings.HasPrefix(t, "<!--") {
		end := strings.Index(t, "-->")
		if end < 0 {
			return htmlNone
		}
		t = strings.TrimLeft(t[end+3:], " \t\r\n")
	}
	if strings.HasPrefix(t, "<?xml") {
		if end := strings.Index(t, "?>"); end >= 0 {
			rest := strings.ToLower(strings.TrimLeft(t[end+2:], " \t\r\n"))
			if strings.HasPrefix(rest, "<!doctype html") || strings.HasPrefix(rest, "<html") {
				return htmlStrong
			}
		}
		return htmlNone
	}
	lower := strings.ToLower(t[:min(len(t), 64)])
	for _, p := range []string{"<!doctype html", "<html", "<head", "<body"} {
		if strings.HasPrefix(lower, p) && (len(lower) == len(p) || strings.ContainsRune(" \t\r\n>", rune(lower[len(p)]))) {
			return htmlStrong
		}
	}
	for _, p := range []string{"<meta", "<title", "<div", "<p>", "<p ", "<table", "<h1", "<h2", "<section", "<article",
		"<main", "<script", "<style", "<link", "<ul", "<ol", "<span", "<a href", "<img", "<br", "<form", "<header", "<nav"} {
		if strings.HasPrefix(lower, p) {
			return htmlWeak
		}
	}
	return htmlNone
}

// xmlDocument names an XML document that is not XHTML (SVG, RSS, Office
// XML), or returns "".
func xmlDocument(text string) string {
	t := strings.TrimLeft(text, " \t\r\n\ufeff")
	if !strings.HasPrefix(t, "<?xml") && !strings.HasPrefix(t, "<svg") {
		return ""
	}
	lower := strings.ToLower(t[:min(len(t), 2048)])
	switch {
	case strings.Contains(lower, "<svg"):
		return "an SVG image"
	case strings.Contains(lower, "<rss") || strings.Contains(lower, "<feed"):
		return "a news feed (RSS/Atom)"
	}
	return "an XML document"
}

// csvDelimiter returns the delimiter that splits the first lines of text
// into the same number (at least two) of fields, trying tab first for .tsv
// and comma first otherwise, or 0. When truncated is set, the last line of
// text may be cut and is not checked.
func csvDelimiter(text, extension string, truncated bool) rune {
	candidates := []rune{',', ';', '\t', '|'}
	if extension == ".tsv" || extension == ".tab" {
		candidates = []rune{'\t', ',', ';', '|'}
	}
	if truncated {
		if i := strings.LastIndexByte(text, '\n'); i > 0 {
			text = text[:i+1]
		}
	}
	for _, d := range candidates {
		r := csv.NewReader(strings.NewReader(text))
		r.Comma = d
		r.FieldsPerRecord = 0 // all records must have the first one's count
		r.LazyQuotes = true
		n, fields := 0, 0
		ok := true
		for n < 20 {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				ok = false
				break
			}
			fields = len(rec)
			n++
		}
		if ok && n > 0 && fields >= 2 {
			return d
		}
	}
	return 0
}

// jsonLines reports whether the non-empty lines of text (the last one
// skipped when truncated) are JSON objects; a single line must be one too.
func jsonLines(text string, truncated bool) bool {
	lines := strings.Split(text, "\n")
	if truncated && len(lines) > 1 {
		lines = lines[:len(lines)-1]
	}
	n := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if l[0] != '{' || !json.Valid([]byte(l)) {
			return false
		}
		n++
	}
	return n > 0
}

// looksLikeMarkdown reports Markdown signals in text without an extension:
// front matter, ATX headings, code fences or link syntax at line starts.
func looksLikeMarkdown(text string) bool {
	if strings.HasPrefix(text, "---\n") || strings.HasPrefix(text, "---\r\n") {
		return true
	}
	signals := 0
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		switch {
		case strings.HasPrefix(l, "# ") || strings.HasPrefix(l, "## ") || strings.HasPrefix(l, "### "):
			signals += 2
		case strings.HasPrefix(l, "```"):
			signals += 2
		case strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* "):
			signals++
		case strings.Contains(l, "](") && strings.Contains(l, "["):
			signals++
		}
		if signals >= 3 {
			return true
		}
	}
	return false
}
