package extract

import (
	"bytes"
	"regexp"
	"strings"
)

// MDX is Markdown with JSX components, JavaScript expressions and ES module
// import/export statements. mdxToMarkdown turns it into plain Markdown that
// keeps the text: import/export blocks are dropped, JSX tags are removed
// with their attributes while the text between an opening and a closing tag
// stays, {/* comments */} and other expressions are dropped (a string
// literal expression keeps its text), and the content of each JSX block is
// dedented as MDX does (MDX has no indented code blocks). Code fences and
// code spans are left alone. A <Code code={name} lang="js" /> component
// whose code is an exported template literal becomes a fenced code block.
//
// Starlight/remark directive lines (":::note[Title]", ":::") are dropped by
// dropDirectives, in Markdown too.
func mdxToMarkdown(src []byte) []byte {
	lines := splitLines(src)
	var out bytes.Buffer
	out.Grow(len(src))
	exports := map[string]string{}
	var seg []byte // text lines outside code, scanned together (tags span lines)
	flush := func() {
		if len(seg) > 0 {
			scanMDX(&out, seg, exports)
			seg = seg[:0]
		}
	}
	prevBlank := true
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if fc, n := fenceOpen(line, true); n > 0 {
			flush()
			out.WriteString(line)
			for i++; i < len(lines); i++ {
				out.WriteString(lines[i])
				if fenceClose(lines[i], fc, n) {
					break
				}
			}
			out.WriteByte(mdxBoundary)
			out.WriteByte('\n')
			prevBlank = false
			continue
		}
		if prevBlank && isESMStart(line) {
			flush()
			j := esmEnd(lines, i)
			collectExports(strings.Join(lines[i:j], ""), exports)
			i = j - 1
			out.WriteByte('\n')
			prevBlank = true
			continue
		}
		prevBlank = strings.TrimSpace(line) == ""
		seg = append(seg, line...)
	}
	flush()
	return dedentMDX(out.Bytes())
}

// mdxBoundary marks in scanMDX's output where a JSX block tag or a code
// fence was, so that dedentMDX knows where the content of a component
// starts and ends. It is removed again.
const mdxBoundary = '\x00'

// splitLines splits s into lines that keep their "\n".
func splitLines(s []byte) []string {
	var lines []string
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, string(s)+"\n")
			break
		}
		lines = append(lines, string(s[:i+1]))
		s = s[i+1:]
	}
	return lines
}

// fenceOpen reports the fence character and length when line opens a code
// fence. In MDX mode (anyIndent) the fence may be indented any amount, as
// in MDX, where indented code does not exist.
func fenceOpen(line string, anyIndent bool) (byte, int) {
	t := strings.TrimLeft(line, " \t")
	if !anyIndent && len(line)-len(t) > 3 {
		return 0, 0
	}
	if len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return 0, 0
	}
	c := t[0]
	n := 0
	for n < len(t) && t[n] == c {
		n++
	}
	if n < 3 {
		return 0, 0
	}
	if c == '`' && strings.ContainsRune(t[n:], '`') {
		return 0, 0 // an info string with a backtick: not a fence
	}
	return c, n
}

// fenceClose reports whether line closes a fence opened with n c's.
func fenceClose(line string, c byte, n int) bool {
	t := strings.TrimSpace(line)
	if len(t) < n {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] != c {
			return false
		}
	}
	return true
}

func isESMStart(line string) bool {
	return strings.HasPrefix(line, "import ") || strings.HasPrefix(line, "import{") ||
		strings.HasPrefix(line, "export ") || strings.HasPrefix(line, "export{")
}

// esmEnd returns the index of the first line after the import/export block
// starting at lines[i]: the block ends at a blank line (or the end) where
// its JavaScript is balanced, so template literals with blank lines stay
// in it.
func esmEnd(lines []string, i int) int {
	var js jsState
	for j := i; j < len(lines); j++ {
		if strings.TrimSpace(lines[j]) == "" && js.balanced() {
			return j
		}
		js.feed(lines[j])
	}
	return len(lines)
}

// jsState tracks just enough JavaScript lexical state to know whether a
// piece of code is balanced: brackets, strings, template literals and
// comments.
type jsState struct {
	stack   []byte // open contexts: '{' '(' '[' and '`' for template literals
	quote   byte   // inside '...' or "..."
	comment bool   // inside /* */
	escape  bool
}

