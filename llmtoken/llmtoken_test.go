package llmtoken_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pkoukk/tiktoken-go"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/llmtoken"
)

// The Llama 3 tokenizer files come from a Go module that ships them as test
// data (github.com/daulet/tokenizers), so tests can use the real
// vocabulary without ragd redistributing it.
const tokenizersModule = "github.com/daulet/tokenizers@v1.24.0"

var llama3Once = sync.OnceValues(func() (string, error) {
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "daulet", "tokenizers@v1.24.0", "test", "data")
		if _, err := os.Stat(filepath.Join(dir, "Meta-Llama-3-8B-Instruct.model")); err == nil {
			return dir, nil
		}
	}
	out, err := exec.Command("go", "mod", "download", "-json", tokenizersModule).Output()
	if err != nil {
		return "", err
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", err
	}
	return filepath.Join(mod.Dir, "test", "data"), nil
})

// llama3File returns the path of a Llama 3 tokenizer file in the module
// cache, downloading the module through the Go module proxy if needed.
func llama3File(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := llama3Once()
	if err != nil {
		tb.Fatalf("the Llama 3 tokenizer is needed from Go module %s (run `go mod download -json %s`): %v", tokenizersModule, tokenizersModule, err)
	}
	return filepath.Join(dir, name)
}

var (
	exactOnce = sync.OnceValues(func() (*llmtoken.Counter, error) {
		dir, err := llama3Once()
		if err != nil {
			return nil, err
		}
		return llmtoken.LoadFile(filepath.Join(dir, "Meta-Llama-3-8B-Instruct.model"))
	})
	boundOnce = sync.OnceValues(llmtoken.NewBound)
)

