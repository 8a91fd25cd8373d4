package wordpiece

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Token is one token of a text: its vocabulary ID and the byte range
// [Start, End) of the original text it came from, before any
// normalization. The tokens of a text are in order and do not overlap; the
// pieces of one word are contiguous and together cover the word. White
// space and characters removed between words belong to no token; a
// character removed inside a word (a zero-width joiner, the combining mark
// of an accent) belongs to the piece before it.
//
// A single original character that normalization expands into several
// (a Hangul syllable into its jamo, for example) belongs to the piece that
// holds its first part; a piece made only of later parts of it is empty
// (Start == End) at its end.
type Token struct {
	ID         int32
	Start, End int
}

// Encoding is a text encoded for a BERT model: [CLS], the text's tokens,
// [SEP], and, in a batch, padding.
type Encoding struct {
	// IDs are the token IDs.
	IDs []int32
	// TypeIDs are the token type (segment) IDs, all 0 for one text.
	TypeIDs []int32
	// Mask is the attention mask: 1 for a real token, 0 for padding.
	Mask []int32
	// Truncated reports whether tokens of the text were cut to fit.
	Truncated bool
}

// SpecialIDs are the IDs of a vocabulary's special tokens. Mask is -1 when
// the vocabulary has no mask token.
type SpecialIDs struct {
	CLS, SEP, Pad, Unk, Mask int32
}

// Tokenizer is a BERT WordPiece tokenizer that produces the same tokens as
// Hugging Face's BertTokenizer and tokenizers (BertNormalizer,
// BertPreTokenizer, WordPiece). It is safe for concurrent use.
type Tokenizer struct {
	vocab    []string         // ID -> token; "" for unused IDs
	first    map[string]int32 // every token, for word-initial pieces
	cont     map[string]int32 // continuation tokens without their prefix
	maxFirst int              // longest key of first, in bytes
	maxCont  int              // longest key of cont, in bytes
	special  SpecialIDs
	maxChars int // a longer word is one unknown token
	opts     Options
	added    []addedToken // matched in the raw text before normalization

	ascii   [256]uint8 // class of each byte as an original character
	asciiID [128]int32 // ID of each ASCII character as a word by itself

	pool sync.Pool // *run scratch space
}

// addedToken is a token matched literally in the input before
// normalization, such as "[SEP]" in BERT vocabularies.
type addedToken struct {
	content string
	id      int32
}

// Classes of bytes in Tokenizer.ascii. Word characters are the highest so
// that the scanner tests one comparison.
const (
	classNonASCII uint8 = iota // a byte of a multi-byte character
	classSpace                 // splits words and is removed
	classDrop                  // removed by clean_text without splitting
	classPunct                 // a word by itself
	classWord                  // part of a word
	classUpper                 // part of a word, lower-cased first
)

// init fills the per-byte tables from the options.
func (t *Tokenizer) initTables() {
	for c := 0; c < 128; c++ {
		r := rune(c)
		var cl uint8
		switch {
		case t.opts.CleanText && isControl(r):
			cl = classDrop
		case isWhitespace(r):
			cl = classSpace
		case isPunct(r):
			cl = classPunct
		case t.opts.Lowercase && 'A' <= r && r <= 'Z':
			cl = classUpper
		default:
			cl = classWord
		}
		t.ascii[c] = cl
		t.asciiID[c] = t.special.Unk
		key := string(r)
		if t.opts.Lowercase {
			key = strings.ToLower(key)
		}
		if id, ok := t.first[key]; ok {
			t.asciiID[c] = id
		}
	}
	t.pool.New = func() any { return new(run) }
}

// VocabSize returns the number of token IDs (the largest ID plus one).
func (t *Tokenizer) VocabSize() int { return len(t.vocab) }

// SpecialIDs returns the IDs of the special tokens.
func (t *Tokenizer) SpecialIDs() SpecialIDs { return t.special }

// TokenID returns the ID of a vocabulary token, such as "play" or "##ing".
func (t *Tokenizer) TokenID(token string) (int32, bool) {
	id, ok := t.first[token]
	return id, ok
}

