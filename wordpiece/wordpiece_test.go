package wordpiece_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/wordpiece"
)

// tok is a token as the tests write it: the vocabulary piece, its ID and
// its byte range in the input.
type tok struct {
	Piece      string
	ID         int32
	Start, End int
}

func tokens(tk *wordpiece.Tokenizer, text string) []tok {
	var out []tok
	for _, t := range tk.Tokenize(text) {
		out = append(out, tok{tk.TokenText(t.ID), t.ID, t.Start, t.End})
	}
	return out
}

// TestTokenizeWorkedExamples checks hand-worked cases against the
// bert-base-uncased vocabulary. Each expectation follows Hugging Face's
// algorithm by hand; the IDs are line numbers (from 0) in
// bert-base-uncased-vocab.txt.
func TestTokenizeWorkedExamples(t *testing.T) {
	tk := wordpiece.Default()
	cases := []struct {
		name string
		in   string
		want []tok
	}{
		{
			// Greedy longest match first: "unaffable" is not in the
			// vocabulary; the longest prefix that is, is "una" (not "un":
			// "una" is longer). From "ffable", the longest "##" piece is
			// "##ffa" ("##ffab", "##ffabl", "##ffable" are absent), then
			// "##ble". (The BERT paper's "un ##aff ##able" used another
			// vocabulary; this one has no "##aff".)
			name: "greedy longest match",
			in:   "unaffable",
			want: []tok{{"una", 14477, 0, 3}, {"##ffa", 20961, 3, 6}, {"##ble", 3468, 6, 9}},
		},
		{
			// Lower-case, then NFD turns é into e + U+0301, and the mark
			// (category Mn) is dropped: "hello". é is 2 bytes, so the
			// token covers bytes 0-6 of the original.
			name: "accents",
			in:   "Héllo naïve CAFÉ",
			want: []tok{{"hello", 7592, 0, 6}, {"naive", 15743, 7, 13}, {"cafe", 7668, 14, 19}},
		},
		{
			// A decomposed accent (e + U+0301) is dropped the same way; the
			// token still covers the mark, so a cut after it keeps the
			// accent with its letter.
			name: "combining mark",
			in:   "cafe\u0301 x",
			want: []tok{{"cafe", 7668, 0, 6}, {"x", 1060, 7, 8}},
		},
		{
			// Each CJK ideograph is a word by itself. 中 and 文 are in the
			// vocabulary; 字 is not and, as a one-character word that
			// cannot be pieced, is [UNK].
			name: "CJK",
			in:   "中文字",
			want: []tok{{"中", 1746, 0, 3}, {"文", 1861, 3, 6}, {"[UNK]", 100, 6, 9}},
		},
		{
			// ASCII symbols are punctuation for BERT even where Unicode
			// says symbol (Sc, Sk, Sm): "$", "^" and "`" each stand alone.
			name: "ASCII punctuation",
			in:   "$5^2 `x`",
			want: []tok{{"$", 1002, 0, 1}, {"5", 1019, 1, 2}, {"^", 1034, 2, 3}, {"2", 1016, 3, 4},
				{"`", 1036, 5, 6}, {"x", 1060, 6, 7}, {"`", 1036, 7, 8}},
		},
		{
			// Unicode punctuation (Pi, Pf, Pd, Po) is isolated too.
			name: "Unicode punctuation",
			in:   "“Hi”—¿ok?",
			want: []tok{{"“", 1523, 0, 3}, {"hi", 7632, 3, 5}, {"”", 1524, 5, 8}, {"—", 1517, 8, 11},
				{"¿", 1094, 11, 13}, {"ok", 7929, 13, 15}, {"?", 1029, 15, 16}},
		},
		{
			// Emoji are symbols (So), not punctuation: 👍 is a word, and not
			// in the vocabulary, so [UNK].
			name: "emoji",
			in:   "👍 ok",
			want: []tok{{"[UNK]", 100, 0, 4}, {"ok", 7929, 5, 7}},
		},
		{
			// U+200B (zero-width space) is category Cf, which BERT's
			// is_control treats as control: clean_text removes it and does
			// NOT split there (it is not White_Space). "zerowidth" is then
			// one word: zero ##wi ##dt ##h. The first piece runs up to the
			// next one, so it covers the removed character.
			name: "zero-width space",
			in:   "zero\u200Bwidth",
			want: []tok{{"zero", 5717, 0, 7}, {"##wi", 9148, 7, 9}, {"##dt", 11927, 9, 11}, {"##h", 2232, 11, 12}},
		},
		{
			// U+200D (zero-width joiner) and U+FEFF (byte order mark) are
			// Cf as well: removed, joining "a" and "b" into "ab".
			name: "zero-width joiner and BOM",
			in:   "a\u200Db a\uFEFFb",
			want: []tok{{"ab", 11113, 0, 5}, {"ab", 11113, 6, 11}},
		},
		{
			// NUL and BEL (Cc) are removed; tab and newline are white
			// space; U+00A0 (no-break space, Zs) is white space too.
			name: "control and white space",
			in:   "a\x00b\x07c\ttab\nx\u00A0y",
			want: []tok{{"abc", 5925, 0, 5}, {"tab", 21628, 6, 9}, {"x", 1060, 10, 11}, {"y", 1061, 13, 14}},
		},
		{
			// A word of exactly 100 characters is pieced: "xx" then 49
			// times "##xx".
			name: "100-character word",
			in:   strings.Repeat("x", 100),
			want: append([]tok{{"xx", 22038, 0, 2}}, func() []tok {
				var ts []tok
				for i := 2; i < 100; i += 2 {
					ts = append(ts, tok{"##xx", 20348, i, i + 2})
				}
				return ts
			}()...),
		},
		{
			// One more character (max_input_chars_per_word is 100) makes
			// the whole word one [UNK]; the next word is unaffected.
			name: "101-character word",
			in:   strings.Repeat("x", 101) + " ok",
			want: []tok{{"[UNK]", 100, 0, 101}, {"ok", 7929, 102, 104}},
		},
		{
			// The limit counts characters after normalization: 101 "É"
			// (202 bytes) become 101 "e", one character over.
			name: "101 accented characters",
			in:   strings.Repeat("É", 101),
			want: []tok{{"[UNK]", 100, 0, 202}},
		},
		{
			// Mixed scripts: German ß has no decomposition (kept), Greek
			// and Cyrillic are split into single-letter "##" pieces where
			// the vocabulary has no longer ones.
			name: "mixed scripts",
			in:   "Straße Ελληνικά русский",
			want: []tok{{"st", 2358, 0, 2}, {"##raße", 27807, 2, 7},
				{"ε", 1159, 8, 10}, {"##λ", 29727, 10, 12}, {"##λ", 29727, 12, 14}, {"##η", 24824, 14, 16},
				{"##ν", 16177, 16, 18}, {"##ι", 18199, 18, 20}, {"##κ", 29726, 20, 22}, {"##α", 14608, 22, 24},
				{"р", 1195, 25, 27}, {"##у", 29748, 27, 29}, {"##с", 29747, 29, 31}, {"##с", 29747, 31, 33},
				{"##к", 23925, 33, 35}, {"##ии", 15414, 35, 39}},
		},
		{
			// NFD splits a Hangul syllable into jamo; the first piece holds
			// the whole syllable, the others are empty at its end.
			name: "Hangul",
			in:   "한",
			want: []tok{{"ᄒ", 1469, 0, 3}, {"##ᅡ", 30006, 3, 3}, {"##ᆫ", 30021, 3, 3}},
		},
		{
			// Special tokens in the text are kept whole (the
			// tokenizer.json marks them as added tokens), even inside a
			// word; lower-case "[sep]" is ordinary text.
			name: "special tokens in text",
			in:   "hello [SEP] world[CLS]x [sep]",
			want: []tok{{"hello", 7592, 0, 5}, {"[SEP]", 102, 6, 11}, {"world", 2088, 12, 17}, {"[CLS]", 101, 17, 22},
				{"x", 1060, 22, 23}, {"[", 1031, 24, 25}, {"sep", 19802, 25, 28}, {"]", 1033, 28, 29}},
		},
		{
			name: "empty and blank",
			in:   " \t\n\u200B ",
			want: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tokens(tk, tc.in)); diff != "" {
				t.Errorf("Tokenize(%+q) mismatch (-want +got):\n%s", tc.in, diff)
			}
			if got := tk.Count(tc.in); got != len(tc.want) {
				t.Errorf("Count(%+q) = %d, want %d", tc.in, got, len(tc.want))
			}
			for _, w := range tc.want {
				if id, ok := tk.TokenID(w.Piece); !ok || id != w.ID {
					t.Errorf("TokenID(%q) = %d, %v; want %d", w.Piece, id, ok, w.ID)
				}
			}
		})
	}
}

