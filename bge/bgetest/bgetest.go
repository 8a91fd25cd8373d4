// Package bgetest writes tiny random BERT models in Hugging Face layout, for
// tests that need a real model directory without downloading one: they load
// through exactly the code path of a real BGE model.
package bgetest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"

	"github.com/ragd/ragd/bge/internal/safetensors"
	"github.com/ragd/ragd/wordpiece"
)

// TinyConfig shapes a tiny model. Zero fields take the defaults noted.
type TinyConfig struct {
	Hidden       int // hidden size (32)
	Layers       int // encoder layers (2)
	Heads        int // attention heads (4)
	Intermediate int // feed-forward size (4×Hidden)
	MaxPosition  int // position embeddings, the longest input (64)
	// VocabWords is how many leading entries of the bert-base-uncased
	// vocabulary (specials, single characters, then the commonest words)
	// to keep (5000); every "##x" single-character continuation is added,
	// so any lower-case ASCII word tokenizes without [UNK].
	VocabWords int
	// DType of the stored weights: "F32" (default), "F16" or "BF16".
	DType string
	// Pooling written to 1_Pooling/config.json: "cls" (default) or "mean";
	// "none" writes no sentence-transformers files at all.
	Pooling string
	// Tokenizer files to write: "vocab.txt" (default), "tokenizer.json" or
	// "both".
	Tokenizer string
	// Prefix stores tensors under "bert." names, as BertForMaskedLM and
	// similar checkpoints do.
	Prefix bool
	// Name is config.json's _name_or_path.
	Name string
	// Scale multiplies the random weights' spread (1).
	Scale float64
}

func (c *TinyConfig) fill() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Hidden, 32)
	def(&c.Layers, 2)
	def(&c.Heads, 4)
	def(&c.Intermediate, 4*c.Hidden)
	def(&c.MaxPosition, 64)
	def(&c.VocabWords, 5000)
	if c.DType == "" {
		c.DType = "F32"
	}
	if c.Pooling == "" {
		c.Pooling = "cls"
	}
	if c.Tokenizer == "" {
		c.Tokenizer = "vocab.txt"
	}
	if c.Scale == 0 {
		c.Scale = 1
	}
}

// Vocabulary returns the tiny model's vocabulary, in ID order.
func Vocabulary(cfg TinyConfig) []string {
	cfg.fill()
	t := wordpiece.Default()
	n := min(cfg.VocabWords, t.VocabSize())
	var vocab []string
	seen := map[string]bool{}
	for id := 0; id < t.VocabSize(); id++ {
		tok := t.TokenText(int32(id))
		if id < n || (strings.HasPrefix(tok, "##") && len([]rune(tok)) == 3) {
			if !seen[tok] {
				seen[tok] = true
				vocab = append(vocab, tok)
			}
		}
	}
	return vocab
}