// TokenText returns the vocabulary token of an ID, or "" for an ID outside
// the vocabulary.
func (t *Tokenizer) TokenText(id int32) string {
	if id < 0 || int(id) >= len(t.vocab) {
		return ""
	}
	return t.vocab[id]
}

// Tokenize splits text into tokens, without [CLS] and [SEP].
func (t *Tokenizer) Tokenize(text string) []Token {
	return t.AppendTokens(nil, text)
}

// AppendTokens appends the tokens of text to dst, without [CLS] and [SEP],
// and returns the extended slice.
func (t *Tokenizer) AppendTokens(dst []Token, text string) []Token {
	r := t.getRun(text)
	// English text has about one token per four bytes; growing the slice
	// up front saves most of the copying (append takes over past 64k
	// tokens, so that text with few tokens does not reserve much).
	r.dst = slices.Grow(dst, min(len(text)/4+1, 1<<16))
	r.tokenize()
	dst = r.dst
	t.putRun(r)
	return dst
}

// Count returns the number of tokens in text, without [CLS] and [SEP]:
// len(t.Tokenize(text)), without building the tokens.
func (t *Tokenizer) Count(text string) int {
	r := t.getRun(text)
	r.counting = true
	r.tokenize()
	n := r.count
	t.putRun(r)
	return n
}

// Encode encodes text as [CLS] tokens [SEP], truncated to at most maxLen
// IDs in all (the two special tokens included), as Hugging Face does with
// truncation to max_length. A maxLen of 0 or less means no limit; a maxLen
// below 2 keeps only the special tokens.
func (t *Tokenizer) Encode(text string, maxLen int) Encoding {
	r := t.getRun(text)
	keep := -1
	if maxLen > 0 {
		// Collect one token more than fits, to know whether any was cut.
		keep = max(maxLen-2, 0)
		r.limit = keep + 1
	}
	r.tokenize()
	toks := r.dst
	var e Encoding
	if keep >= 0 && len(toks) > keep {
		toks = toks[:keep]
		e.Truncated = true
	}
	n := len(toks) + 2
	buf := make([]int32, 3*n)
	e.IDs, e.TypeIDs, e.Mask = buf[:n:n], buf[n:2*n:2*n], buf[2*n:]
	e.IDs[0] = t.special.CLS
	for i, tok := range toks {
		e.IDs[i+1] = tok.ID
	}
	e.IDs[n-1] = t.special.SEP
	for i := range e.Mask {
		e.Mask[i] = 1
	}
	r.dst = toks[:0]
	t.putRun(r)
	return e
}

// EncodeBatch encodes each text as Encode does and pads every encoding
// with the pad token (mask 0) to the length of the longest one.
func (t *Tokenizer) EncodeBatch(texts []string, maxLen int) []Encoding {
	encs := make([]Encoding, len(texts))
	longest := 0
	for i, text := range texts {
		encs[i] = t.Encode(text, maxLen)
		longest = max(longest, len(encs[i].IDs))
	}
	for i := range encs {
		e := &encs[i]
		n := len(e.IDs)
		if n == longest {
			continue
		}
		buf := make([]int32, 3*longest)
		ids, types, mask := buf[:longest:longest], buf[longest:2*longest:2*longest], buf[2*longest:]
		copy(ids, e.IDs)
		copy(types, e.TypeIDs)
		copy(mask, e.Mask)
		for j := n; j < longest; j++ {
			ids[j] = t.special.Pad
		}
		e.IDs, e.TypeIDs, e.Mask = ids, types, mask
	}
	return encs
}

func (t *Tokenizer) getRun(text string) *run {
	r := t.pool.Get().(*run)
	r.t = t
	r.text = text
	return r
}

