package wordpiece

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ragd/ragd"
)

// bertBaseUncasedVocab is the bert-base-uncased vocabulary, which BGE's
// English models (bge-small, -base and -large-en-v1.5) use unchanged. See
// bert-base-uncased-vocab.NOTICE for its origin and license.
//
//go:embed bert-base-uncased-vocab.txt
var bertBaseUncasedVocab string

// defaultTokenizer parses the embedded vocabulary once.
var defaultTokenizer = sync.OnceValue(func() *Tokenizer {
	t, err := FromVocab(strings.NewReader(bertBaseUncasedVocab), DefaultOptions())
	if err != nil {
		panic("wordpiece: embedded vocabulary: " + err.Error())
	}
	return t
})

// Default returns the tokenizer of BGE's English models (bge-small, -base
// and -large-en-v1.5): the bert-base-uncased vocabulary, embedded in the
// binary, with the uncased BERT options. It is built once and shared; it
// is safe for concurrent use.
func Default() *Tokenizer { return defaultTokenizer() }

// Options configures a tokenizer built from a vocabulary. The booleans are
// BertNormalizer's options; empty strings and a zero MaxInputCharsPerWord
// take BERT's defaults.
type Options struct {
	// CleanText removes NUL, U+FFFD and control characters and turns white
	// space into spaces.
	CleanText bool
	// HandleChineseChars makes each CJK ideograph a word by itself.
	HandleChineseChars bool
	// StripAccents decomposes characters (NFD) and drops non-spacing marks.
	StripAccents bool
	// Lowercase lower-cases the text.
	Lowercase bool

	// UnkToken is the token for a word that cannot be split ("[UNK]").
	UnkToken string
	// ContinuingSubwordPrefix marks pieces inside a word ("##").
	ContinuingSubwordPrefix string
	// MaxInputCharsPerWord is the longest word, in characters, that is
	// split into pieces; a longer one is one unknown token (100).
	MaxInputCharsPerWord int
	// CLSToken, SEPToken, PadToken and MaskToken name the special tokens
	// ("[CLS]", "[SEP]", "[PAD]", "[MASK]").
	CLSToken, SEPToken, PadToken, MaskToken string
}

// DefaultOptions returns the options of uncased BERT models: every
// normalization step on, and the standard special tokens.
func DefaultOptions() Options {
	return Options{CleanText: true, HandleChineseChars: true, StripAccents: true, Lowercase: true}
}

func (o *Options) fillDefaults() {
	if o.UnkToken == "" {
		o.UnkToken = "[UNK]"
	}
	if o.ContinuingSubwordPrefix == "" {
		o.ContinuingSubwordPrefix = "##"
	}
	if o.MaxInputCharsPerWord <= 0 {
		o.MaxInputCharsPerWord = 100
	}
	if o.CLSToken == "" {
		o.CLSToken = "[CLS]"
	}
	if o.SEPToken == "" {
		o.SEPToken = "[SEP]"
	}
	if o.PadToken == "" {
		o.PadToken = "[PAD]"
	}
	if o.MaskToken == "" {
		o.MaskToken = "[MASK]"
	}
}

// FromVocab builds a tokenizer from a vocab.txt file: one token per line,
// the line number (from 0) being its ID. The special tokens found in the
// vocabulary are never split, as BertTokenizer does with them.
func FromVocab(r io.Reader, opts Options) (*Tokenizer, error) {
	vocab, err := readVocab(r)
	if err != nil {
		return nil, ragd.WrapError(ragd.EInvalid, err, "invalid vocab.txt")
	}
	t, err := newTokenizer(vocab, opts, nil)
	if err != nil {
		return nil, ragd.WrapError(ragd.EInvalid, err, "invalid vocab.txt")
	}
	return t, nil
}

// readVocab reads vocab.txt lines into a token -> ID map; a token that
// appears twice keeps its last ID, as BertTokenizer's load_vocab does.
func readVocab(r io.Reader) (map[string]int32, error) {
	vocab := make(map[string]int32, 32768)
	br := bufio.NewReader(r)
	var id int32
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			vocab[line] = id
			id++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read vocabulary: %w", err)
		}
	}
	if len(vocab) == 0 {
		return nil, errors.New("vocabulary is empty")
	}
	return vocab, nil
}