// WriteTinyModel writes a random BERT model with the given shape into dir
// (created if needed): config.json, model.safetensors, the tokenizer files
// and, unless cfg.Pooling is "none", modules.json, 1_Pooling/config.json
// and sentence_bert_config.json. The same seed gives the same model.
func WriteTinyModel(dir string, cfg TinyConfig, seed int64) error {
	cfg.fill()
	if cfg.Hidden%cfg.Heads != 0 {
		return fmt.Errorf("bgetest: hidden %d is not a multiple of heads %d", cfg.Hidden, cfg.Heads)
	}
	dtype := safetensors.DType(cfg.DType)
	if dtype != safetensors.F32 && dtype != safetensors.F16 && dtype != safetensors.BF16 {
		return fmt.Errorf("bgetest: dtype %q (want F32, F16 or BF16)", cfg.DType)
	}
	if err := os.MkdirAll(filepath.Join(dir, "1_Pooling"), 0o755); err != nil {
		return err
	}
	vocab := Vocabulary(cfg)
	H, I := cfg.Hidden, cfg.Intermediate
	config := map[string]any{
		"_name_or_path":                cfg.Name,
		"architectures":                []string{"BertModel"},
		"attention_probs_dropout_prob": 0.1,
		"classifier_dropout":           nil,
		"hidden_act":                   "gelu",
		"hidden_dropout_prob":          0.1,
		"hidden_size":                  H,
		"initializer_range":            0.02,
		"intermediate_size":            I,
		"layer_norm_eps":               1e-12,
		"max_position_embeddings":      cfg.MaxPosition,
		"model_type":                   "bert",
		"num_attention_heads":          cfg.Heads,
		"num_hidden_layers":            cfg.Layers,
		"pad_token_id":                 0,
		"position_embedding_type":      "absolute",
		"torch_dtype":                  map[string]string{"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[cfg.DType],
		"transformers_version":         "4.44.2",
		"type_vocab_size":              2,
		"use_cache":                    true,
		"vocab_size":                   len(vocab),
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), config); err != nil {
		return err
	}

	r := rand.New(rand.NewSource(seed))
	prefix := ""
	if cfg.Prefix {
		prefix = "bert."
	}
	var tensors []safetensors.Tensor
	add := func(name string, std, mean float64, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]byte, n*dtype.Size())
		for i := 0; i < n; i++ {
			v := float32(mean + std*cfg.Scale*r.NormFloat64())
			switch dtype {
			case safetensors.F32:
				binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
			case safetensors.F16:
				binary.LittleEndian.PutUint16(data[2*i:], safetensors.Float32ToHalf(v))
			case safetensors.BF16:
				binary.LittleEndian.PutUint16(data[2*i:], safetensors.Float32ToBF16(v))
			}
		}
		tensors = append(tensors, safetensors.Tensor{Name: prefix + name, DType: dtype, Shape: shape, Data: data})
	}
	ln := func(name string) {
		add(name+".weight", 0.1, 1, H)
		add(name+".bias", 0.1, 0, H)
	}
	lin := func(name string, out, in int) {
		add(name+".weight", 1/math.Sqrt(float64(in)), 0, out, in)
		add(name+".bias", 0.1, 0, out)
	}
	add("embeddings.word_embeddings.weight", 0.5, 0, len(vocab), H)
	add("embeddings.position_embeddings.weight", 0.2, 0, cfg.MaxPosition, H)
	add("embeddings.token_type_embeddings.weight", 0.2, 0, 2, H)
	ln("embeddings.LayerNorm")
	for l := 0; l < cfg.Layers; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		lin(p+"attention.self.query", H, H)
		lin(p+"attention.self.key", H, H)
		lin(p+"attention.self.value", H, H)
		lin(p+"attention.output.dense", H, H)
		ln(p + "attention.output.LayerNorm")
		lin(p+"intermediate.dense", I, H)
		lin(p+"output.dense", H, I)
		ln(p + "output.LayerNorm")
	}
	lin("pooler.dense", H, H)
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), buf.Bytes(), 0o644); err != nil {
		return err
	}

	if cfg.Tokenizer == "vocab.txt" || cfg.Tokenizer == "both" {
		if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, "tokenizer_config.json"), map[string]any{
			"do_lower_case": true, "model_max_length": cfg.MaxPosition, "tokenizer_class": "BertTokenizer",
			"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]",
		}); err != nil {
			return err
		}
	}
	if cfg.Tokenizer == "tokenizer.json" || cfg.Tokenizer == "both" {
		if err := writeJSON(filepath.Join(dir, "tokenizer.json"), tokenizerJSON(vocab)); err != nil {
			return err
		}
	}
	if cfg.Tokenizer != "vocab.txt" && cfg.Tokenizer != "tokenizer.json" && cfg.Tokenizer != "both" {
		return fmt.Errorf("bgetest: tokenizer %q (want vocab.txt, tokenizer.json or both)", cfg.Tokenizer)
	}

	if cfg.Pooling == "none" {
		return nil
	}
	if cfg.Pooling != "cls" && cfg.Pooling != "mean" {
		return fmt.Errorf("bgetest: pooling %q (want cls, mean or none)", cfg.Pooling)
	}
	modules := []map[string]any{
		{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
		{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
		{"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
	}
	if err := writeJSON(filepath.Join(dir, "modules.json"), modules); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "1_Pooling", "config.json"), map[string]any{
		"word_embedding_dimension":          H,
		"pooling_mode_cls_token":            cfg.Pooling == "cls",
		"pooling_mode_mean_tokens":          cfg.Pooling == "mean",
		"pooling_mode_max_tokens":           false,
		"pooling_mode_mean_sqrt_len_tokens": false,
		"pooling_mode_weightedmean_tokens":  false,
		"pooling_mode_lasttoken":            false,
		"include_prompt":                    true,
	}); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "sentence_bert_config.json"), map[string]any{
		"max_seq_length": cfg.MaxPosition, "do_lower_case": true,
	})
}

// tokenizerJSON is the tokenizer.json that Hugging Face's BertTokenizerFast
// saves for an uncased vocabulary.
func tokenizerJSON(vocab []string) map[string]any {
	ids := make(map[string]int, len(vocab))
	for i, t := range vocab {
		ids[t] = i
	}
	var added []map[string]any
	for _, t := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		added = append(added, map[string]any{
			"id": ids[t], "content": t, "single_word": false, "lstrip": false, "rstrip": false,
			"normalized": false, "special": true,
		})
	}
	special := func(t string) map[string]any {
		return map[string]any{"id": t, "ids": []int{ids[t]}, "tokens": []string{t}}
	}
	return map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": added,
		"normalizer": map[string]any{
			"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
			"strip_accents": nil, "lowercase": true,
		},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{
			"type": "TemplateProcessing",
			"single": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "[CLS]", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": "[SEP]", "type_id": 0}},
			},
			"pair": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "[CLS]", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": "[SEP]", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "B", "type_id": 1}},
				map[string]any{"SpecialToken": map[string]any{"id": "[SEP]", "type_id": 1}},
			},
			"special_tokens": map[string]any{"[CLS]": special("[CLS]"), "[SEP]": special("[SEP]")},
		},
		"decoder": map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{
			"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": ids,
		},
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