func TestSpecialIDsAndVocab(t *testing.T) {
	tk := wordpiece.Default()
	want := wordpiece.SpecialIDs{CLS: 101, SEP: 102, Pad: 0, Unk: 100, Mask: 103}
	if got := tk.SpecialIDs(); got != want {
		t.Errorf("SpecialIDs() = %+v, want %+v", got, want)
	}
	if got := tk.VocabSize(); got != 30522 {
		t.Errorf("VocabSize() = %d, want 30522", got)
	}
	if got := tk.TokenText(2652); got != "playing" {
		t.Errorf("TokenText(2652) = %q, want playing", got)
	}
	if got := tk.TokenText(-1) + tk.TokenText(30522); got != "" {
		t.Errorf("TokenText out of range = %q, want empty", got)
	}
	if tk != wordpiece.Default() {
		t.Error("Default() built a second tokenizer")
	}
}

func TestEncode(t *testing.T) {
	tk := wordpiece.Default()
	cases := []struct {
		in        string
		maxLen    int
		want      []int32
		truncated bool
	}{
		// [CLS] the quick brown fox jumps over the lazy dog [SEP]
		{"the quick brown fox jumps over the lazy dog", 0, []int32{101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 102}, false},
		// 512 is far above: nothing cut.
		{"the quick brown fox", 512, []int32{101, 1996, 4248, 2829, 4419, 102}, false},
		// Exactly fits: 4 tokens + 2 specials = 6.
		{"the quick brown fox", 6, []int32{101, 1996, 4248, 2829, 4419, 102}, false},
		// One short: the last token goes, [SEP] stays.
		{"the quick brown fox", 5, []int32{101, 1996, 4248, 2829, 102}, true},
		// Truncation cuts between the pieces of a word, as Hugging Face does.
		{"unaffable", 4, []int32{101, 14477, 20961, 102}, true},
		// Only room for the specials.
		{"the quick", 2, []int32{101, 102}, true},
		{"the quick", 1, []int32{101, 102}, true},
		{"", 8, []int32{101, 102}, false},
		{"  \u200B ", 2, []int32{101, 102}, false},
	}
	for _, tc := range cases {
		e := tk.Encode(tc.in, tc.maxLen)
		if !slices.Equal(e.IDs, tc.want) || e.Truncated != tc.truncated {
			t.Errorf("Encode(%q, %d) = %v truncated=%v, want %v truncated=%v", tc.in, tc.maxLen, e.IDs, e.Truncated, tc.want, tc.truncated)
		}
		n := len(tc.want)
		if !slices.Equal(e.Mask, ones(n)) || !slices.Equal(e.TypeIDs, make([]int32, n)) {
			t.Errorf("Encode(%q, %d): mask %v, type IDs %v", tc.in, tc.maxLen, e.Mask, e.TypeIDs)
		}
	}
}

