package bge

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestGoldenTransformers compares the encoder with Hugging Face
// transformers on the tiny model that testdata/make_golden.py builds and
// records. It runs when testdata/golden.json has been recorded (which
// needs PyTorch and transformers).
func TestGoldenTransformers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("testdata/golden.json not recorded yet: run testdata/make_golden.py where transformers is installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		ModelDir  string `json:"model_dir"`
		MaxLength int    `json:"max_length"`
		Cases     []struct {
			Text string    `json:"text"`
			IDs  []int32   `json:"ids"`
			CLS  []float64 `json:"cls"`
			Mean []float64 `json:"mean"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", g.ModelDir)
	for _, pooling := range []string{PoolingCLS, PoolingMean} {
		m := loadModel(t, dir, Options{Pooling: pooling, MaxLength: g.MaxLength})
		texts := make([]string, len(g.Cases))
		for i, c := range g.Cases {
			texts[i] = c.Text
			if ids := m.tok.encode(c.Text, m.MaxLength()); !slices.Equal(ids, c.IDs) {
				t.Errorf("text %d: ids %v, transformers %v", i, ids, c.IDs)
			}
		}
		got, err := m.EmbedDocuments(context.Background(), texts)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range g.Cases {
			want := c.CLS
			if pooling == PoolingMean {
				want = c.Mean
			}
			if d := maxDiff(got[i], want); d > 1e-4 {
				t.Errorf("%s text %d: max diff %g from transformers", pooling, i, d)
			}
		}
	}
}