// newTokenizer builds a tokenizer from a token -> ID map. added lists the
// tokens matched literally in the input; when nil, the special tokens of
// opts that are in the vocabulary are.
func newTokenizer(vocab map[string]int32, opts Options, added []addedToken) (*Tokenizer, error) {
	opts.fillDefaults()
	size := 0
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("token %q has negative ID %d", tok, id)
		}
		size = max(size, int(id)+1)
	}
	if size > 1<<24 {
		return nil, fmt.Errorf("vocabulary IDs go up to %d, too many", size-1)
	}
	t := &Tokenizer{
		vocab:    make([]string, size),
		first:    make(map[string]int32, len(vocab)),
		cont:     make(map[string]int32, len(vocab)/4),
		maxChars: opts.MaxInputCharsPerWord,
		opts:     opts,
	}
	prefix := opts.ContinuingSubwordPrefix
	for tok, id := range vocab {
		t.vocab[id] = tok
		t.first[tok] = id
		t.maxFirst = max(t.maxFirst, len(tok))
		if rest, ok := strings.CutPrefix(tok, prefix); ok && rest != "" {
			t.cont[rest] = id
			t.maxCont = max(t.maxCont, len(rest))
		}
	}
	lookup := func(name, tok string, required bool) (int32, error) {
		id, ok := vocab[tok]
		if !ok {
			if required {
				return -1, fmt.Errorf("%s token %q is not in the vocabulary", name, tok)
			}
			return -1, nil
		}
		return id, nil
	}
	var err error
	if t.special.Unk, err = lookup("unknown", opts.UnkToken, true); err != nil {
		return nil, err
	}
	if t.special.CLS, err = lookup("CLS", opts.CLSToken, true); err != nil {
		return nil, err
	}
	if t.special.SEP, err = lookup("SEP", opts.SEPToken, true); err != nil {
		return nil, err
	}
	if t.special.Pad, err = lookup("padding", opts.PadToken, false); err != nil {
		return nil, err
	}
	if t.special.Pad < 0 {
		t.special.Pad = 0
	}
	if t.special.Mask, err = lookup("mask", opts.MaskToken, false); err != nil {
		return nil, err
	}
	if added == nil {
		for _, tok := range []string{opts.PadToken, opts.UnkToken, opts.CLSToken, opts.SEPToken, opts.MaskToken} {
			if id, ok := vocab[tok]; ok {
				added = append(added, addedToken{content: tok, id: id})
			}
		}
	}
	for _, a := range added {
		if a.content == "" {
			return nil, errors.New("an added token is empty")
		}
		if a.id < 0 || a.id >= 1<<24 {
			return nil, fmt.Errorf("added token %q has ID %d, out of range", a.content, a.id)
		}
		if int(a.id) >= len(t.vocab) {
			t.vocab = append(t.vocab, make([]string, int(a.id)+1-len(t.vocab))...)
		}
		if t.vocab[a.id] == "" {
			t.vocab[a.id] = a.content
		}
		if _, ok := t.first[a.content]; !ok {
			t.first[a.content] = a.id
		}
	}
	t.added = added
	t.initTables()
	return t, nil
}

// tokenizerJSON is the part of a Hugging Face tokenizer.json that a BERT
// WordPiece tokenizer uses.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID      int32  `json:"id"`
		Content string `json:"content"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          *bool  `json:"clean_text"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          *bool  `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	PostProcessor *struct {
		Type string `json:"type"`
		// BertProcessing
		CLS []any `json:"cls"`
		SEP []any `json:"sep"`
		// TemplateProcessing
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			Tokens []string `json:"tokens"`
		} `json:"special_tokens"`
	} `json:"post_processor"`
	Padding *struct {
		PadToken string `json:"pad_token"`
	} `json:"padding"`
	Model struct {
		Type                    string           `json:"type"`
		UnkToken                string           `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int              `json:"max_input_chars_per_word"`
		Vocab                   map[string]int32 `json:"vocab"`
	} `json:"model"`
}

// FromTokenizerJSON builds a tokenizer from a Hugging Face tokenizer.json
// whose model is WordPiece with the BertNormalizer and BertPreTokenizer,
// as BERT-family models (BGE among them) ship. It reads the normalizer's
// options, the vocabulary, the unknown token, the continuation prefix, the
// word length limit, the [CLS] and [SEP] tokens of the post-processor, the
// padding token, and the added tokens, which are matched literally in the
// input (their lstrip, rstrip and single_word flags, false for BERT's
// special tokens, are not applied).
func FromTokenizerJSON(r io.Reader) (*Tokenizer, error) {
	t, err := fromTokenizerJSON(r)
	if err != nil {
		return nil, ragd.WrapError(ragd.EInvalid, err, "invalid tokenizer.json")
	}
	return t, nil
}