func mustExact(tb testing.TB) *llmtoken.Counter {
	tb.Helper()
	llama3File(tb, "Meta-Llama-3-8B-Instruct.model")
	c, err := exactOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func mustBound(tb testing.TB) *llmtoken.Counter {
	tb.Helper()
	c, err := boundOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// reference is tiktoken-go (measured exact against Llama 3) loaded with the
// same ranks and Llama 3's pattern.
func reference(tb testing.TB) *tiktoken.Tiktoken {
	tb.Helper()
	data, err := os.ReadFile(llama3File(tb, "Meta-Llama-3-8B-Instruct.model"))
	if err != nil {
		tb.Fatal(err)
	}
	ranks := map[string]int{}
	for _, line := range strings.Split(string(data), "\n") {
		tok, rank, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		b, err := decodeB64(tok)
		if err != nil {
			tb.Fatal(err)
		}
		ranks[string(b)] = atoi(tb, rank)
	}
	const pat = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	special := map[string]int{"<|begin_of_text|>": 128000, "<|eot_id|>": 128009}
	bpe, err := tiktoken.NewCoreBPE(ranks, special, pat)
	if err != nil {
		tb.Fatal(err)
	}
	return tiktoken.NewTiktoken(bpe, &tiktoken.Encoding{Name: "llama3", PatStr: pat, MergeableRanks: ranks, SpecialTokens: special}, map[string]any{})
}

// samples is varied text: English, code, CJK, emoji, long numbers, odd
// whitespace, contractions, and mixed scripts.
var samples = []string{
	"",
	"Hello, world!",
	"The quick brown fox jumps over the lazy dog. It's, they're, we've, I'm, you'll, he'd.",
	"IT'S THEY'RE WE'VE I'M YOU'LL HE'D 'SUPER' 'tis",
	"func (c *Counter) Count(s string) int {\n\tn := 0\n\tfor i := range s {\n\t\tn++\n\t}\n\treturn n\n}\n",
	"SELECT id, name FROM users WHERE created_at > NOW() - INTERVAL '7 days';",
	"def f(x):\n    return [i**2 for i in range(x) if i % 3 == 0]\n\n\n\nprint(f(10))",
	"東京は日本の首都です。大阪は二番目に大きな都市圏です。",
	"北京是中华人民共和国的首都，也是全国的政治、文化中心。",
	"한국어 텍스트도 토큰화됩니다. 서울은 대한민국의 수도입니다.",
	"Привет, мир! Это проверка токенизатора на кириллице.",
	"مرحبا بالعالم! هذا اختبار.",
	"😀😃😄😁🤖👩‍👩‍👧‍👦🏳️‍🌈 emoji 🎉🎉🎉 flags 🇯🇵🇺🇸",
	"3141592653589793238462643383279502884197169399375105820974944592307816406286",
	"1,234,567.89 and 0.000000001 and 1e-10 and 12345678901234567890",
	"   leading spaces and trailing   ",
	"tabs\tand\t\ttabs\n\n\nnewlines\r\nwindows\r\n\r\nend",
	"non\u00a0breaking\u2003em\u3000ideographic spaces\u2028line\u2029para",
	"!!!??? ... --- *** ### @@@ $$$ %%% ^^^ &&& ((( )))",
	" ?! .\n,\n\n;",
	"x  y   z    \n  \n\t a",
	"a'b'c 'll 'LL 'Ll ''s",
	"https://example.com/path?query=1&b=2#frag user@example.com",
	"Ünïcödé àccénts ñ ç ø å æ ß ẞ ﬁ ﬂ",
	"१२३ ٤٥٦ ⅷ ½ ² ① 𝟙𝟚𝟛",
	strings.Repeat("a", 3000),
	strings.Repeat("ab ", 500),
	strings.Repeat("東", 700),
	strings.Repeat("🙂", 300),
	strings.Repeat("9", 1000),
	strings.Repeat(" ", 400) + "x",
	strings.Repeat("\n", 300),
	"<|eot_id|> <|begin_of_text|> special strings as text",
}

func TestCountMatchesReference(t *testing.T) {
	c := mustExact(t)
	ref := reference(t)
	texts := append([]string{}, samples...)
	long, err := os.ReadFile(llama3File(t, "long_text.txt"))
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, string(long))
	for _, s := range texts {
		got, want := c.Count(s), len(ref.EncodeOrdinary(s))
		if got != want {
			name := s
			if len(name) > 60 {
				name = name[:60] + "…"
			}
			t.Errorf("Count(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestBoundNeverUnderCounts(t *testing.T) {
	exact := mustExact(t)
	bound := mustBound(t)
	if bound.Exact() {
		t.Error("bound counter says it is exact")
	}
	if !exact.Exact() {
		t.Error("Llama 3 counter says it is not exact")
	}
	texts := append([]string{}, samples...)
	texts = append(texts, evalTexts(t)...)
	var sumExact, sumBound int
	for _, s := range texts {
		e, b := exact.Count(s), bound.Count(s)
		sumExact += e
		sumBound += b
		if b < e {
			t.Errorf("bound %d < exact %d for %q", b, e, s[:min(len(s), 80)])
		}
	}
	t.Logf("bound over-counts by %.1f%% over %d texts (%d exact tokens)", 100*float64(sumBound-sumExact)/float64(sumExact), len(texts), sumExact)
}

// evalTexts reads some of the evaluation documents (Cloudflare docs pages
// and filings) for more varied real text.
func evalTexts(tb testing.TB) []string {
	tb.Helper()
	root := filepath.Join("..", "..", "shared", "eval")
	if _, err := os.Stat(root); err != nil {
		tb.Fatalf("evaluation data missing at %s (the repository expects ../shared/eval beside it): %v", root, err)
	}
	var out []string
	limit := 60
	if testing.Short() {
		limit = 15
	}
	filepath.WalkDir(filepath.Join(root, "cfdocs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || len(out) >= limit {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && len(b) < 200<<10 {
			out = append(out, string(b))
		}
		return nil
	})
	if len(out) == 0 {
		tb.Fatalf("no documents under %s", filepath.Join(root, "cfdocs"))
	}
	return out
}

func TestLoadTokenizerJSONMatchesModel(t *testing.T) {
	fromJSON, err := llmtoken.LoadFile(llama3File(t, "Meta-Llama-3-8B-Instruct.json"))
	if err != nil {
		t.Fatal(err)
	}
	exact := mustExact(t)
	for _, s := range samples {
		if got, want := fromJSON.Count(s), exact.Count(s); got != want {
			t.Errorf("tokenizer.json Count(%q) = %d, tokenizer.model says %d", s[:min(len(s), 40)], got, want)
		}
	}
}

func TestLoadFileRejects(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"garbage.model": "not base64 at all\n",
		"small.model":   "YQ== 0\nYg== 1\n",
		"bert.json":     `{"model": {"type": "WordPiece", "vocab": {"a": 0}}}`,
	}
	for name, content := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := llmtoken.LoadFile(p)
		if got := ragd.ErrorCode(err); got != ragd.EInvalid {
			t.Errorf("LoadFile(%s) error code = %q (%v), want %q", name, got, err, ragd.EInvalid)
		}
	}
	if _, err := llmtoken.LoadFile(filepath.Join(dir, "missing")); ragd.ErrorCode(err) != ragd.EInvalid {
		t.Errorf("LoadFile(missing) = %v, want an invalid error", err)
	}
}

func TestFindLlama3(t *testing.T) {
	hub := t.TempDir()
	if got := llmtoken.FindLlama3(hub); got != "" {
		t.Errorf("FindLlama3(empty cache) = %q, want \"\"", got)
	}
	snap := filepath.Join(hub, "models--meta-llama--Meta-Llama-3-8B-Instruct", "snapshots", "abc123", "original")
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(snap, "tokenizer.model")
	if err := os.WriteFile(want, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := llmtoken.FindLlama3(hub); got != want {
		t.Errorf("FindLlama3 = %q, want %q", got, want)
	}
}

func TestCountChat(t *testing.T) {
	c := mustExact(t)
	ref := reference(t)
	msgs := []ragd.Message{
		{Role: ragd.RoleSystem, Content: "You answer from the sources. Cite them as [n]."},
		{Role: ragd.RoleUser, Content: "  What is the capital of France?\n"},
	}
	// The rendered prompt, special tokens counted one each (7 of them plus
	// the system turn's 3 and the open assistant turn's 2).
	rendered := "system" + "\n\n" + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou answer from the sources. Cite them as [n]." +
		"|user" + "\n\n" + "What is the capital of France?" + "|assistant" + "\n\n"
	want := 1 + 3 + 3 + 2 // begin_of_text; system header pair + eot; user header pair + eot; assistant header pair
	for _, seg := range strings.Split(rendered, "|") {
		for _, part := range splitHeader(seg) {
			want += len(ref.EncodeOrdinary(part))
		}
	}
	if got := c.CountChat(msgs); got != want {
		t.Errorf("CountChat = %d, want %d", got, want)
	}
	// No system message: the template still emits a system turn.
	if got, min := c.CountChat(msgs[1:]), c.CountChat(msgs)-c.Count(msgs[0].Content); got < min-1 || got > min+1 {
		t.Errorf("CountChat without system = %d, want about %d", got, min)
	}
}

// splitHeader splits "role\n\ncontent" into the role and "\n\ncontent",
// the two texts that special tokens separate.
func splitHeader(s string) []string {
	role, content, _ := strings.Cut(s, "\n\n")
	return []string{role, "\n\n" + content}
}

func TestContextWindows(t *testing.T) {
	if n, ok := llmtoken.ContextWindow("@cf/meta/llama-3.1-8b-instruct"); !ok || n != 7968 {
		t.Errorf("ContextWindow(llama-3.1-8b-instruct) = %d, %v; want 7968, true", n, ok)
	}
	w := llmtoken.Windows{"llama3.1:8b": 16384}
	if got := w.Lookup("llama3.1:8b", 4096); got != 16384 {
		t.Errorf("configured window = %d, want 16384", got)
	}
	if got := w.Lookup("@cf/meta/llama-3.1-8b-instruct", 4096); got != 7968 {
		t.Errorf("known window = %d, want 7968", got)
	}
	if got := w.Lookup("unknown", 4096); got != 4096 {
		t.Errorf("fallback window = %d, want 4096", got)
	}
}

func BenchmarkCount(b *testing.B) {
	c := mustExact(b)
	data, err := os.ReadFile(llama3File(b, "long_text.txt"))
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	b.SetBytes(int64(len(s)))
	b.ResetTimer()
	for b.Loop() {
		c.Count(s)
	}
}

func BenchmarkReferenceCount(b *testing.B) {
	ref := reference(b)
	data, err := os.ReadFile(llama3File(b, "long_text.txt"))
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	b.SetBytes(int64(len(s)))
	b.ResetTimer()
	for b.Loop() {
		ref.EncodeOrdinary(s)
	}
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

func atoi(tb testing.TB, s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// FuzzCount checks the hand-written pre-tokenizer and BPE against the
// reference on arbitrary text, and the bound against the exact count.
func FuzzCount(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	c := mustExact(f)
	bound := mustBound(f)
	ref := reference(f)
	f.Fuzz(func(t *testing.T, s string) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		got, want := c.Count(s), len(ref.EncodeOrdinary(s))
		if got != want {
			t.Fatalf("Count(%q) = %d, reference %d", s, got, want)
		}
		if b := bound.Count(s); b < got {
			t.Fatalf("bound %d < exact %d for %q", b, got, s)
		}
	})
}
