package wordpiece

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// referenceIDs tokenizes text the slow, literal way, one whole-string step
// after another as tokenizers' Rust code does (split at added tokens,
// BertNormalizer, BertPreTokenizer, WordPiece), sharing only the character
// tables with the real implementation. It checks the streaming
// implementation's control flow: fast paths, word assembly, canonical
// ordering, piece lookups and the length limit.
func referenceIDs(t *Tokenizer, text string) []int32 {
	var ids []int32
	for text != "" {
		at, l, id := -1, 0, int32(0)
		for _, a := range t.added {
			if i := strings.Index(text, a.content); i >= 0 && (at < 0 || i < at || (i == at && len(a.content) > l)) {
				at, l, id = i, len(a.content), a.id
			}
		}
		if at < 0 {
			ids = append(ids, referenceSegment(t, text)...)
			break
		}
		ids = append(ids, referenceSegment(t, text[:at])...)
		ids = append(ids, id)
		text = text[at+l:]
	}
	return ids
}

// referenceNormalize applies BertNormalizer to s.
func referenceNormalize(t *Tokenizer, s string) string {
	o := t.opts
	var rs []rune
	for _, r := range s { // invalid bytes decode as U+FFFD
		if o.CleanText {
			if r == 0 || r == utf8.RuneError || isControl(r) {
				continue
			}
			if isWhitespace(r) {
				r = ' '
			}
		}
		if o.HandleChineseChars && isCJK(r) {
			rs = append(rs, ' ', r, ' ')
			continue
		}
		rs = append(rs, r)
	}
	if o.StripAccents {
		// NFD of the whole string (with canonical reordering across
		// characters), except that runes Hugging Face decomposes
		// differently take their recorded form.
		var b strings.Builder
		start := 0
		for i, r := range rs {
			for _, m := range stripOverrides {
				if m.from == r {
					b.WriteString(norm.NFD.String(string(rs[start:i])))
					b.WriteString(m.to)
					start = i + 1
				}
			}
		}
		b.WriteString(norm.NFD.String(string(rs[start:])))
		rs = rs[:0]
		for _, r := range b.String() {
			if !isNonspacingMark(r) {
				rs = append(rs, r)
			}
		}
	}
	if o.Lowercase {
		var lower []rune
		for _, r := range rs {
			lower = toLower(lower, r)
		}
		rs = lower
	}
	return string(rs)
}

// referenceWords applies BertPreTokenizer to a normalized string.
func referenceWords(s string) []string {
	var words []string
	for _, f := range strings.FieldsFunc(s, isWhitespace) {
		start := 0
		for i, r := range f {
			if isPunct(r) {
				if i > start {
					words = append(words, f[start:i])
				}
				words = append(words, string(r))
				start = i + utf8.RuneLen(r)
			}
		}
		if start < len(f) {
			words = append(words, f[start:])
		}
	}
	return words
}

func referenceSegment(t *Tokenizer, s string) []int32 {
	var ids []int32
	for _, w := range referenceWords(referenceNormalize(t, s)) {
		ids = append(ids, referenceWordPiece(t, w)...)
	}
	return ids
}

// referenceWordPiece is tokenizers' WordPiece::tokenize, transcribed.
func referenceWordPiece(t *Tokenizer, w string) []int32 {
	unk := []int32{t.special.Unk}
	if utf8.RuneCountInString(w) > t.maxChars {
		return unk
	}
	var ids []int32
	start := 0
	for start < len(w) {
		end := len(w)
		found := false
		for start < end {
			sub := w[start:end]
			if start > 0 {
				sub = t.opts.ContinuingSubwordPrefix + sub
			}
			if id, ok := t.first[sub]; ok {
				ids = append(ids, id)
				found = true
				break
			}
			_, n := utf8.DecodeLastRuneInString(sub)
			end -= n
		}
		if !found {
			return unk
		}
		start = end
	}
	return ids
}