func (t *Tokenizer) putRun(r *run) {
	// Keep the scratch buffers, drop everything that refers to the caller's
	// data. Very large buffers are not kept.
	*r = run{
		word:    r.word[:0],
		bnd:     r.bnd[:0],
		runes:   r.runes[:0],
		pending: r.pending[:0],
		next:    r.next[:0],
	}
	if cap(r.word) > 1<<16 {
		r.word, r.bnd = nil, nil
	}
	t.pool.Put(r)
}

// run is the state of one tokenization.
type run struct {
	t        *Tokenizer
	text     string
	dst      []Token
	count    int
	counting bool
	limit    int // stop once this many tokens are out; 0: no limit

	// The word being built by the general path: its normalized bytes, and
	// for each byte that starts a character the original offset a piece
	// boundary there maps to.
	word      []byte
	bnd       []int
	nchars    int
	wordStart int
	wordEnd   int

	runes   []rune        // one character's normalized form
	pending []pendingMark // combining marks awaiting canonical ordering
	next    []int         // next match of each added token
}

// pendingMark is a combining character (canonical combining class above 0)
// that NFD may still move.
type pendingMark struct {
	r     rune
	ccc   uint8
	start int
	end   int
	first bool
}

func (r *run) n() int {
	if r.counting {
		return r.count
	}
	return len(r.dst)
}

func (r *run) truncateTo(n int) {
	if r.counting {
		r.count = n
	} else {
		r.dst = r.dst[:n]
	}
}

func (r *run) emit(id int32, start, end int) {
	if r.counting {
		r.count++
		return
	}
	r.dst = append(r.dst, Token{ID: id, Start: start, End: end})
}

// full reports whether the limit has been reached.
func (r *run) full() bool {
	return r.limit > 0 && r.n() >= r.limit
}

// tokenize splits the text at added tokens and tokenizes the rest.
func (r *run) tokenize() {
	t := r.t
	if len(t.added) == 0 {
		r.segment(0, len(r.text))
		return
	}
	text := r.text
	for range t.added {
		r.next = append(r.next, -2) // not searched yet
	}
	pos := 0
	for pos < len(text) {
		best, bestEnd, bestID := -1, -1, int32(0)
		for k, a := range t.added {
			at := r.next[k]
			if at == -1 {
				continue // no more occurrences
			}
			if at < pos {
				i := strings.Index(text[pos:], a.content)
				if i < 0 {
					r.next[k] = -1
					continue
				}
				at = pos + i
				r.next[k] = at
			}
			// Leftmost, then longest.
			if best < 0 || at < best || (at == best && at+len(a.content) > bestEnd) {
				best, bestEnd, bestID = at, at+len(a.content), a.id
			}
		}
		if best < 0 {
			r.segment(pos, len(text))
			return
		}
		if !r.segment(pos, best) {
			return
		}
		r.emit(bestID, best, bestEnd)
		if r.full() {
			return
		}
		pos = bestEnd
	}
}

// segment tokenizes text[start:end], which holds no added token. It
// returns false when the limit was reached.
func (r *run) segment(start, end int) bool {
	t := r.t
	text := r.text
	i := start
	for i < end {
		c := text[i]
		switch cl := t.ascii[c]; {
		case cl >= classWord:
			// An ASCII word: scan it, and take the general path if it
			// continues with a non-ASCII or removed character.
			j := i + 1
			for j < end && t.ascii[text[j]] >= classWord {
				j++
			}
			if j < end && (text[j] >= utf8.RuneSelf || t.ascii[text[j]] == classDrop) {
				var ok bool
				if i, ok = r.general(i, end); !ok {
					return false
				}
				continue
			}
			r.asciiWord(i, j)
			i = j
		case cl == classPunct:
			r.emit(t.asciiID[c], i, i+1)
			i++
		case cl == classNonASCII:
			var ok bool
			if i, ok = r.general(i, end); !ok {
				return false
			}
			continue
		default: // space or removed
			i++
			continue
		}
		if r.full() {
			return false
		}
	}
	return true
}

