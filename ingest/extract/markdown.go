package extract

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"gopkg.in/yaml.v3"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// maxFrontMatter bounds the YAML front matter that is parsed as metadata.
const maxFrontMatter = 64 << 10

// newMarkdownParser returns a CommonMark parser with GFM tables and
// strikethrough. For MDX it has no indented code blocks, as in MDX.
func newMarkdownParser(mdx bool) parser.Parser {
	blocks := []util.PrioritizedValue{
		util.Prioritized(parser.NewSetextHeadingParser(), 100),
		util.Prioritized(parser.NewThematicBreakParser(), 200),
		util.Prioritized(parser.NewListParser(), 300),
		util.Prioritized(parser.NewListItemParser(), 400),
		util.Prioritized(parser.NewATXHeadingParser(), 600),
		util.Prioritized(parser.NewFencedCodeBlockParser(), 700),
		util.Prioritized(parser.NewBlockquoteParser(), 800),
		util.Prioritized(parser.NewHTMLBlockParser(), 900),
		util.Prioritized(parser.NewParagraphParser(), 1000),
	}
	if !mdx {
		blocks = append(blocks, util.Prioritized(parser.NewCodeBlockParser(), 500))
	}
	inlines := append(parser.DefaultInlineParsers(), util.Prioritized(extension.NewStrikethroughParser(), 500))
	return parser.NewParser(
		parser.WithBlockParsers(blocks...),
		parser.WithInlineParsers(inlines...),
		parser.WithParagraphTransformers(append(parser.DefaultParagraphTransformers(),
			util.Prioritized(extension.NewTableParagraphTransformer(), 200))...),
		parser.WithASTTransformers(util.Prioritized(extension.NewTableASTTransformer(), 0)),
	)
}

// markdown extracts Markdown, or MDX when mdx is set: front matter becomes
// metadata (its "title" the title, else the first level-1 heading, else
// the file name), and headings, paragraphs, list items, code, tables and
// quotes become blocks.
func (e *Extractor) markdown(f ingest.File, mdx bool) ([]ingest.Doc, error) {
	src := []byte(clean(decodeText(f.Data)))
	meta, body := frontMatter(src)
	if mdx {
		body = mdxToMarkdown(body)
	}
	body = dropDirectives(body, mdx)
	b := newBuilder(e.opts.MaxText)
	b.doc.Metadata = meta
	if t, ok := meta["title"].(string); ok {
		b.doc.Title = squeezeLine(t)
	}
	w := mdWalker{src: body, b: b}
	doc := newMarkdownParser(mdx).Parse(text.NewReader(body))
	w.blocks(doc, 0)
	if len(b.doc.Blocks) == 0 && b.doc.Title != "" {
		// A page with only front matter (a navigation stub, or an index the
		// site generates): its title and description are its text.
		b.add(ingest.BlockHeading, 1, 0, b.doc.Title)
		if d, ok := meta["description"].(string); ok {
			b.add(ingest.BlockParagraph, 0, 0, d)
		}
	}
	if len(b.doc.Blocks) == 0 {
		return nil, fail(ReasonEmpty, ragd.EInvalid, "file contains no text")
	}
	if b.doc.Title == "" {
		b.doc.Title = w.h1
	}
	if b.doc.Title == "" {
		b.doc.Title = baseTitle(f.Name)
	}
	if b.doc.Title == "" {
		b.doc.Title = firstLine(b.doc.Blocks[0].Text)
	}
	return []ingest.Doc{b.doc}, nil
}

// mdWalker turns a goldmark syntax tree into blocks.
type mdWalker struct {
	src   []byte
	b     *builder
	h1    string // the first level-1 heading
	quote int    // blockquote depth
}

// blocks emits the blocks of n's children; listDepth is the depth of the
// enclosing list, 0 outside lists.
func (w *mdWalker) blocks(n ast.Node, listDepth int) {
	for c := n.FirstChild(); c != nil && !w.b.full(); c = c.NextSibling() {
		w.block(c, listDepth)
	}
}

