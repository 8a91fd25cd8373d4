package bgetest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ragd/ragd/wordpiece"
)

func TestWriteTinyModel(t *testing.T) {
	for _, tok := range []string{"vocab.txt", "tokenizer.json", "both"} {
		dir := t.TempDir()
		if err := WriteTinyModel(dir, TinyConfig{Tokenizer: tok}, 1); err != nil {
			t.Fatal(err)
		}
		tk, err := wordpiece.Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", tok, err)
		}
		enc := tk.Encode("The quick brown fox jumps over the lazy dog, zyxwvut!", 0)
		unk := tk.SpecialIDs().Unk
		for _, id := range enc.IDs {
			if id == unk {
				t.Errorf("%s: ordinary English text has [UNK] tokens: %v", tok, enc.IDs)
			}
		}
		if len(enc.IDs) < 12 {
			t.Errorf("%s: %d tokens", tok, len(enc.IDs))
		}
	}
	// Same seed, same bytes; another seed, other weights.
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for i, d := range []string{a, b, c} {
		if err := WriteTinyModel(d, TinyConfig{DType: "BF16"}, int64(1+i/2)); err != nil {
			t.Fatal(err)
		}
	}
	read := func(d string) []byte {
		x, err := os.ReadFile(filepath.Join(d, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	if !bytes.Equal(read(a), read(b)) || bytes.Equal(read(a), read(c)) {
		t.Errorf("weights do not follow the seed")
	}
	if err := WriteTinyModel(t.TempDir(), TinyConfig{DType: "F8"}, 1); err == nil {
		t.Errorf("bad dtype accepted")
	}
}