// asciiWord tokenizes text[start:end], a word of ASCII letters and digits.
func (r *run) asciiWord(start, end int) {
	t := r.t
	if end-start > t.maxChars {
		r.emit(t.special.Unk, start, end)
		return
	}
	w := append(r.word[:0], r.text[start:end]...)
	if t.opts.Lowercase {
		for k, c := range w {
			if 'A' <= c && c <= 'Z' {
				w[k] = c + 'a' - 'A'
			}
		}
	}
	r.word = w
	r.wordPiece(w, start, end, true)
	r.word = r.word[:0]
}

// wordPiece splits the normalized word w, which came from
// text[start:end], into vocabulary pieces, greedily taking the longest
// piece that matches at each position, or emits one unknown token when
// some position matches nothing. When ascii is set, byte k of w came from
// text[start+k]; otherwise r.bnd maps w's character starts.
func (r *run) wordPiece(w []byte, start, end int, ascii bool) {
	t := r.t
	mark := r.n()
	pos := 0
	for pos < len(w) {
		m, longest := t.first, t.maxFirst
		if pos > 0 {
			m, longest = t.cont, t.maxCont
		}
		e := len(w)
		if e-pos > longest {
			e = pos + longest
			for e > pos && !utf8.RuneStart(w[e]) {
				e--
			}
		}
		id := int32(-1)
		for e > pos {
			if v, ok := m[string(w[pos:e])]; ok {
				id = v
				break
			}
			e--
			for e > pos && !utf8.RuneStart(w[e]) {
				e--
			}
		}
		if id < 0 {
			r.truncateTo(mark)
			r.emit(t.special.Unk, start, end)
			return
		}
		s, f := start, end
		if pos > 0 {
			if ascii {
				s = start + pos
			} else {
				s = r.bnd[pos]
			}
		}
		if e < len(w) {
			if ascii {
				f = start + e
			} else {
				f = r.bnd[e]
			}
		}
		r.emit(id, s, f)
		pos = e
	}
}

// general tokenizes from text[i] character by character, applying
// BertNormalizer's steps in Hugging Face's order (clean text, isolate CJK
// ideographs, NFD and drop non-spacing marks, lower-case) and then
// splitting on white space and punctuation. It returns where it stopped:
// at an ASCII byte that starts a new word, or at end. It returns false
// when the limit was reached.
func (r *run) general(i, end int) (int, bool) {
	t := r.t
	text := r.text
	from := i
	for i < end {
		c := text[i]
		if c < utf8.RuneSelf && i > from && len(r.word) == 0 && len(r.pending) == 0 {
			return i, true
		}
		ch, size := rune(c), 1
		if c >= utf8.RuneSelf {
			ch, size = utf8.DecodeRuneInString(text[i:end])
		}
		s, e := i, i+size
		i = e
		if t.opts.CleanText {
			if ch == 0 || ch == utf8.RuneError || isControl(ch) {
				continue
			}
		}
		if isWhitespace(ch) {
			if !r.flushWord() {
				return i, false
			}
			continue
		}
		if t.opts.HandleChineseChars && isCJK(ch) {
			if !r.flushWord() {
				return i, false
			}
			if !r.addChar(ch, s, e) || !r.flushWord() {
				return i, false
			}
			continue
		}
		if !r.addChar(ch, s, e) {
			return i, false
		}
	}
	return i, r.flushWord()
}

// addChar normalizes the original character ch at text[s:e] and adds the
// result to the current word. It returns false when the limit was reached.
func (r *run) addChar(ch rune, s, e int) bool {
	t := r.t
	if !t.opts.StripAccents {
		return r.emitChar(ch, s, e, true)
	}
	rs := r.runes[:0]
	if ch < utf8.RuneSelf {
		rs = append(rs, ch)
	} else {
		rs = decomposeNFD(rs, ch, r.text[s:e])
	}
	r.runes = rs
	first := true
	for _, c := range rs {
		if isNonspacingMark(c) {
			// Dropped; a starter still ends the run of marks before it. The
			// word's last token covers the mark, so that cutting the text
			// after it does not separate a letter from its accent.
			if len(r.pending) > 0 && combiningClass(c) == 0 {
				if !r.flushMarks() {
					return false
				}
			}
			if len(r.word) > 0 {
				r.wordEnd = e
			}
			continue
		}
		if ccc := combiningClass(c); ccc != 0 {
			r.pending = append(r.pending, pendingMark{r: c, ccc: ccc, start: s, end: e, first: first})
			first = false
			continue
		}
		if len(r.pending) > 0 && !r.flushMarks() {
			return false
		}
		if !r.emitChar(c, s, e, first) {
			return false
		}
		first = false
	}
	return true
}