func (s *jsState) balanced() bool {
	return len(s.stack) == 0 && s.quote == 0 && !s.comment
}

func (s *jsState) inTemplate() bool {
	return len(s.stack) > 0 && s.stack[len(s.stack)-1] == '`'
}

// feed consumes a piece of code.
func (s *jsState) feed(code string) {
	for i := 0; i < len(code); {
		i = s.step(code, i)
	}
}

// step consumes the character or two-character token at code[i] and
// returns the index after it.
func (s *jsState) step(code string, i int) int {
	c := code[i]
	next := byte(0)
	if i+1 < len(code) {
		next = code[i+1]
	}
	switch {
	case s.escape:
		s.escape = false
	case s.comment:
		if c == '*' && next == '/' {
			s.comment = false
			return i + 2
		}
	case s.quote != 0:
		switch c {
		case '\\':
			s.escape = true
		case s.quote, '\n':
			s.quote = 0
		}
	case s.inTemplate():
		switch {
		case c == '\\':
			s.escape = true
		case c == '`':
			s.stack = s.stack[:len(s.stack)-1]
		case c == '$' && next == '{':
			s.stack = append(s.stack, '{')
			return i + 2
		}
	default:
		switch c {
		case '"', '\'':
			s.quote = c
		case '`':
			s.stack = append(s.stack, '`')
		case '/':
			switch next {
			case '/': // line comment: skip to the end of the line
				if j := strings.IndexByte(code[i:], '\n'); j >= 0 {
					return i + j
				}
				return len(code)
			case '*':
				s.comment = true
				return i + 2
			}
		case '{', '(', '[':
			s.stack = append(s.stack, c)
		case '}', ')', ']':
			if len(s.stack) > 0 {
				s.stack = s.stack[:len(s.stack)-1]
			}
		}
	}
	return i + 1
}

var exportTemplateRE = regexp.MustCompile("(?s)export\\s+const\\s+([A-Za-z_$][\\w$]*)\\s*=\\s*`((?:[^`\\\\]|\\\\.)*)`")

// collectExports records the exported constants that are plain template
// literals (no ${} substitutions), for <Code code={name} /> components.
func collectExports(esm string, exports map[string]string) {
	for _, m := range exportTemplateRE.FindAllStringSubmatch(esm, -1) {
		if strings.Contains(m[2], "${") {
			continue
		}
		exports[m[1]] = unescapeTemplate(m[2])
	}
}

func unescapeTemplate(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// maxTagLen bounds how far a JSX tag may extend; a longer "tag" is text.
const maxTagLen = 16 << 10

// scanMDX copies Markdown text (no code fences, no ESM) to out without JSX
// tags, comments and expressions.
func scanMDX(out *bytes.Buffer, s []byte, exports map[string]string) {
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '\\':
			end := min(i+2, len(s))
			out.Write(s[i:end])
			i = end
		case '`':
			n := 0
			for i+n < len(s) && s[i+n] == '`' {
				n++
			}
			if end := codeSpanEnd(s, i, n); end > 0 {
				out.Write(s[i:end])
				i = end
			} else {
				out.Write(s[i : i+n])
				i += n
			}
		case '<':
			if bytes.HasPrefix(s[i:], []byte("<!--")) {
				if j := bytes.Index(s[i+4:], []byte("-->")); j >= 0 {
					i += 4 + j + 3
					continue
				}
			}
			t, ok := parseJSXTag(s, i)
			if !ok {
				out.WriteByte(c)
				i++
				continue
			}
			switch {
			case strings.EqualFold(t.name, "br"):
				out.WriteByte(' ')
			case t.name == "Code" && t.selfClose:
				if code, ok := exports[t.exprAttrs["code"]]; ok {
					writeFence(out, t.strAttrs["lang"], code)
				}
			}
			if t.alone(s, i) {
				out.WriteByte(mdxBoundary)
				if label := t.label(); label != "" {
					// A card or section component's title is text the
					// reader sees: keep it as a paragraph of its own.
					out.WriteString("\n" + label + "\n")
					out.WriteByte(mdxBoundary)
				}
			}
			i = t.end
		case '{':
			end := skipJS(s, i)
			if end < 0 {
				out.WriteByte(c)
				i++
				continue
			}
			if lit, ok := stringLiteral(strings.TrimSpace(string(s[i+1 : end-1]))); ok {
				out.WriteString(lit)
			}
			i = end
		default:
			out.WriteByte(c)
			i++
		}
	}
}

