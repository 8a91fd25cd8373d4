package bge

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ragd/ragd"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Pooling strategies.
const (
	PoolingCLS  = "cls"  // the [CLS] token's final hidden state (BGE)
	PoolingMean = "mean" // the mean of all tokens' final hidden states
)

// BGEQueryInstruction is the instruction BGE's English v1.5 models expect
// in front of retrieval queries (never in front of documents).
const BGEQueryInstruction = "Represent this sentence for searching relevant passages: "

// bertConfig is the part of a Hugging Face config.json the encoder uses.
type bertConfig struct {
	ModelType             string   `json:"model_type"`
	Architectures         []string `json:"architectures"`
	NameOrPath            string   `json:"_name_or_path"`
	VocabSize             int      `json:"vocab_size"`
	HiddenSize            int      `json:"hidden_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	IntermediateSize      int      `json:"intermediate_size"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	TypeVocabSize         int      `json:"type_vocab_size"`
	LayerNormEps          float64  `json:"layer_norm_eps"`
	HiddenAct             string   `json:"hidden_act"`
	PositionEmbeddingType string   `json:"position_embedding_type"`
}

// modelError is the error for a problem with one file of the model
// directory: the message names the file relative to the directory, the
// cause keeps the details (full path, parser error) for the log.
func modelError(code, file string, err error, format string, args ...any) error {
	msg := fmt.Sprintf("model file %s: %s", file, fmt.Sprintf(format, args...))
	return &modelErr{code: code, msg: msg, err: err}
}

// modelErr becomes a *ragd.Error at the package boundary (see Load).
type modelErr struct {
	code string
	msg  string
	err  error
}

func (e *modelErr) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *modelErr) Unwrap() error { return e.err }

// readJSON decodes dir/name into v. A missing file is reported with
// fs.ErrNotExist in the chain so callers can treat it as optional.
func readJSON(dir, name string, v any) error {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return modelError(ragd.EInvalid, name, err, "not valid JSON")
	}
	return nil
}

func loadConfig(dir string) (*bertConfig, error) {
	var c bertConfig
	if err := readJSON(dir, "config.json", &c); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, modelError(ragd.ENotFound, "config.json", err, "missing")
		}
		var me *modelErr
		if errors.As(err, &me) {
			return nil, err
		}
		return nil, modelError(ragd.EInvalid, "config.json", err, "cannot be read")
	}
	bad := func(format string, args ...any) error {
		return modelError(ragd.EInvalid, "config.json", nil, format, args...)
	}
	if c.ModelType != "bert" {
		isBert := c.ModelType == "" && len(c.Architectures) > 0
		for _, a := range c.Architectures {
			isBert = isBert && strings.HasPrefix(a, "Bert")
		}
		if !isBert {
			return nil, bad("model_type %q is not a BERT model (want \"bert\")", c.ModelType)
		}
	}
	if c.TypeVocabSize == 0 {
		c.TypeVocabSize = 2
	}
	if c.LayerNormEps == 0 {
		c.LayerNormEps = 1e-12
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "gelu"
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads}, {"intermediate_size", c.IntermediateSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings}, {"type_vocab_size", c.TypeVocabSize},
	} {
		if f.v <= 0 || f.v > 1<<20 {
			return nil, bad("%s is %d, want a positive size", f.name, f.v)
		}
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return nil, bad("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.HiddenAct != "gelu" {
		return nil, bad("hidden_act %q is not supported (want \"gelu\")", c.HiddenAct)
	}
	if c.PositionEmbeddingType != "" && c.PositionEmbeddingType != "absolute" {
		return nil, bad("position_embedding_type %q is not supported (want \"absolute\")", c.PositionEmbeddingType)
	}
	if c.LayerNormEps < 0 || c.LayerNormEps > 1 {
		return nil, bad("layer_norm_eps %g is out of range", c.LayerNormEps)
	}
	return &c, nil
}

// stConfig is what the sentence-transformers files say: pooling, maximum
// sequence length and the query prompt.
type stConfig struct {
	pooling      string // "" when no pooling config exists
	poolingFile  string
	maxSeqLength int
	queryPrompt  string
	hasPrompt    bool
}

func loadSentenceTransformers(dir string) (*stConfig, error) {
	st := &stConfig{}
	var modules []struct {
		Path string `json:"path"`
		Type string `json:"type"`
	}
	err := readJSON(dir, "modules.json", &modules)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		for _, m := range modules {
			if !strings.HasSuffix(m.Type, ".Pooling") {
				continue
			}
			p := filepath.ToSlash(filepath.Clean(filepath.FromSlash(m.Path)))
			if p == "." || strings.HasPrefix(p, "../") || p == ".." || filepath.IsAbs(m.Path) {
				return nil, modelError(ragd.EInvalid, "modules.json", nil, "pooling module path %q is outside the model directory", m.Path)
			}
			st.poolingFile = p + "/config.json"
		}
	}
	if st.poolingFile != "" {
		var pc map[string]any
		if err := readJSON(dir, st.poolingFile, &pc); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, modelError(ragd.ENotFound, st.poolingFile, err, "missing (named by modules.json)")
			}
			return nil, err
		}
		var modes []string
		for k, v := range pc {
			if on, _ := v.(bool); on && strings.HasPrefix(k, "pooling_mode_") {
				modes = append(modes, strings.TrimPrefix(k, "pooling_mode_"))
			}
		}
		if len(modes) != 1 {
			return nil, modelError(ragd.EInvalid, st.poolingFile, nil, "want exactly one pooling mode, found %v", modes)
		}
		switch modes[0] {
		case "cls_token":
			st.pooling = PoolingCLS
		case "mean_tokens", "mean_sqrt_len_tokens":
			// mean_sqrt_len differs from mean by a positive factor, which
			// L2 normalisation removes.
			st.pooling = PoolingMean
		default:
			return nil, modelError(ragd.EInvalid, st.poolingFile, nil, "pooling mode %q is not supported (want cls_token or mean_tokens)", modes[0])
		}
	}
	var sb struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	if err := readJSON(dir, "sentence_bert_config.json", &sb); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	st.maxSeqLength = sb.MaxSeqLength
	var cst struct {
		Prompts map[string]string `json:"prompts"`
	}
	if err := readJSON(dir, "config_sentence_transformers.json", &cst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	st.queryPrompt, st.hasPrompt = cst.Prompts["query"]
	return st, nil
}

var bgeEnglishV15 = regexp.MustCompile(`(?i)bge-(small|base|large)-en-v1\.5`)

// identify returns the name the model goes by, for defaults: opts.Name,
// else a known model named in the directory path (the Hugging Face cache
// keeps the repository in it), else config.json's _name_or_path.
func identify(dir, name string, c *bertConfig) string {
	if name != "" {
		return name
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	for _, s := range []string{abs, c.NameOrPath} {
		if m := bgeEnglishV15.FindString(s); m != "" {
			return strings.ToLower(m)
		}
	}
	if strings.Contains(strings.ToLower(abs), "bge") {
		return filepath.Base(abs)
	}
	return c.NameOrPath
}
