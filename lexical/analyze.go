package lexical

import (
	"unicode"
	"unicode/utf8"
)

// MaxTermBytes is the longest term kept, in bytes after lower-casing;
// longer words (hashes, base64, run-together text) are dropped.
const MaxTermBytes = 64

// Terms returns the terms of text in order, repeats included. Indexing
// counts them; a query uses each distinct term once (see [QueryTerms]).
func Terms(text string) []string {
	return AppendTerms(nil, text)
}

// AppendTerms appends the terms of text to dst and returns the extended
// slice.
func AppendTerms(dst []string, text string) []string {
	Scan(text, func(term []byte) {
		dst = append(dst, string(term))
	})
	return dst
}

// QueryTerms returns the distinct terms of a query in order of first
// appearance: BM25 scores each query term once, however often it is typed.
func QueryTerms(text string) []string {
	var out []string
	seen := make(map[string]struct{})
	Scan(text, func(term []byte) {
		if _, ok := seen[string(term)]; ok {
			return
		}
		t := string(term)
		seen[t] = struct{}{}
		out = append(out, t)
	})
	return out
}

// Scan calls fn with each term of text, in order, repeats included. The
// slice is only valid during the call: fn must copy it to keep it (a map
// lookup such as m[string(term)] does not allocate). Scan allocates nothing
// per term.
func Scan(text string, fn func(term []byte)) {
	scan(text, stem, fn)
}

// scan is Scan with the stemmer as a parameter, for comparing stemmers.
func scan(text string, stem func([]byte) int, fn func(term []byte)) {
	s := scanner{fn: fn, stem: stem}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
				s.addByte(c)
			case 'A' <= c && c <= 'Z':
				s.addByte(c + 'a' - 'A')
			case c == '\'':
				s.emit()
				i = skipPossessive(text, i+1)
				continue
			default:
				s.emit()
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '\u2019' || r == '\uFF07': // right single quotation mark, fullwidth apostrophe
			s.emit()
			i = skipPossessive(text, i+size)
			continue
		case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r):
			// Ideographs and Hiragana are one term each, as Lucene's
			// StandardTokenizer emits them.
			s.emit()
			s.addRune(r)
			s.emit()
		case isWordRune(r):
			s.addRune(unicode.ToLower(r))
		default:
			s.emit()
		}
		i += size
	}
	s.emit()
}

// scanner accumulates the current word of Scan.
type scanner struct {
	fn      func([]byte)
	stem    func([]byte) int
	buf     [MaxTermBytes + utf8.UTFMax]byte
	n       int  // bytes of the current word in buf
	inWord  bool // a word has started
	tooLong bool // the current word has passed MaxTermBytes
}

func (s *scanner) addByte(c byte) {
	s.inWord = true
	if s.n < MaxTermBytes {
		s.buf[s.n] = c
		s.n++
		return
	}
	s.tooLong = true
}

func (s *scanner) addRune(r rune) {
	s.inWord = true
	if s.tooLong {
		return
	}
	w := utf8.RuneLen(r)
	if w < 0 || s.n+w > MaxTermBytes {
		s.tooLong = true
		return
	}
	s.n += utf8.EncodeRune(s.buf[s.n:], r)
}

// emit ends the current word and passes it on unless it is too long or a
// stop word.
func (s *scanner) emit() {
	if !s.inWord {
		return
	}
	t := s.buf[:s.n]
	skip := s.tooLong || isStopWord(t)
	s.n, s.inWord, s.tooLong = 0, false, false
	if !skip {
		s.fn(t[:s.stem(t)])
	}
}

// isWordRune reports whether a non-ASCII rune belongs to a word: a letter,
// a combining mark or a decimal digit.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// skipPossessive returns the index after the s of a possessive 's that
// starts at i (just after the apostrophe), or i when there is none.
func skipPossessive(text string, i int) int {
	if i < len(text) && (text[i] == 's' || text[i] == 'S') {
		j := i + 1
		if j == len(text) {
			return j
		}
		c := text[j]
		if c < utf8.RuneSelf {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				return j
			}
			return i
		}
		r, _ := utf8.DecodeRuneInString(text[j:])
		if !isWordRune(r) {
			return j
		}
	}
	return i
}
