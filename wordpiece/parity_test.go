package wordpiece_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/ragd/ragd/wordpiece"
)

// The golden files in testdata were recorded from Hugging Face tokenizers
// 0.23.2 (its Rust code, through the Node.js binding) with the embedded
// vocabulary and the tokenizer.json settings of BAAI/bge-small-en-v1.5; see
// testdata/hfref.

// hfString is one line of hf_strings.jsonl: a text with its tokens, an
// Encode case (encode, max_len, ids, type_ids, mask) or an EncodeBatch
// case (batch, max_len, and one ids, type_ids and mask list per text).
type hfString struct {
	Text    string          `json:"text"`
	IDs     json.RawMessage `json:"ids"`
	Offsets [][2]int        `json:"offsets"`

	Encode  *string         `json:"encode"`
	Batch   []string        `json:"batch"`
	MaxLen  int             `json:"max_len"`
	TypeIDs json.RawMessage `json:"type_ids"`
	Mask    json.RawMessage `json:"mask"`
}

func decodeInto[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func readHFStrings(t *testing.T) []hfString {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "hf_strings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []hfString
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s hfString
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMatchesHuggingFaceStrings(t *testing.T) {
	tk := wordpiece.Default()
	n := 0
	for _, s := range readHFStrings(t) {
		if s.Encode != nil || s.Batch != nil {
			continue
		}
		n++
		want := decodeInto[[]int32](t, s.IDs)
		toks := tk.Tokenize(s.Text)
		ids := make([]int32, len(toks))
		for i, tok := range toks {
			ids[i] = tok.ID
		}
		if !slices.Equal(ids, want) {
			t.Errorf("Tokenize(%+q) IDs:\n got %v\nwant %v", s.Text, pieces(tk, ids), pieces(tk, want))
			continue
		}
		if got := tk.Count(s.Text); got != len(want) {
			t.Errorf("Count(%+q) = %d, want %d", s.Text, got, len(want))
		}
		for i, tok := range toks {
			// Hugging Face gives every part of a character that NFD expands
			// (a Hangul syllable's jamo) the whole character's offsets, where
			// Token puts the character in the first part's piece; and it
			// aligns combining marks that NFD reorders differently. Offsets
			// are compared everywhere else.
			lo, hi := min(tok.Start, s.Offsets[i][0]), max(tok.Start, s.Offsets[i][0])
			if tok.Start != s.Offsets[i][0] && !expandsOrReorders(s.Text[lo:hi]) {
				t.Errorf("Tokenize(%+q) token %d %q starts at %d, want %d", s.Text, i, tk.TokenText(tok.ID), tok.Start, s.Offsets[i][0])
			}
		}
	}
	t.Logf("%d strings", n)
}

// expandsOrReorders reports whether s holds a Hangul syllable or a
// combining mark.
func expandsOrReorders(s string) bool {
	for _, r := range s {
		if r >= 0xAC00 && r <= 0xD7A3 {
			return true
		}
		if norm.NFD.PropertiesString(string(r)).CCC() != 0 {
			return true
		}
	}
	return false
}

func pieces(tk *wordpiece.Tokenizer, ids []int32) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(tk.TokenText(id))
		b.WriteString("/" + strconv.Itoa(int(id)))
	}
	return b.String()
}

func idsHash(ids []int32) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(id)))
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])[:16]
}

// evalDir is the shared evaluation data, read in place.
func evalDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "eval")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("evaluation data not found at %s (it lives beside the repository, in shared/eval): %v", dir, err)
	}
	return dir
}

// TestMatchesHuggingFaceEvalCorpora tokenizes every document of three
// evaluation corpora (Cloudflare docs pages, SciFact abstracts, SQuAD
// paragraphs) and compares the count and a hash of the IDs with what
// Hugging Face produced for the same text.
func TestMatchesHuggingFaceEvalCorpora(t *testing.T) {
	dir := evalDir(t)
	want := map[string][2]string{} // source/doc -> count, hash
	data, err := os.ReadFile(filepath.Join("testdata", "hf_eval.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		want[f[0]+"/"+f[1]] = [2]string{f[2], f[3]}
	}
	docs := map[string]string{}
	cf := filepath.Join(dir, "cfdocs", "src")
	err = filepath.WalkDir(cf, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".mdx") {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(cf, path)
		docs["cfdocs/"+filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{"scifact", "squad"} {
		b, err := os.ReadFile(filepath.Join(dir, set, "corpus.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var d struct {
				ID    string `json:"_id"`
				Title string `json:"title"`
				Text  string `json:"text"`
			}
			if err := json.Unmarshal([]byte(line), &d); err != nil {
				t.Fatal(err)
			}
			docs[set+"/"+d.ID] = d.Title + "\n" + d.Text
		}
	}
	if len(docs) != len(want) {
		t.Errorf("found %d documents, the golden file has %d", len(docs), len(want))
	}
	tk := wordpiece.Default()
	bad := 0
	for name, w := range want {
		text, ok := docs[name]
		if !ok {
			t.Errorf("%s: missing from the evaluation data", name)
			continue
		}
		toks := tk.Tokenize(text)
		ids := make([]int32, len(toks))
		for i, tok := range toks {
			ids[i] = tok.ID
		}
		if got := fmt.Sprint(len(ids)); got != w[0] || idsHash(ids) != w[1] {
			bad++
			if bad <= 10 {
				t.Errorf("%s: %s tokens (hash %s), want %s (hash %s)", name, got, idsHash(ids), w[0], w[1])
			}
		}
		if n := tk.Count(text); n != len(ids) {
			t.Errorf("%s: Count = %d, len(Tokenize) = %d", name, n, len(ids))
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d documents differ", bad, len(want))
	}
}
