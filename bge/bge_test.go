package bge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/bge/bgetest"
	"github.com/ragd/ragd/bge/internal/kernel"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/retrieve"
	"github.com/ragd/ragd/wordpiece"
)

var (
	_ ingest.Embedder   = (*Model)(nil)
	_ retrieve.Embedder = (*Model)(nil)
)

// texts of mixed lengths: empty, short, long enough to be truncated at the
// tiny model's 64 positions, accents, CJK, punctuation.
var testTexts = []string{
	"",
	"hello",
	"The quick brown fox jumps over the lazy dog.",
	"Café déjà vu: naïve résumé, 東京 and 北京!",
	strings.Repeat("retrieval augmented generation works on chunks of text ", 12),
	"a b c d e f g h i j k l m n o p",
	"What is the capital of France?",
}

func writeModel(t testing.TB, cfg bgetest.TinyConfig, seed int64) string {
	t.Helper()
	dir := t.TempDir()
	if err := bgetest.WriteTinyModel(dir, cfg, seed); err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadModel(t testing.TB, dir string, opts Options) *Model {
	t.Helper()
	m, err := Load(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func maxDiff(a []float32, b []float64) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-b[i]))
	}
	return d
}

// TestMatchesReference checks the embeddings of every kernel path, dtype
// and pooling against the float64 reference, for a padded (mixed-length)
// batch and for each text alone.
func TestMatchesReference(t *testing.T) {
	for _, dtype := range []string{"F32", "F16", "BF16"} {
		for _, pooling := range []string{PoolingCLS, PoolingMean} {
			cfg := bgetest.TinyConfig{DType: dtype, Pooling: pooling}
			dir := writeModel(t, cfg, 7)
			ref := loadRef(t, dir)
			tok, err := wordpiece.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := make([][]float64, len(testTexts))
			for i, text := range testTexts {
				want[i] = ref.embed(tok.Encode(text, 64).IDs, pooling)
			}
			for _, kn := range kernel.Available() {
				t.Run(fmt.Sprintf("%s/%s/%s", dtype, pooling, kn), func(t *testing.T) {
					m := loadModel(t, dir, Options{Kernel: kn, Threads: 2})
					if m.Kernel() != kn || m.Pooling() != pooling || m.Dimension() != 32 || m.MaxLength() != 64 {
						t.Fatalf("kernel %s pooling %s dim %d maxlen %d", m.Kernel(), m.Pooling(), m.Dimension(), m.MaxLength())
					}
					got, err := m.EmbedDocuments(context.Background(), testTexts)
					if err != nil {
						t.Fatal(err)
					}
					for i := range testTexts {
						if d := maxDiff(got[i], want[i]); d > 1e-4 {
							t.Errorf("batch text %d: max diff %g from the reference", i, d)
						}
						alone, err := m.EmbedDocuments(context.Background(), testTexts[i:i+1])
						if err != nil {
							t.Fatal(err)
						}
						if d := maxDiff(alone[0], want[i]); d > 1e-4 {
							t.Errorf("text %d alone: max diff %g from the reference", i, d)
						}
					}
				})
			}
		}
	}
}

