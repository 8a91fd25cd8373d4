package llmtoken

import (
	"unicode"
	"unicode/utf8"
)

// splitPieces calls fn with each piece of s as the Llama 3 (and cl100k)
// pre-tokenizer splits it. It is a hand-written matcher for the regular
// expression
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// with leftmost-first alternation, as the tokenizers evaluate it. s must be
// valid UTF-8.
func splitPieces(s string, fn func(piece string)) {
	for i := 0; i < len(s); {
		n := matchAt(s, i)
		fn(s[i : i+n])
		i += n
	}
}

func isLetter(r rune) bool {
	return r < utf8.RuneSelf && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') || r >= utf8.RuneSelf && unicode.IsLetter(r)
}
func isNumber(r rune) bool { return '0' <= r && r <= '9' || r >= utf8.RuneSelf && unicode.IsNumber(r) }
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return unicode.IsSpace(r)
}
func isNewline(r rune) bool { return r == '\r' || r == '\n' }

func runeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// matchAt returns the length of the piece starting at i (> 0).
func matchAt(s string, i int) int {
	r0, w0 := runeAt(s, i)

	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if r0 == '\'' {
		if n := contraction(s[i+1:]); n > 0 {
			return 1 + n
		}
	}

	// [^\r\n\p{L}\p{N}]?\p{L}+
	if isLetter(r0) {
		return w0 + letters(s, i+w0)
	}
	if !isNewline(r0) && !isNumber(r0) {
		if r1, w1 := runeAt(s, i+w0); w1 > 0 && isLetter(r1) {
			return w0 + w1 + letters(s, i+w0+w1)
		}
	}

	// \p{N}{1,3}
	if isNumber(r0) {
		n := w0
		for k := 1; k < 3; k++ {
			r, w := runeAt(s, i+n)
			if w == 0 || !isNumber(r) {
				break
			}
			n += w
		}
		return n
	}

	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	{
		j := i
		if r0 == ' ' {
			j++
		}
		k := j
		for {
			r, w := runeAt(s, k)
			if w == 0 || isSpace(r) || isLetter(r) || isNumber(r) {
				break
			}
			k += w
		}
		if k > j {
			for k < len(s) && (s[k] == '\r' || s[k] == '\n') {
				k++
			}
			return k - i
		}
	}

	// r0 is whitespace from here on.
	// \s*[\r\n]+ : the whitespace run up to and including its last newline.
	end, lastNL := i, -1
	for end < len(s) {
		r, w := runeAt(s, end)
		if !isSpace(r) {
			break
		}
		if isNewline(r) {
			lastNL = end
		}
		end += w
	}
	if lastNL >= 0 {
		return lastNL + 1 - i
	}
	// \s+(?!\S) : the run, less its last character when a non-space follows.
	if end == len(s) {
		return end - i
	}
	if _, lw := utf8.DecodeLastRuneInString(s[i:end]); end-lw > i {
		return end - lw - i
	}
	// \s+
	return end - i
}

func letters(s string, i int) int {
	n := 0
	for {
		r, w := runeAt(s, i+n)
		if w == 0 || !isLetter(r) {
			return n
		}
		n += w
	}
}

// contraction matches s|t|re|ve|m|ll|d, ASCII case-insensitively, at the
// start of s and returns its length or 0.
func contraction(s string) int {
	lower := func(i int) byte {
		if i >= len(s) {
			return 0
		}
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		return c
	}
	switch lower(0) {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if lower(1) == 'e' {
			return 2
		}
	case 'l':
		if lower(1) == 'l' {
			return 2
		}
	}
	return 0
}