func (w *mdWalker) block(n ast.Node, listDepth int) {
	switch n := n.(type) {
	case *ast.Heading:
		t := w.inline(n)
		if n.Level == 1 && w.h1 == "" {
			w.h1 = squeezeLine(t)
		}
		w.b.add(ingest.BlockHeading, n.Level, 0, t)
	case *ast.Paragraph, *ast.TextBlock:
		w.paragraph(w.inline(n), listDepth)
	case *ast.List:
		for item := n.FirstChild(); item != nil && !w.b.full(); item = item.NextSibling() {
			w.listItem(item, listDepth+1)
		}
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		w.b.add(ingest.BlockCode, 0, 0, w.lines(n))
	case *ast.Blockquote:
		w.quote++
		w.blocks(n, listDepth)
		w.quote--
	case *east.Table:
		w.table(n)
	case *ast.HTMLBlock:
		if n.HTMLBlockType == ast.HTMLBlockType2 { // a comment
			return
		}
		raw := w.lines(n)
		if n.HasClosure() {
			raw += string(n.ClosureLine.Value(w.src))
		}
		for _, p := range splitParagraphs(stripTags(raw)) {
			w.paragraph(p, listDepth)
		}
	case *ast.ThematicBreak:
	default:
		w.blocks(n, listDepth)
	}
}

// paragraph emits running text as a paragraph, a quote or (inside a list)
// a list item.
func (w *mdWalker) paragraph(t string, listDepth int) {
	switch {
	case listDepth > 0:
		w.b.add(ingest.BlockList, listDepth, 0, t)
	case w.quote > 0:
		w.b.add(ingest.BlockQuote, w.quote, 0, t)
	default:
		w.b.add(ingest.BlockParagraph, 0, 0, t)
	}
}

// listItem emits a list item: its paragraphs up to the first nested block
// as one list block at depth, then the nested blocks in order.
func (w *mdWalker) listItem(item ast.Node, depth int) {
	var text []string
	flush := func() {
		if len(text) > 0 {
			w.b.add(ingest.BlockList, depth, 0, strings.Join(text, "\n"))
			text = text[:0]
		}
	}
	for c := item.FirstChild(); c != nil && !w.b.full(); c = c.NextSibling() {
		switch c.(type) {
		case *ast.Paragraph, *ast.TextBlock:
			text = append(text, w.inline(c))
		case *ast.List:
			flush()
			w.block(c, depth)
		default:
			flush()
			w.block(c, depth)
		}
	}
	flush()
}

func (w *mdWalker) table(t *east.Table) {
	var rows []string
	for r := t.FirstChild(); r != nil; r = r.NextSibling() {
		var cells []string
		for c := r.FirstChild(); c != nil; c = c.NextSibling() {
			cells = append(cells, squeezeLine(w.inline(c)))
		}
		if strings.TrimSpace(strings.Join(cells, "")) != "" {
			rows = append(rows, strings.Join(cells, " | "))
		}
	}
	w.b.add(ingest.BlockTable, 0, 0, strings.Join(rows, "\n"))
}

// lines returns the raw lines of a block node (code, HTML).
func (w *mdWalker) lines(n ast.Node) string {
	var b strings.Builder
	ls := n.Lines()
	for i := 0; i < ls.Len(); i++ {
		seg := ls.At(i)
		b.Write(seg.Value(w.src))
	}
	return b.String()
}

// inline returns the text of n's inline content: emphasis, links and
// strikethrough keep their text, images their alt text, code spans their
// code; raw HTML is dropped.
func (w *mdWalker) inline(n ast.Node) string {
	var b strings.Builder
	w.inlineTo(&b, n)
	return b.String()
}

func (w *mdWalker) inlineTo(b *strings.Builder, n ast.Node) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			b.Write(unescapeMarkdown(c.Segment.Value(w.src)))
			switch {
			case c.HardLineBreak():
				b.WriteByte('\n')
			case c.SoftLineBreak():
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.CodeSpan:
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				switch t := t.(type) {
				case *ast.Text:
					b.Write(t.Segment.Value(w.src))
				case *ast.String:
					b.Write(t.Value)
				}
			}
		case *ast.AutoLink:
			b.Write(c.Label(w.src))
		case *ast.RawHTML:
			var raw []byte
			for i := 0; i < c.Segments.Len(); i++ {
				seg := c.Segments.At(i)
				raw = append(raw, seg.Value(w.src)...)
			}
			if bytes.HasPrefix(bytes.ToLower(raw), []byte("<br")) {
				b.WriteByte(' ')
			}
		default:
			w.inlineTo(b, c)
		}
	}
}

// unescapeMarkdown resolves backslash escapes and entity and numeric
// character references, as a renderer would.
func unescapeMarkdown(v []byte) []byte {
	if bytes.IndexByte(v, '&') >= 0 {
		v = util.ResolveNumericReferences(v)
		v = util.ResolveEntityNames(v)
	}
	if bytes.IndexByte(v, '\\') >= 0 {
		v = util.UnescapePunctuations(v)
	}
	return v
}