func TestBatchingAndQuery(t *testing.T) {
	dir := writeModel(t, bgetest.TinyConfig{Name: "BAAI/bge-small-en-v1.5"}, 3)
	// Tiny token budget: every text is its own forward pass.
	small := loadModel(t, dir, Options{BatchTokens: 1})
	big := loadModel(t, dir, Options{Threads: 1})
	ctx := context.Background()
	a, err := small.EmbedDocuments(ctx, testTexts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := big.EmbedDocuments(ctx, testTexts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		var d float64
		var norm float64
		for j := range a[i] {
			d = math.Max(d, math.Abs(float64(a[i][j]-b[i][j])))
			norm += float64(a[i][j]) * float64(a[i][j])
		}
		if d > 1e-5 {
			t.Errorf("text %d: batched and alone differ by %g", i, d)
		}
		if math.Abs(norm-1) > 1e-5 {
			t.Errorf("text %d: norm² %v", i, norm)
		}
	}
	if small.QueryInstruction() != BGEQueryInstruction {
		t.Errorf("instruction = %q", small.QueryInstruction())
	}
	q, err := small.EmbedQuery(ctx, "what is a fox?")
	if err != nil {
		t.Fatal(err)
	}
	d, err := small.EmbedDocuments(ctx, []string{BGEQueryInstruction + "what is a fox?", "what is a fox?"})
	if err != nil {
		t.Fatal(err)
	}
	if maxDiff(q, f64(d[0])) > 1e-6 || maxDiff(q, f64(d[1])) < 1e-3 {
		t.Errorf("query embedding does not carry the instruction")
	}
	none := loadModel(t, dir, Options{NoQueryInstruction: true})
	q2, _ := none.EmbedQuery(ctx, "what is a fox?")
	if maxDiff(q2, f64(d[1])) > 1e-6 {
		t.Errorf("NoQueryInstruction: query differs from the bare text")
	}
	custom := loadModel(t, dir, Options{QueryInstruction: "query: "})
	if custom.QueryInstruction() != "query: " {
		t.Errorf("custom instruction = %q", custom.QueryInstruction())
	}
	if out, err := small.EmbedDocuments(ctx, nil); err != nil || len(out) != 0 {
		t.Errorf("no texts: %v, %v", out, err)
	}
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestDefaults(t *testing.T) {
	// No sentence-transformers files: pooling from the name.
	bgeDir := filepath.Join(t.TempDir(), "models--BAAI--bge-base-en-v1.5", "snapshots", "abc")
	if err := bgetest.WriteTinyModel(bgeDir, bgetest.TinyConfig{Pooling: "none", Prefix: true, Tokenizer: "tokenizer.json"}, 1); err != nil {
		t.Fatal(err)
	}
	m := loadModel(t, bgeDir, Options{})
	if m.Pooling() != PoolingCLS || m.Name() != "bge-base-en-v1.5" || m.QueryInstruction() != BGEQueryInstruction {
		t.Errorf("bge without pooling config: pooling %s name %q instruction %q", m.Pooling(), m.Name(), m.QueryInstruction())
	}
	other := writeModel(t, bgetest.TinyConfig{Pooling: "none", Name: "sentence-transformers/all-MiniLM-L6-v2"}, 1)
	m = loadModel(t, other, Options{})
	if m.Pooling() != PoolingMean || m.QueryInstruction() != "" {
		t.Errorf("other model: pooling %s instruction %q", m.Pooling(), m.QueryInstruction())
	}
	m = loadModel(t, other, Options{Pooling: PoolingCLS, MaxLength: 16})
	if m.Pooling() != PoolingCLS || m.MaxLength() != 16 {
		t.Errorf("overrides: pooling %s maxlen %d", m.Pooling(), m.MaxLength())
	}
	// A truncated text embeds like its first MaxLength tokens.
	v, err := m.EmbedDocuments(context.Background(), []string{strings.Repeat("word ", 100)})
	if err != nil || len(v[0]) != 32 {
		t.Fatalf("long text: %v", err)
	}
}

func TestModelLifecycle(t *testing.T) {
	dir := writeModel(t, bgetest.TinyConfig{}, 1)
	m, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.EmbedDocuments(ctx, testTexts); !errors.Is(err, context.Canceled) || ragd.ErrorCode(err) != ragd.EUnavailable {
		t.Errorf("cancelled: err = %v", err)
	}
	// Concurrent use (run with -race).
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := m.EmbedDocuments(context.Background(), testTexts)
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := m.EmbedQuery(context.Background(), "concurrent query")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := m.EmbedQuery(context.Background(), "x"); ragd.ErrorCode(err) != ragd.EUnavailable {
		t.Errorf("after Close: err = %v", err)
	}
}

func TestRegistry(t *testing.T) {
	dims := map[string]int{"bge-small-en-v1.5": 384, "bge-base-en-v1.5": 768, "bge-large-en-v1.5": 1024}
	for name, dim := range dims {
		m, ok := LookupModel(name)
		if !ok || m.Dimension != dim || m.Repo != "BAAI/"+name || m.QueryInstruction != BGEQueryInstruction {
			t.Errorf("LookupModel(%s) = %+v, %v", name, m, ok)
		}
		var req, tok []string
		for _, f := range m.Files {
			if f.Required {
				req = append(req, f.Path)
			}
			if f.Tokenizer {
				tok = append(tok, f.Path)
			}
		}
		if strings.Join(req, ",") != "config.json,model.safetensors" || strings.Join(tok, ",") != "tokenizer.json,vocab.txt" {
			t.Errorf("%s: required files %v, tokenizer files %v", name, req, tok)
		}
	}
	if _, ok := LookupModel("BAAI/BGE-Small-EN-v1.5"); !ok {
		t.Errorf("repository form not found")
	}
	if _, ok := LookupModel("gpt2"); ok {
		t.Errorf("unknown model found")
	}
	if KnownModels()[0].Name != "bge-small-en-v1.5" {
		t.Errorf("default model is not first")
	}
}