// checkTokens checks what must hold for any input: the same IDs as the
// reference, Count equal to the number of tokens, offsets in order inside
// the input, each word's pieces contiguous and spelling the normalized
// original text they cover, and Encode agreeing with Tokenize.
func checkTokens(tb testing.TB, t *Tokenizer, text string) {
	tb.Helper()
	toks := t.Tokenize(text)
	got := make([]int32, len(toks))
	for i, tok := range toks {
		got[i] = tok.ID
	}
	if want := referenceIDs(t, text); !slices.Equal(got, want) {
		tb.Fatalf("Tokenize(%+q):\n got %v\nwant %v", text, got, want)
	}
	if n := t.Count(text); n != len(toks) {
		tb.Fatalf("Count(%+q) = %d, len(Tokenize) = %d", text, n, len(toks))
	}
	prevEnd := 0
	for i := 0; i < len(toks); {
		// A word: a first token and the "##" pieces that follow it.
		j := i + 1
		for j < len(toks) && toks[j].Start == toks[j-1].End && strings.HasPrefix(t.vocab[toks[j].ID], t.opts.ContinuingSubwordPrefix) && !t.isAdded(toks[j].ID) {
			j++
		}
		start, end := toks[i].Start, toks[j-1].End
		if start < prevEnd || end > len(text) {
			tb.Fatalf("Tokenize(%+q): token %d at [%d,%d) after %d, input length %d", text, i, start, end, prevEnd, len(text))
		}
		var spelled strings.Builder
		for k := i; k < j; k++ {
			if toks[k].Start > toks[k].End {
				tb.Fatalf("Tokenize(%+q): token %d at [%d,%d)", text, k, toks[k].Start, toks[k].End)
			}
			piece := t.vocab[toks[k].ID]
			if k > i {
				piece = strings.TrimPrefix(piece, t.opts.ContinuingSubwordPrefix)
			}
			spelled.WriteString(piece)
		}
		orig := text[start:end]
		switch {
		case j == i+1 && t.isAdded(toks[i].ID) && orig == t.vocab[toks[i].ID]:
		case j == i+1 && toks[i].ID == t.special.Unk:
			if strings.TrimSpace(referenceNormalize(t, orig)) == "" {
				tb.Fatalf("Tokenize(%+q): [UNK] over %+q, which normalizes to nothing", text, orig)
			}
		default:
			// Characters the normalizer removes may sit inside a word.
			if norm := strings.ReplaceAll(referenceNormalize(t, orig), " ", ""); norm != spelled.String() {
				tb.Fatalf("Tokenize(%+q): tokens %d-%d spell %+q, but the original %+q at [%d,%d) normalizes to %+q",
					text, i, j-1, spelled.String(), orig, start, end, norm)
			}
		}
		prevEnd = end
		i = j
	}
	for _, maxLen := range []int{0, 2, 3, 7} {
		e := t.Encode(text, maxLen)
		n := len(toks)
		if maxLen > 0 {
			n = min(n, maxLen-2)
		}
		want := append(append([]int32{t.special.CLS}, got[:n]...), t.special.SEP)
		if !slices.Equal(e.IDs, want) || e.Truncated != (n < len(toks)) {
			tb.Fatalf("Encode(%+q, %d) = %v truncated=%v, want %v", text, maxLen, e.IDs, e.Truncated, want)
		}
	}
}

func (t *Tokenizer) isAdded(id int32) bool {
	for _, a := range t.added {
		if a.id == id {
			return true
		}
	}
	return false
}