// writeFence writes code as a fenced code block on lines of its own.
func writeFence(out *bytes.Buffer, lang, code string) {
	fence := "```"
	for strings.Contains(code, fence) {
		fence += "`"
	}
	out.WriteString("\n" + fence + lang + "\n")
	out.WriteString(strings.Trim(code, "\n"))
	out.WriteString("\n" + fence + "\n")
	out.WriteByte(mdxBoundary)
}

// codeSpanEnd returns the end of the code span opened by n backticks at i,
// or -1 when no run of exactly n backticks closes it before a blank line.
func codeSpanEnd(s []byte, i, n int) int {
	for j := i + n; j < len(s); {
		switch {
		case s[j] == '`':
			k := j
			for k < len(s) && s[k] == '`' {
				k++
			}
			if k-j == n {
				return k
			}
			j = k
		case s[j] == '\n' && j+1 < len(s) && isBlankStart(s[j+1:]):
			return -1
		default:
			j++
		}
	}
	return -1
}

// isBlankStart reports whether s starts with a blank line.
func isBlankStart(s []byte) bool {
	for _, c := range s {
		switch c {
		case ' ', '\t':
		case '\n':
			return true
		default:
			return false
		}
	}
	return true
}

type jsxTag struct {
	name      string
	closing   bool
	selfClose bool
	end       int
	strAttrs  map[string]string // name="value"
	exprAttrs map[string]string // name={expression}
}

// label returns the title or header attribute of an opening tag, the
// visible heading of cards, details and similar components.
func (t jsxTag) label() string {
	if t.closing {
		return ""
	}
	for _, k := range []string{"title", "header"} {
		if v := strings.TrimSpace(t.strAttrs[k]); v != "" && !strings.ContainsAny(v, "<>{}\n") {
			return v
		}
	}
	return ""
}

// alone reports whether the tag, which starts at i in s, is the only thing
// on its lines (apart from spaces): a block-level component.
func (t jsxTag) alone(s []byte, i int) bool {
	for j := i - 1; j >= 0 && s[j] != '\n'; j-- {
		if s[j] != ' ' && s[j] != '\t' {
			return false
		}
	}
	for j := t.end; j < len(s) && s[j] != '\n'; j++ {
		if s[j] != ' ' && s[j] != '\t' {
			return false
		}
	}
	return true
}

// parseJSXTag parses a JSX (or HTML) tag starting at s[i] == '<':
// <Name attr="v" attr={expr} {...spread}>, </Name>, <Name />, <> and </>.
func parseJSXTag(s []byte, i int) (jsxTag, bool) {
	var t jsxTag
	j := i + 1
	limit := min(len(s), i+maxTagLen)
	if j < limit && s[j] == '/' {
		t.closing = true
		j++
	}
	if j < limit && s[j] == '>' { // fragment
		t.end = j + 1
		return t, true
	}
	if j >= limit || !isASCIILetter(s[j]) {
		return t, false
	}
	k := j
	for k < limit && (isNameByte(s[k]) || s[k] == '.' || s[k] == ':') {
		k++
	}
	t.name = string(s[j:k])
	j = k
	for {
		for j < limit && isSpace(s[j]) {
			j++
		}
		if j >= limit {
			return t, false
		}
		switch {
		case s[j] == '>':
			t.end = j + 1
			return t, true
		case s[j] == '/' && j+1 < limit && s[j+1] == '>':
			t.selfClose = true
			t.end = j + 2
			return t, true
		case s[j] == '{':
			end := skipJS(s[:limit], j)
			if end < 0 {
				return t, false
			}
			j = end
			continue
		case t.closing || !(isASCIILetter(s[j]) || s[j] == '_'):
			return t, false
		}
		k := j
		for k < limit && (isNameByte(s[k]) || s[k] == ':' || s[k] == '.') {
			k++
		}
		attr := string(s[j:k])
		j = k
		for j < limit && isSpace(s[j]) {
			j++
		}
		if j >= limit || s[j] != '=' {
			continue // boolean attribute
		}
		j++
		for j < limit && isSpace(s[j]) {
			j++
		}
		if j >= limit {
			return t, false
		}
		switch q := s[j]; q {
		case '"', '\'':
			end := bytes.IndexByte(s[j+1:limit], q)
			if end < 0 {
				return t, false
			}
			if t.strAttrs == nil {
				t.strAttrs = map[string]string{}
			}
			t.strAttrs[attr] = string(s[j+1 : j+1+end])
			j += end + 2
		case '{':
			end := skipJS(s[:limit], j)
			if end < 0 {
				return t, false
			}
			if t.exprAttrs == nil {
				t.exprAttrs = map[string]string{}
			}
			t.exprAttrs[attr] = strings.TrimSpace(string(s[j+1 : end-1]))
			j = end
		default:
			return t, false
		}
	}
}