// frontMatter splits YAML front matter ("---" lines) or TOML front matter
// ("+++" lines) off src. It returns the metadata (nil when there is none or
// it does not parse) and the rest of the document. A front matter block
// that does not parse is dropped all the same.
func frontMatter(src []byte) (map[string]any, []byte) {
	for _, delim := range []string{"---", "+++"} {
		if !bytes.HasPrefix(src, []byte(delim)) {
			continue
		}
		rest := src[len(delim):]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 || strings.TrimSpace(string(rest[:nl])) != "" {
			return nil, src
		}
		rest = rest[nl+1:]
		end, next := -1, 0
		for off := 0; off < len(rest); {
			i := bytes.IndexByte(rest[off:], '\n')
			line := rest[off:]
			if i >= 0 {
				line = rest[off : off+i]
			}
			if t := strings.TrimRight(string(line), " \t"); t == delim || (delim == "---" && t == "...") {
				end = off
				next = off + len(line)
				if i >= 0 {
					next++
				}
				break
			}
			if i < 0 {
				break
			}
			off += i + 1
		}
		if end < 0 {
			return nil, src
		}
		body := rest[next:]
		if end > maxFrontMatter {
			return nil, body
		}
		if delim == "+++" {
			return parseTOMLFrontMatter(rest[:end]), body
		}
		var m map[string]any
		if err := yaml.Unmarshal(rest[:end], &m); err != nil || len(m) == 0 {
			return nil, body
		}
		return metadataMap(m, 0), body
	}
	return nil, src
}

// parseTOMLFrontMatter reads the top-level "key = value" lines of TOML
// front matter whose values are strings, numbers or booleans.
func parseTOMLFrontMatter(src []byte) map[string]any {
	m := map[string]any{}
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			break // a table: the top level is over
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0]:
			if s, err := strconv.Unquote(`"` + v[1:len(v)-1] + `"`); err == nil {
				m[k] = s
			} else {
				m[k] = v[1 : len(v)-1]
			}
		case v == "true" || v == "false":
			m[k] = v == "true"
		default:
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				m[k] = f
			}
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// maxMetadataDepth bounds the nesting of metadata values kept.
const maxMetadataDepth = 8

// metadataMap converts decoded metadata to the types JSON decoding gives
// (string, float64, bool, []any, map[string]any), so that metadata looks
// the same whether it was extracted here or in a child process: integers
// become float64, times RFC 3339 strings (a date alone "2006-01-02"); nil
// values and values nested too deep are dropped; strings are cleaned.
func metadataMap(m map[string]any, depth int) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		k = squeezeLine(k)
		if k == "" {
			continue
		}
		if v = metadataValue(v, depth+1); v != nil {
			out[k] = v
		}
	}
	return out
}

func metadataValue(v any, depth int) any {
	if depth > maxMetadataDepth {
		return nil
	}
	switch v := v.(type) {
	case string:
		return clean(v)
	case bool:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return v
	case time.Time:
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 && v.Nanosecond() == 0 {
			return v.Format(time.DateOnly)
		}
		return v.Format(time.RFC3339)
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			if e = metadataValue(e, depth+1); e != nil {
				out = append(out, e)
			}
		}
		return out
	case map[string]any:
		return metadataMap(v, depth)
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			if ks, ok := k.(string); ok {
				m[ks] = e
			}
		}
		return metadataMap(m, depth)
	}
	return nil
}

// stripTags returns the text of an HTML fragment (an HTML block inside
// Markdown): tags are dropped, block-level tags end a paragraph, entities
// are resolved, and the content of scripts, styles and comments is
// dropped.
func stripTags(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			tt := z.Token()
			switch tt.DataAtom {
			case atom.Script, atom.Style, atom.Template, atom.Noscript:
				if tt.Type == html.StartTagToken {
					skip++
				} else if tt.Type == html.EndTagToken && skip > 0 {
					skip--
				}
			case atom.P, atom.Div, atom.Br, atom.Li, atom.Tr, atom.H1, atom.H2, atom.H3, atom.H4,
				atom.H5, atom.H6, atom.Table, atom.Section, atom.Article, atom.Blockquote, atom.Pre:
				b.WriteString("\n\n")
			case atom.Td, atom.Th:
				b.WriteString(" ")
			}
		}
	}
}