func ones(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// TestEncodeMatchesHuggingFace checks Encode and EncodeBatch against
// tokenizers' truncation and padding, recorded in hf_strings.jsonl.
func TestEncodeMatchesHuggingFace(t *testing.T) {
	tk := wordpiece.Default()
	seen := 0
	for _, s := range readHFStrings(t) {
		switch {
		case s.Encode != nil:
			seen++
			e := tk.Encode(*s.Encode, s.MaxLen)
			want := wordpiece.Encoding{
				IDs:     decodeInto[[]int32](t, s.IDs),
				TypeIDs: decodeInto[[]int32](t, s.TypeIDs),
				Mask:    decodeInto[[]int32](t, s.Mask),
			}
			e.Truncated = false
			if diff := cmp.Diff(want, e); diff != "" {
				t.Errorf("Encode(%q, %d) mismatch (-want +got):\n%s", *s.Encode, s.MaxLen, diff)
			}
		case s.Batch != nil:
			seen++
			ids := decodeInto[[][]int32](t, s.IDs)
			types := decodeInto[[][]int32](t, s.TypeIDs)
			mask := decodeInto[[][]int32](t, s.Mask)
			got := tk.EncodeBatch(s.Batch, s.MaxLen)
			if len(got) != len(ids) {
				t.Fatalf("EncodeBatch returned %d encodings, want %d", len(got), len(ids))
			}
			for i, e := range got {
				want := wordpiece.Encoding{IDs: ids[i], TypeIDs: types[i], Mask: mask[i]}
				if diff := cmp.Diff(want, e); diff != "" {
					t.Errorf("EncodeBatch text %d %q mismatch (-want +got):\n%s", i, s.Batch[i], diff)
				}
			}
		}
	}
	if seen < 6 {
		t.Fatalf("only %d encode cases in the golden file", seen)
	}
}

func TestEncodeBatchPadsToLongest(t *testing.T) {
	tk := wordpiece.Default()
	got := tk.EncodeBatch([]string{"hello", "the quick brown fox jumps", ""}, 5)
	want := []wordpiece.Encoding{
		{IDs: []int32{101, 7592, 102, 0, 0}, TypeIDs: []int32{0, 0, 0, 0, 0}, Mask: []int32{1, 1, 1, 0, 0}},
		{IDs: []int32{101, 1996, 4248, 2829, 102}, TypeIDs: []int32{0, 0, 0, 0, 0}, Mask: []int32{1, 1, 1, 1, 1}, Truncated: true},
		{IDs: []int32{101, 102, 0, 0, 0}, TypeIDs: []int32{0, 0, 0, 0, 0}, Mask: []int32{1, 1, 0, 0, 0}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EncodeBatch mismatch (-want +got):\n%s", diff)
	}
	if got := tk.EncodeBatch(nil, 512); len(got) != 0 {
		t.Errorf("EncodeBatch(nil) = %v, want empty", got)
	}
}

// TestConcurrentUse runs the shared tokenizer from many goroutines (run
// with -race).
func TestConcurrentUse(t *testing.T) {
	tk := wordpiece.Default()
	texts := []string{"Héllo wörld, 中文 [SEP] unaffable!", "the quick brown fox", strings.Repeat("é", 150), "한국어 👍"}
	want := make([][]wordpiece.Token, len(texts))
	for i, s := range texts {
		want[i] = tk.Tokenize(s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(texts)
				if got := tk.Tokenize(texts[k]); !slices.Equal(got, want[k]) {
					t.Errorf("Tokenize(%q) = %v, want %v", texts[k], got, want[k])
					return
				}
				if n := tk.Count(texts[k]); n != len(want[k]) {
					t.Errorf("Count(%q) = %d, want %d", texts[k], n, len(want[k]))
					return
				}
				tk.Encode(texts[k], 8)
			}
		})
	}
	wg.Wait()
}

