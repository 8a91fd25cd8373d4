package wordpiece

import (
	"cmp"
	"slices"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

//go:generate go run gentables.go

// Character classes as Hugging Face's BertNormalizer and BertPreTokenizer
// (tokenizers, Rust) define them. The Rust code asks three sources: the
// standard library (char::is_whitespace, char::to_lowercase), the
// unicode-normalization crate (NFD), and the unicode_categories crate
// (control, punctuation and non-spacing marks), whose tables stop at
// Unicode 8.0. tables.go holds those three tables, and the few runes where
// Go's lower case or NFD disagree with Rust's, all generated from a record
// of what tokenizers does with every code point
// (testdata/hf_charprops.tsv.gz); TestCharPropsMatchHuggingFace checks every
// code point against that record.

// isControl reports whether clean_text removes r: Hugging Face's
// is_control, true for Cc, Cf and Co except tab, newline and carriage
// return.
func isControl(r rune) bool {
	if r < 0x80 {
		return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
	}
	return unicode.Is(hfOther, r)
}

// isWhitespace reports whether r is white space for Hugging Face (Rust's
// char::is_whitespace, the Unicode White_Space property), which the
// pre-tokenizer splits on and clean_text turns into a space.
func isWhitespace(r rune) bool {
	if r < 0x80 {
		return asciiSpace[r]
	}
	return unicode.IsSpace(r)
}

var asciiSpace = [128]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// isPunct reports whether the pre-tokenizer isolates r: ASCII punctuation
// (every printable ASCII character that is not a letter, digit or space,
// so "$", "^" and "`" too) or a character of a Unicode P* category.
func isPunct(r rune) bool {
	if r < 0x80 {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.Is(hfPunct, r)
}

// isCJK reports whether r is a CJK ideograph that handle_chinese_chars
// surrounds with spaces. The ranges are those of tokenizers (which has
// 0x2B920, where Google's original BERT code has 0x2B820).
func isCJK(r rune) bool {
	switch {
	case r < 0x3400:
		return false
	case r <= 0x4DBF:
		return true
	case r >= 0x4E00 && r <= 0x9FFF:
		return true
	case r >= 0xF900 && r <= 0xFAFF:
		return true
	case r >= 0x20000 && r <= 0x2A6DF:
		return true
	case r >= 0x2A700 && r <= 0x2B73F:
		return true
	case r >= 0x2B740 && r <= 0x2B81F:
		return true
	case r >= 0x2B920 && r <= 0x2CEAF:
		return true
	case r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}

// isNonspacingMark reports whether strip_accents drops r (category Mn).
func isNonspacingMark(r rune) bool {
	return r >= 0x300 && unicode.Is(hfMark, r)
}

// toLower appends the lower case of r to dst, as Rust's char::to_lowercase
// does: one rune, except U+0130 (capital I with dot above), which becomes
// "i" and U+0307.
func toLower(dst []rune, r rune) []rune {
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, r)
	}
	if r == 0x130 {
		return append(dst, 'i', 0x307)
	}
	if to, ok := lookupPair(lowerOverrides, r); ok {
		return append(dst, to)
	}
	return append(dst, unicode.ToLower(r))
}

// runePair maps one rune to another.
type runePair struct {
	from, to rune
}

// runeMapping maps one rune to a string.
type runeMapping struct {
	from rune
	to   string
}

func lookupPair(t []runePair, r rune) (rune, bool) {
	i, ok := slices.BinarySearchFunc(t, r, func(p runePair, r rune) int { return cmp.Compare(p.from, r) })
	if !ok {
		return 0, false
	}
	return t[i].to, true
}

// Hangul syllables decompose algorithmically (Unicode 3.12).
const (
	hangulBase  = 0xAC00
	hangulCount = 11172
	jamoLBase   = 0x1100
	jamoVBase   = 0x1161
	jamoTBase   = 0x11A7
	jamoTCount  = 28
	jamoNCount  = 588
)

// decomposeNFD appends the canonical decomposition of the rune encoded in
// s (one rune, valid UTF-8) to dst, in canonical order.
func decomposeNFD(dst []rune, r rune, s string) []rune {
	if r >= hangulBase && r < hangulBase+hangulCount {
		i := r - hangulBase
		dst = append(dst, jamoLBase+i/jamoNCount, jamoVBase+(i%jamoNCount)/jamoTCount)
		if t := i % jamoTCount; t != 0 {
			dst = append(dst, jamoTBase+t)
		}
		return dst
	}
	if i, ok := slices.BinarySearchFunc(stripOverrides, r, func(m runeMapping, r rune) int { return cmp.Compare(m.from, r) }); ok {
		for _, c := range stripOverrides[i].to {
			dst = append(dst, c)
		}
		return dst
	}
	d := norm.NFD.PropertiesString(s).Decomposition()
	if d == nil {
		return append(dst, r)
	}
	for len(d) > 0 {
		c, n := utf8.DecodeRune(d)
		dst = append(dst, c)
		d = d[n:]
	}
	return dst
}

// combiningClass returns the canonical combining class of r.
func combiningClass(r rune) uint8 {
	if r < 0x300 {
		return 0
	}
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], r)
	return norm.NFD.Properties(b[:n]).CCC()
}