// flushMarks puts the pending combining marks in canonical order, as NFD
// does across the whole text, and adds them to the word.
func (r *run) flushMarks() bool {
	p := r.pending
	sorted := true
	for k := 1; k < len(p); k++ {
		if p[k].ccc < p[k-1].ccc {
			sorted = false
			break
		}
	}
	if !sorted {
		// A stable insertion sort by class; the moved marks share the span
		// of the whole run.
		lo, hi := p[0].start, p[0].end
		for _, m := range p {
			lo, hi = min(lo, m.start), max(hi, m.end)
		}
		for k := 1; k < len(p); k++ {
			for j := k; j > 0 && p[j].ccc < p[j-1].ccc; j-- {
				p[j], p[j-1] = p[j-1], p[j]
			}
		}
		for k := range p {
			p[k].start, p[k].end, p[k].first = lo, hi, k == 0
		}
	}
	r.pending = p[:0]
	for _, m := range p {
		if !r.emitChar(m.r, m.start, m.end, m.first) {
			return false
		}
	}
	return true
}

// emitChar lower-cases the normalized character c, which came from
// text[s:e], and adds it to the word, or splits the word at it. first is
// false for a character that is not the first part of its original
// character.
func (r *run) emitChar(c rune, s, e int, first bool) bool {
	t := r.t
	if !t.opts.Lowercase {
		return r.classify(c, s, e, first)
	}
	if c < utf8.RuneSelf {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		return r.classify(c, s, e, first)
	}
	var buf [2]rune
	for _, l := range toLower(buf[:0], c) {
		if !r.classify(l, s, e, first) {
			return false
		}
		first = false
	}
	return true
}

// classify adds a normalized character to the word, or ends the word at
// white space, or makes a punctuation character a word by itself.
func (r *run) classify(c rune, s, e int, first bool) bool {
	var space, punct bool
	if c < utf8.RuneSelf {
		space, punct = asciiSpace[c], isPunct(c)
	} else {
		space, punct = isWhitespace(c), isPunct(c)
	}
	switch {
	case space:
		return r.flushWord()
	case punct:
		if !r.flushWord() {
			return false
		}
		r.appendChar(c, s, e, true)
		return r.flushWord()
	}
	r.appendChar(c, s, e, first)
	return true
}

func (r *run) appendChar(c rune, s, e int, first bool) {
	if len(r.word) == 0 {
		r.wordStart = s
		first = true
	}
	r.wordEnd = e
	r.nchars++
	if r.nchars > r.t.maxChars {
		// The word will be one unknown token: keep its span only, so that
		// a huge word costs no memory.
		return
	}
	b := s
	if !first {
		b = e
	}
	n := len(r.word)
	r.word = utf8.AppendRune(r.word, c)
	for k := n; k < len(r.word); k++ {
		r.bnd = append(r.bnd, b)
	}
}

// flushWord tokenizes the word built so far. It returns false when the
// limit was reached.
func (r *run) flushWord() bool {
	if len(r.pending) > 0 {
		if !r.flushMarks() {
			return false
		}
	}
	if len(r.word) == 0 {
		return true
	}
	t := r.t
	if r.nchars > t.maxChars {
		r.emit(t.special.Unk, r.wordStart, r.wordEnd)
	} else {
		r.wordPiece(r.word, r.wordStart, r.wordEnd, false)
	}
	r.word, r.bnd, r.nchars = r.word[:0], r.bnd[:0], 0
	return !r.full()
}
