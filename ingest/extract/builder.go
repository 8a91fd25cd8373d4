package extract

import (
	"strings"
	"unicode/utf8"

	"github.com/ragd/ragd/ingest"
)

// builder collects the blocks of one document, keeping its text under the
// cap: once full it marks the document Truncated and refuses more blocks,
// so an extractor can stop reading.
type builder struct {
	doc  ingest.Doc
	max  int
	size int
}

func newBuilder(max int) *builder {
	return &builder{max: max}
}

// full reports whether the document reached its cap.
func (b *builder) full() bool { return b.doc.Truncated }

// add appends a block of the given kind, cleaned (see clean; code keeps its
// spacing, other kinds get their runs of spaces collapsed). Empty blocks are
// dropped. It returns false once the document is full.
func (b *builder) add(kind string, level, page int, text string) bool {
	if b.doc.Truncated {
		return false
	}
	if kind == ingest.BlockCode {
		text = strings.Trim(clean(text), "\n")
		if strings.TrimSpace(text) == "" {
			return true
		}
	} else {
		text = squeeze(clean(text))
		if text == "" {
			return true
		}
	}
	const sep = 2 // blocks are joined by a blank line downstream
	if b.size+len(text)+sep > b.max {
		room := b.max - b.size - sep
		if room > 0 {
			text = cutAt(text, room)
			if text != "" {
				b.doc.Blocks = append(b.doc.Blocks, ingest.Block{Kind: kind, Level: level, Text: text, Page: page})
				b.size += len(text) + sep
			}
		}
		b.doc.Truncated = true
		return false
	}
	b.doc.Blocks = append(b.doc.Blocks, ingest.Block{Kind: kind, Level: level, Text: text, Page: page})
	b.size += len(text) + sep
	return true
}

// cutAt shortens s to at most n bytes, at the last whitespace if one is
// near the end, else at a rune boundary.
func cutAt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	s = s[:n]
	if i := strings.LastIndexAny(s, " \n\t"); i > len(s)*3/4 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// clean makes extracted text safe: invalid UTF-8, NUL and other control
// characters (except tab and newline) are removed, CRLF and CR become LF,
// and invisible characters that can hide text from readers (zero-width
// spaces and joiners, bidirectional controls, Unicode tag characters, soft
// hyphens, byte order marks, noncharacters; RELIABILITY.md S-PI-1) are
// removed. It does not normalize Unicode.
func clean(s string) string {
	if isCleanASCII(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '\r':
				if i < len(s) && s[i] == '\n' {
					i++
				}
				b.WriteByte('\n')
			case c == '\t' || c == '\n' || (c >= 0x20 && c != 0x7f):
				b.WriteByte(c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size == 1 || invisible(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isCleanASCII reports whether clean would return s unchanged and s is
// ASCII.
func isCleanASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x7f || (c < 0x20 && c != '\t' && c != '\n') {
			return false
		}
	}
	return true
}

// invisible reports whether r is a character that renders as nothing and
// can hide text: C1 controls, zero-width and bidi controls, tags, soft
// hyphens, byte order marks, interlinear annotations and noncharacters.
func invisible(r rune) bool {
	switch {
	case r >= 0x80 && r < 0xa0, // C1 controls
		r == 0xad,                    // soft hyphen
		r == 0x034f,                  // combining grapheme joiner
		r == 0x061c,                  // Arabic letter mark
		r == 0x115f || r == 0x1160,   // Hangul fillers
		r == 0x180e,                  // Mongolian vowel separator
		r >= 0x200b && r <= 0x200f,   // zero-width space, joiners, LRM, RLM
		r >= 0x202a && r <= 0x202e,   // bidi embeddings and overrides
		r >= 0x2060 && r <= 0x2064,   // word joiner, invisible operators
		r >= 0x2066 && r <= 0x206f,   // bidi isolates, deprecated format controls
		r == 0x3164 || r == 0xffa0,   // Hangul fillers
		r == 0xfeff,                  // zero-width no-break space (BOM)
		r >= 0xfff9 && r <= 0xfffb,   // interlinear annotations
		r >= 0xfdd0 && r <= 0xfdef,   // noncharacters
		r&0xfffe == 0xfffe,           // noncharacters U+xFFFE, U+xFFFF
		r >= 0x1d173 && r <= 0x1d17a, // musical formatting controls
		r >= 0xe0000 && r <= 0xe007f: // tag characters
		return true
	}
	return false
}

// squeeze trims s, collapses runs of spaces and tabs into one space,
// removes spaces at line ends and collapses blank lines.
func squeeze(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "  ") && !strings.Contains(s, "\t") && !strings.Contains(s, " \n") &&
		!strings.Contains(s, "\n ") && !strings.Contains(s, "\n\n\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space, newlines := false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t':
			space = true
		case '\n':
			space = false
			newlines++
		default:
			if newlines > 0 {
				if newlines > 2 {
					newlines = 2
				}
				b.WriteString("\n\n"[:newlines])
			} else if space {
				b.WriteByte(' ')
			}
			space, newlines = false, 0
			b.WriteByte(c)
		}
	}
	return b.String()
}

// squeezeLine is squeeze for text that must stay on one line: newlines
// become spaces.
func squeezeLine(s string) string {
	return squeeze(strings.ReplaceAll(clean(s), "\n", " "))
}