// skipJS returns the index after the '}' matching the '{' at s[i], or -1
// when there is none within maxTagLen bytes.
func skipJS(s []byte, i int) int {
	code := string(s[i:min(len(s), i+maxTagLen)])
	var js jsState
	for j := 0; j < len(code); {
		j = js.step(code, j)
		if js.balanced() {
			return i + j
		}
	}
	return -1
}

// stringLiteral returns the text of a JavaScript string literal expression
// such as {"<"} or {'{'} (MDX's way of escaping), and whether expr is one.
func stringLiteral(expr string) (string, bool) {
	if len(expr) < 2 {
		return "", false
	}
	q := expr[0]
	if (q != '"' && q != '\'' && q != '`') || expr[len(expr)-1] != q {
		return "", false
	}
	body := expr[1 : len(expr)-1]
	if strings.ContainsRune(body, rune(q)) && !strings.Contains(body, `\`+string(q)) {
		return "", false
	}
	return unescapeTemplate(body), true
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isNameByte(c byte) bool {
	return isASCIILetter(c) || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// dedentMDX removes the indentation common to the lines of each region
// between block-level JSX tags (marked with mdxBoundary), then the marks.
func dedentMDX(s []byte) []byte {
	if bytes.IndexByte(s, mdxBoundary) < 0 {
		return s
	}
	lines := splitLines(s)
	var out bytes.Buffer
	out.Grow(len(s))
	start := 0
	emit := func(end int) {
		region := lines[start:end]
		prefix := commonIndent(region)
		for _, l := range region {
			if strings.TrimSpace(l) != "" {
				l = l[len(prefix):]
			}
			out.WriteString(l)
		}
	}
	for i, l := range lines {
		if strings.IndexByte(l, mdxBoundary) >= 0 {
			emit(i)
			out.WriteString(strings.ReplaceAll(l, string(mdxBoundary), ""))
			start = i + 1
		}
	}
	emit(len(lines))
	return out.Bytes()
}

// commonIndent returns the leading whitespace shared by all non-blank lines.
func commonIndent(lines []string) string {
	prefix, first := "", true
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ind := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first {
			prefix, first = ind, false
			continue
		}
		n := 0
		for n < len(prefix) && n < len(ind) && prefix[n] == ind[n] {
			n++
		}
		prefix = prefix[:n]
		if prefix == "" {
			break
		}
	}
	return prefix
}

// dropDirectives blanks remark-directive container lines (":::note",
// ":::caution[Title]", ":::") outside code fences.
func dropDirectives(src []byte, anyIndentFences bool) []byte {
	if !bytes.Contains(src, []byte(":::")) {
		return src
	}
	lines := splitLines(src)
	var out bytes.Buffer
	out.Grow(len(src))
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if fc, n := fenceOpen(line, anyIndentFences); n > 0 {
			out.WriteString(line)
			for i++; i < len(lines); i++ {
				out.WriteString(lines[i])
				if fenceClose(lines[i], fc, n) {
					break
				}
			}
			continue
		}
		if directiveRE.MatchString(line) {
			out.WriteByte('\n')
			continue
		}
		out.WriteString(line)
	}
	return out.Bytes()
}

var directiveRE = regexp.MustCompile(`^[ \t]*:::+[ \t]*([A-Za-z][\w-]*)?(\[[^\]\n]*\])?(\{[^}\n]*\})?[ \t]*\n?$`)