func TestAppendTokensKeepsDst(t *testing.T) {
	tk := wordpiece.Default()
	dst := tk.Tokenize("hello")
	dst = tk.AppendTokens(dst, "world")
	want := []wordpiece.Token{{ID: 7592, Start: 0, End: 5}, {ID: 2088, Start: 0, End: 5}}
	if !slices.Equal(dst, want) {
		t.Errorf("AppendTokens = %v, want %v", dst, want)
	}
}

// bgeTokenizerJSON returns a tokenizer.json in the layout of
// BAAI/bge-small-en-v1.5's, over the given vocabulary lines.
func bgeTokenizerJSON(t *testing.T, vocab []string, normalizer map[string]any) []byte {
	t.Helper()
	ids := map[string]int{}
	for i, v := range vocab {
		ids[v] = i
	}
	special := func(s string) map[string]any {
		return map[string]any{"id": ids[s], "content": s, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
	}
	var added []any
	for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		if _, ok := ids[s]; ok {
			added = append(added, special(s))
		}
	}
	doc := map[string]any{
		"version":       "1.0",
		"truncation":    map[string]any{"direction": "Right", "max_length": 512, "strategy": "LongestFirst", "stride": 0},
		"padding":       nil,
		"added_tokens":  added,
		"normalizer":    normalizer,
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{
			"type": "TemplateProcessing",
			"single": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "[CLS]", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": "[SEP]", "type_id": 0}},
			},
			"special_tokens": map[string]any{
				"[CLS]": map[string]any{"id": "[CLS]", "ids": []int{ids["[CLS]"]}, "tokens": []string{"[CLS]"}},
				"[SEP]": map[string]any{"id": "[SEP]", "ids": []int{ids["[SEP]"]}, "tokens": []string{"[SEP]"}},
			},
		},
		"decoder": map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": ids},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func embeddedVocab(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("bert-base-uncased-vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

var bertNormalizer = map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true}