// TestMatchesReference compares the tokenizer with the reference on the
// Hugging Face golden strings and on random strings built from characters
// that exercise every path, and checks the offsets.
func TestMatchesReference(t *testing.T) {
	tk := Default()
	f, err := os.Open(filepath.Join("testdata", "hf_strings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		checkTokens(t, tk, s.Text)
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range n {
		checkTokens(t, tk, randomText(rng))
	}
}

// TestMatchesReferenceOptions runs the same checks with each normalizer
// option off in turn, on a vocabulary that holds accented and upper-case
// pieces, and with invalid UTF-8.
func TestMatchesReferenceOptions(t *testing.T) {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "é", "É", "##a", "##b", "##é", "##É",
		"ab", "Ab", "éé", "##éé", "中", "\u0301", "##\u0301", "\x00", "i\u0307", "##\ufffd", "\ufffd",
		// Marks that stay after accent stripping (Mc, or Mn newer than
		// Hugging Face's tables), so that their canonical order shows.
		"\U0001d165", "##\U0001d165", "\u08d4", "##\u08d4"}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, opts := range []Options{
		{CleanText: true, HandleChineseChars: true, StripAccents: true, Lowercase: true},
		{CleanText: false, HandleChineseChars: true, StripAccents: true, Lowercase: true},
		{CleanText: true, HandleChineseChars: false, StripAccents: true, Lowercase: true},
		{CleanText: true, HandleChineseChars: true, StripAccents: false, Lowercase: true},
		{CleanText: true, HandleChineseChars: true, StripAccents: false, Lowercase: false},
		{CleanText: true, HandleChineseChars: true, StripAccents: true, Lowercase: false, MaxInputCharsPerWord: 4},
	} {
		tk, err := FromVocab(strings.NewReader(strings.Join(vocab, "\n")), opts)
		if err != nil {
			t.Fatal(err)
		}
		for range 500 {
			s := randomText(rng)
			if rng.IntN(10) == 0 {
				s += "\xff\xfe" + s[:len(s)/2] // invalid UTF-8
			}
			checkTokens(t, tk, s)
		}
	}
}

// randomText builds a string from pieces that exercise the tokenizer's
// paths: ASCII words in both cases, punctuation, white space, removed
// characters, accents precomposed and decomposed, marks NFD reorders,
// Hangul, CJK, emoji and special tokens.
func randomText(rng *rand.Rand) string {
	parts := []string{
		"the", "Quick", "BROWN", "unaffable", "playing", "x", "a", "ab", "42", "3.14",
		" ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\v", "\f", "\u0085",
		".", ",", "!", "$", "^", "`", "[", "]", "“", "”", "—", "¿", "。",
		"\x00", "\x07", "\x7f", "\u200b", "\u200d", "\ufeff", "\u00ad", "\ufffd", "\ue000",
		"é", "É", "e\u0301", "E\u0301", "\u0301", "ñ", "ß", "İ", "ı", "ﬁ", "Å", "\u212b",
		"\u0323\u0301", "\u0301\u0323", "\u08d4\u0323", "a\u08d4\U0001d165", "\u08d4\u0301\U0001d165", "\u08d4\u094d", "\U0001d165\u0323", "\U0001d165\u3099", "\u1734", "\U00011938",
		"한", "국어", "中", "文字", "\uf900", "\U00020000", "\U0002b820",
		"👍", "👍🏽", "👨\u200d👩", "🥰", "❤\ufe0f",
		"[SEP]", "[CLS]", "[sep]", "[MASK", "ελληνικά", "русский", "עברית", "हिन्दी",
		strings.Repeat("é", 99), strings.Repeat("x", 101),
	}
	var b strings.Builder
	for range 1 + rng.IntN(25) {
		b.WriteString(parts[rng.IntN(len(parts))])
	}
	return b.String()
}

// FuzzTokenize checks, for any input, that tokenizing does not panic, that
// the IDs match the reference implementation, that Count agrees with
// Tokenize, and that the offsets are valid.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"", "Héllo, wörld!", "unaffable", "中文字 [SEP] x", "e\u0301\u0323", "\U0001d165\u3099\u0323",
		"한국어", "👍🏽 \u200b\ufeff", strings.Repeat("x", 101), "\xff\xfeab", "a\x00b"} {
		f.Add(s)
	}
	tk := Default()
	f.Fuzz(func(t *testing.T, s string) {
		checkTokens(t, tk, s)
	})
}