func fromTokenizerJSON(r io.Reader) (*Tokenizer, error) {
	var tj tokenizerJSON
	if err := json.NewDecoder(r).Decode(&tj); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if tj.Model.Type != "WordPiece" {
		return nil, fmt.Errorf("model type %q is not supported (want WordPiece)", tj.Model.Type)
	}
	if len(tj.Model.Vocab) == 0 {
		return nil, errors.New("model has no vocabulary")
	}
	var opts Options
	if n := tj.Normalizer; n != nil {
		if n.Type != "BertNormalizer" {
			return nil, fmt.Errorf("normalizer type %q is not supported (want BertNormalizer)", n.Type)
		}
		// The defaults of tokenizers' BertNormalizer.
		opts.CleanText = n.CleanText == nil || *n.CleanText
		opts.HandleChineseChars = n.HandleChineseChars == nil || *n.HandleChineseChars
		opts.Lowercase = n.Lowercase == nil || *n.Lowercase
		opts.StripAccents = opts.Lowercase
		if n.StripAccents != nil {
			opts.StripAccents = *n.StripAccents
		}
	}
	if p := tj.PreTokenizer; p == nil || p.Type != "BertPreTokenizer" {
		typ := "none"
		if p != nil {
			typ = fmt.Sprintf("%q", p.Type)
		}
		return nil, fmt.Errorf("pre-tokenizer %s is not supported (want BertPreTokenizer)", typ)
	}
	opts.UnkToken = tj.Model.UnkToken
	if tj.Model.ContinuingSubwordPrefix != nil {
		if *tj.Model.ContinuingSubwordPrefix == "" {
			return nil, errors.New("model has an empty continuing_subword_prefix")
		}
		opts.ContinuingSubwordPrefix = *tj.Model.ContinuingSubwordPrefix
	}
	opts.MaxInputCharsPerWord = tj.Model.MaxInputCharsPerWord
	if pp := tj.PostProcessor; pp != nil {
		switch pp.Type {
		case "BertProcessing":
			if len(pp.CLS) != 2 || len(pp.SEP) != 2 {
				return nil, errors.New("BertProcessing post-processor without cls and sep")
			}
			opts.CLSToken, _ = pp.CLS[0].(string)
			opts.SEPToken, _ = pp.SEP[0].(string)
		case "TemplateProcessing":
			s := pp.Single
			if len(s) != 3 || s[0].SpecialToken == nil || s[1].Sequence == nil || s[2].SpecialToken == nil {
				return nil, errors.New("TemplateProcessing post-processor: single template is not [CLS] $A [SEP]")
			}
			opts.CLSToken, opts.SEPToken = s[0].SpecialToken.ID, s[2].SpecialToken.ID
			for _, name := range []*string{&opts.CLSToken, &opts.SEPToken} {
				if st, ok := pp.SpecialTokens[*name]; ok && len(st.Tokens) == 1 {
					*name = st.Tokens[0]
				}
			}
		default:
			return nil, fmt.Errorf("post-processor type %q is not supported", pp.Type)
		}
	}
	if tj.Padding != nil {
		opts.PadToken = tj.Padding.PadToken
	}
	added := make([]addedToken, 0, len(tj.AddedTokens))
	for _, a := range tj.AddedTokens {
		added = append(added, addedToken{content: a.Content, id: a.ID})
	}
	return newTokenizer(tj.Model.Vocab, opts, added)
}

// Load reads the tokenizer of a model directory in Hugging Face layout:
// tokenizer.json when there is one, else vocab.txt with the uncased BERT
// options, adjusted by tokenizer_config.json's do_lower_case,
// strip_accents and tokenize_chinese_chars when that file exists. Errors
// are ragd.EInvalid and name the file.
func Load(dir string) (*Tokenizer, error) {
	path := filepath.Join(dir, "tokenizer.json")
	f, err := os.Open(path)
	if err == nil {
		defer f.Close()
		t, err := fromTokenizerJSON(bufio.NewReader(f))
		if err != nil {
			return nil, ragd.WrapError(ragd.EInvalid, fmt.Errorf("%s: %w", path, err), "the tokenizer file %s is not usable", path)
		}
		return t, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, ragd.WrapError(ragd.EInvalid, err, "cannot read the tokenizer file %s", path)
	}
	opts := DefaultOptions()
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	if data, err := os.ReadFile(cfgPath); err == nil {
		var cfg struct {
			DoLowerCase          *bool `json:"do_lower_case"`
			StripAccents         *bool `json:"strip_accents"`
			TokenizeChineseChars *bool `json:"tokenize_chinese_chars"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return nil, ragd.WrapError(ragd.EInvalid, fmt.Errorf("%s: %w", cfgPath, err), "the tokenizer file %s is not usable", cfgPath)
		}
		if cfg.DoLowerCase != nil {
			opts.Lowercase = *cfg.DoLowerCase
			opts.StripAccents = opts.Lowercase
		}
		if cfg.StripAccents != nil {
			opts.StripAccents = *cfg.StripAccents
		}
		if cfg.TokenizeChineseChars != nil {
			opts.HandleChineseChars = *cfg.TokenizeChineseChars
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, ragd.WrapError(ragd.EInvalid, err, "cannot read the tokenizer file %s", cfgPath)
	}
	vpath := filepath.Join(dir, "vocab.txt")
	vf, err := os.Open(vpath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ragd.WrapError(ragd.EInvalid, err, "the model directory %s has neither tokenizer.json nor vocab.txt", dir)
		}
		return nil, ragd.WrapError(ragd.EInvalid, err, "cannot read the tokenizer file %s", vpath)
	}
	defer vf.Close()
	vocab, err := readVocab(vf)
	if err == nil {
		var t *Tokenizer
		if t, err = newTokenizer(vocab, opts, nil); err == nil {
			return t, nil
		}
	}
	return nil, ragd.WrapError(ragd.EInvalid, fmt.Errorf("%s: %w", vpath, err), "the tokenizer file %s is not usable", vpath)
}