func TestLoadTokenizerJSONMatchesDefault(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), bgeTokenizerJSON(t, embeddedVocab(t), bertNormalizer), 0o644); err != nil {
		t.Fatal(err)
	}
	// A vocab.txt that disagrees proves tokenizer.json wins.
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[UNK]\n[CLS]\n[SEP]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tk, err := wordpiece.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	def := wordpiece.Default()
	for _, s := range []string{"Héllo, wörld! 中文 [SEP] unaffable 👍", strings.Repeat("ab", 60)} {
		if got, want := tk.Tokenize(s), def.Tokenize(s); !slices.Equal(got, want) {
			t.Errorf("Load(tokenizer.json).Tokenize(%q) = %v, want %v", s, got, want)
		}
	}
	if got, want := tk.SpecialIDs(), def.SpecialIDs(); got != want {
		t.Errorf("SpecialIDs() = %+v, want %+v", got, want)
	}
}

func TestLoadVocabTxt(t *testing.T) {
	dir := t.TempDir()
	vocab := "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhe\n##llo\nhé\nHé\n##LLO\n,\n"
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(vocab), 0o644); err != nil {
		t.Fatal(err)
	}
	tk, err := wordpiece.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Uncased defaults: "Héllo" -> "hello" -> he ##llo.
	if got, want := ids(tk.Tokenize("Héllo, [MASK]")), []int32{5, 6, 10, 4}; !slices.Equal(got, want) {
		t.Errorf("uncased Tokenize = %v, want %v", got, want)
	}
	if got := tk.SpecialIDs(); got != (wordpiece.SpecialIDs{CLS: 2, SEP: 3, Pad: 0, Unk: 1, Mask: 4}) {
		t.Errorf("SpecialIDs() = %+v", got)
	}

	// tokenizer_config.json turns lower-casing (and with it accent
	// stripping) off: "Héllo" -> Hé ##llo, "HéLLO" -> Hé ##LLO.
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"do_lower_case": false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tk, err = wordpiece.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(tk.Tokenize("Héllo HéLLO")), []int32{8, 6, 8, 9}; !slices.Equal(got, want) {
		t.Errorf("cased Tokenize = %v, want %v", got, want)
	}
}

func ids(toks []wordpiece.Token) []int32 {
	out := make([]int32, len(toks))
	for i, t := range toks {
		out[i] = t.ID
	}
	return out
}

