package ingest

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize makes extracted text safe to index and consistent to hash:
// invalid UTF-8 and NUL bytes are removed, line endings become "\n", other
// C0 and C1 control characters (except tab) are removed, invisible
// characters that can hide text from readers (zero-width spaces and joiners,
// bidirectional controls, Unicode tag characters, soft hyphens) are removed,
// and the result is in Unicode NFC.
func Normalize(s string) string {
	if isPlainASCII(s) {
		if !strings.ContainsRune(s, '\r') {
			return s
		}
		return strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			i++ // invalid byte: drop it
			continue
		}
		i += size
		if r == '\r' {
			if i < len(s) && s[i] == '\n' {
				i++
			}
			b.WriteByte('\n')
			continue
		}
		if dropRune(r) {
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	if !norm.NFC.IsNormalString(out) {
		out = norm.NFC.String(out)
	}
	return out
}

// isPlainASCII reports whether s is ASCII with no control characters other
// than tab, newline and carriage return: text that Normalize leaves alone
// apart from line endings.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x7f || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			return false
		}
	}
	return true
}

// dropRune reports whether r is removed by Normalize.
func dropRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20, r >= 0x7f && r < 0xa0:
		return true // C0 and C1 controls, DEL
	case r == 0xad, // soft hyphen
		r >= 0x200b && r <= 0x200f,   // zero-width space, joiners, LRM, RLM
		r >= 0x202a && r <= 0x202e,   // bidi embeddings and overrides
		r >= 0x2060 && r <= 0x2064,   // word joiner, invisible operators
		r >= 0x2066 && r <= 0x2069,   // bidi isolates
		r == 0xfeff,                  // zero-width no-break space (BOM)
		r >= 0xe0000 && r <= 0xe007f, // tag characters
		r >= 0xfff9 && r <= 0xfffb:   // interlinear annotations
		return true
	case r == utf8.RuneError:
		return true
	}
	return unicode.Is(unicode.Noncharacter_Code_Point, r)
}
