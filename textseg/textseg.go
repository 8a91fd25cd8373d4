// Package textseg splits text into sentences. The chunker uses it to cut
// along sentence boundaries and the extractive answerer to pick sentences.
// It is rule-based: a sentence ends at '.', '!', '?' or '…' (with closing
// quotes and brackets) followed by whitespace and a plausible sentence start,
// or at a line break that ends a line of its own; common abbreviations and
// initials do not end sentences.
package textseg

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Span is a sentence as byte offsets into the text it came from. Start is
// at the sentence's first non-space byte; End is after its last
// non-space byte.
type Span struct{ Start, End int }

// abbreviations are lower-cased words that, followed by '.', do not end a
// sentence.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "sr": true, "jr": true, "st": true,
	"vs": true, "etc": true, "e.g": true, "i.e": true, "cf": true, "al": true, "fig": true, "figs": true,
	"no": true, "nos": true, "vol": true, "p": true, "pp": true, "ch": true, "sec": true, "eq": true,
	"approx": true, "inc": true, "ltd": true, "co": true, "corp": true, "jan": true, "feb": true,
	"mar": true, "apr": true, "jun": true, "jul": true, "aug": true, "sep": true, "sept": true,
	"oct": true, "nov": true, "dec": true, "u.s": true, "u.k": true, "ph.d": true, "a.m": true, "p.m": true,
}

// Sentences returns the sentences of text in order. Whitespace between
// sentences belongs to none of them. Text without any terminator is one
// sentence; empty or all-space text has none.
func Sentences(text string) []Span {
	return AppendSentences(nil, text)
}

// AppendSentences appends the sentences of text to dst.
func AppendSentences(dst []Span, text string) []Span {
	start := skipSpace(text, 0)
	i := start
	for i < len(text) {
		c := text[i]
		switch {
		case c == '\n':
			// A blank line, or a line break after a line that does not look
			// wrapped, ends a sentence.
			j := i + 1
			for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r') {
				j++
			}
			if j >= len(text) || text[j] == '\n' || lineBreakEnds(text, start, i, j) {
				if end := trimRight(text, start, i); end > start {
					dst = append(dst, Span{start, end})
				}
				start = skipSpace(text, j)
				i = start
				continue
			}
			i++
		case c == '.' || c == '!' || c == '?':
			end := i + 1
			end = skipClosers(text, end)
			if end < len(text) && !isSpaceAt(text, end) {
				i++
				continue
			}
			if c == '.' && !endsSentence(text, start, i, end) {
				i = end
				continue
			}
			dst = append(dst, Span{start, end})
			start = skipSpace(text, end)
			i = start
		case c >= 0xE2 && c <= 0xEF && fullStop(text[i:]) > 0:
			// CJK full stops end a sentence without a following space.
			end := skipClosers(text, i+fullStop(text[i:]))
			dst = append(dst, Span{start, end})
			start = skipSpace(text, end)
			i = start
		case c == 0xE2 && strings.HasPrefix(text[i:], "…"):
			end := skipClosers(text, i+len("…"))
			if end >= len(text) || isSpaceAt(text, end) {
				next := skipSpace(text, end)
				if next >= len(text) || startsSentence(text, next) {
					dst = append(dst, Span{start, end})
					start = next
					i = start
					continue
				}
			}
			i += len("…")
		default:
			i++
		}
	}
	if end := trimRight(text, start, len(text)); end > start {
		dst = append(dst, Span{start, end})
	}
	return dst
}

// lineBreakEnds decides whether the single line break at nl (next line
// starting at next) ends a sentence: it does after terminal punctuation or a
// colon, before a list marker, and after a short line (a heading or label).
func lineBreakEnds(text string, start, nl, next int) bool {
	end := trimRight(text, start, nl)
	if end == start {
		return true
	}
	last, _ := utf8.DecodeLastRuneInString(text[start:end])
	if strings.ContainsRune(".!?:;…", last) {
		return true
	}
	if next < len(text) {
		switch text[next] {
		case '-', '*', '+', '|', '#', '>':
			return true
		}
		if isDigit(text[next]) {
			k := next
			for k < len(text) && isDigit(text[k]) {
				k++
			}
			if k < len(text) && (text[k] == '.' || text[k] == ')') {
				return true
			}
		}
	}
	lineStart := strings.LastIndexByte(text[:nl], '\n') + 1
	return nl-lineStart < 40
}

// endsSentence decides whether the '.' at dot (sentence text continuing
// after end) ends a sentence.
func endsSentence(text string, start, dot, end int) bool {
	next := skipSpace(text, end)
	if next >= len(text) {
		return true
	}
	// The word before the dot.
	w := dot
	for w > start {
		r, size := utf8.DecodeLastRuneInString(text[:w])
		if unicode.IsSpace(r) || r == '(' || r == '"' || r == '\'' {
			break
		}
		w -= size
	}
	word := strings.ToLower(strings.TrimLeft(text[w:dot], "([\"'"))
	if abbreviations[word] {
		return false
	}
	// A single letter is an initial ("J. Smith"); a number followed by a
	// lower-case word is an ordinal or a list ("3. item" handled by caller).
	if utf8.RuneCountInString(word) == 1 {
		r, _ := utf8.DecodeRuneInString(word)
		if unicode.IsLetter(r) {
			return false
		}
	}
	return startsSentence(text, next)
}

// startsSentence reports whether the text at i can begin a sentence: an
// upper-case letter, a digit, an opening quote or bracket, or any letter of
// a script without case.
func startsSentence(text string, i int) bool {
	r, _ := utf8.DecodeRuneInString(text[i:])
	switch {
	case unicode.IsUpper(r), unicode.IsDigit(r), unicode.IsTitle(r):
		return true
	case strings.ContainsRune("\"'“‘([*-#>`", r):
		return true
	case unicode.IsLetter(r) && !unicode.IsLower(r):
		return true
	}
	return false
}

func skipClosers(text string, i int) int {
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !strings.ContainsRune("\"')]}”’»", r) {
			break
		}
		i += size
	}
	return i
}

func skipSpace(text string, i int) int {
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}

func trimRight(text string, start, end int) int {
	for end > start {
		r, size := utf8.DecodeLastRuneInString(text[start:end])
		if !unicode.IsSpace(r) {
			break
		}
		end -= size
	}
	return end
}

func isSpaceAt(text string, i int) bool {
	r, _ := utf8.DecodeRuneInString(text[i:])
	return unicode.IsSpace(r)
}

// fullStop returns the length of the CJK sentence terminator s starts
// with, or 0.
func fullStop(s string) int {
	for _, t := range [...]string{"。", "！", "？", "．"} {
		if strings.HasPrefix(s, t) {
			return len(t)
		}
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