func TestFromTokenizerJSONOptions(t *testing.T) {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Héllo", "hello", "hé", "##llo", "x"}
	cases := []struct {
		name       string
		normalizer map[string]any
		in         string
		want       []int32
	}{
		// Cased: nothing changes but the split.
		{"cased", map[string]any{"type": "BertNormalizer", "lowercase": false}, "Héllo", []int32{5}},
		// Lower-case without stripping accents: "héllo" -> hé ##llo.
		{"lowercase only", map[string]any{"type": "BertNormalizer", "lowercase": true, "strip_accents": false}, "Héllo", []int32{7, 8}},
		// strip_accents null follows lowercase.
		{"uncased", map[string]any{"type": "BertNormalizer", "lowercase": true, "strip_accents": nil}, "Héllo", []int32{6}},
		// Without clean_text, U+200B stays (not in the vocabulary: [UNK]).
		{"no clean text", map[string]any{"type": "BertNormalizer", "clean_text": false, "lowercase": true}, "x\u200B", []int32{1}},
		{"clean text", map[string]any{"type": "BertNormalizer", "clean_text": true, "lowercase": true}, "x\u200B", []int32{9}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := wordpiece.FromTokenizerJSON(strings.NewReader(string(bgeTokenizerJSON(t, vocab, tc.normalizer))))
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(tk.Tokenize(tc.in)); !slices.Equal(got, tc.want) {
				t.Errorf("Tokenize(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestFromVocabOptions(t *testing.T) {
	vocab := "[UNK]\n[CLS]\n[SEP]\nab\n##cd\n"
	opts := wordpiece.DefaultOptions()
	opts.MaxInputCharsPerWord = 3
	tk, err := wordpiece.FromVocab(strings.NewReader(vocab), opts)
	if err != nil {
		t.Fatal(err)
	}
	// "abcd" has 4 characters, over the limit of 3: [UNK]. "ab" is fine.
	if got, want := ids(tk.Tokenize("abcd ab")), []int32{0, 3}; !slices.Equal(got, want) {
		t.Errorf("Tokenize = %v, want %v", got, want)
	}
	// No [PAD] in the vocabulary: padding uses ID 0; no [MASK]: -1.
	if got := tk.SpecialIDs(); got.Pad != 0 || got.Mask != -1 {
		t.Errorf("SpecialIDs() = %+v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	vocab := embeddedVocab(t)
	cases := []struct {
		name  string
		files map[string]string
		want  string // in the error message
	}{
		{"empty directory", nil, "has neither tokenizer.json nor vocab.txt"},
		{"bad JSON", map[string]string{"tokenizer.json": "{"}, "tokenizer.json"},
		{"BPE model", map[string]string{"tokenizer.json": `{"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "BertPreTokenizer"}}`}, "tokenizer.json"},
		{"unknown normalizer", map[string]string{"tokenizer.json": strings.Replace(string(bgeTokenizerJSON(t, vocab, bertNormalizer)), `"BertNormalizer"`, `"NFKC"`, 1)}, "tokenizer.json"},
		{"unk missing", map[string]string{"vocab.txt": "[CLS]\n[SEP]\nhello\n"}, "vocab.txt"},
		{"empty vocab", map[string]string{"vocab.txt": ""}, "vocab.txt"},
		{"bad tokenizer_config", map[string]string{"vocab.txt": "[UNK]\n[CLS]\n[SEP]\n", "tokenizer_config.json": "nope"}, "tokenizer_config.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := wordpiece.Load(dir)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if code := ragd.ErrorCode(err); code != ragd.EInvalid {
				t.Errorf("code %q, want %q (%v)", code, ragd.EInvalid, err)
			}
			if msg := ragd.ErrorMessage(err); !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not name %q", msg, tc.want)
			}
		})
	}
}

func TestFromTokenizerJSONErrors(t *testing.T) {
	vocab := embeddedVocab(t)
	good := string(bgeTokenizerJSON(t, vocab, bertNormalizer))
	for name, doc := range map[string]string{
		"not JSON":          "[",
		"WordLevel":         strings.Replace(good, `"type":"WordPiece","unk_token"`, `"type":"WordLevel","unk_token"`, 1),
		"no pre-tokenizer":  strings.Replace(good, `"pre_tokenizer":{"type":"BertPreTokenizer"}`, `"pre_tokenizer":null`, 1),
		"other template":    strings.Replace(good, `{"SpecialToken":{"id":"[CLS]","type_id":0}},`, ``, 1),
		"unknown unk token": strings.Replace(good, `"unk_token":"[UNK]"`, `"unk_token":"<unk>"`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if doc == good {
				t.Fatal("the replacement did not apply")
			}
			_, err := wordpiece.FromTokenizerJSON(strings.NewReader(doc))
			var e *ragd.Error
			if !errors.As(err, &e) || e.Code != ragd.EInvalid {
				t.Errorf("err = %v, want an EInvalid *ragd.Error", err)
			}
		})
	}
}
