// Package bge runs BERT-family sentence-embedding models, BAAI's BGE first
// among them, in pure Go: no cgo, no Python, no server.
//
// [Load] reads a model directory in Hugging Face layout (config.json,
// model.safetensors memory-mapped read-only, tokenizer.json or vocab.txt,
// and the sentence-transformers pooling config), packs the weights once for
// the GEMM kernels (AVX-512 or AVX2+FMA in Go assembly, chosen at run time,
// with a pure-Go fallback) and starts one worker per core. [Model] then
// embeds documents and queries: WordPiece tokens, BERT's encoder, [CLS] or
// mean pooling, L2 normalisation. Documents are sorted by length and packed
// into batches without padding.
package bge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/bge/internal/kernel"
)

// Options configure [Load]. The zero value suits BGE models.
type Options struct {
	// Name identifies the model (e.g. "bge-small-en-v1.5") when choosing
	// defaults the directory does not state: the query instruction and,
	// without a pooling config, the pooling. When empty, Load looks for a
	// known model name in the directory path (as the Hugging Face cache
	// keeps it) and in config.json.
	Name string
	// QueryInstruction is put in front of every query (never documents).
	// When empty, the model's default is used: the prompt named "query" in
	// config_sentence_transformers.json if any, else BGEQueryInstruction
	// for the English v1.5 BGE models, else none.
	QueryInstruction string
	// NoQueryInstruction disables the query instruction altogether.
	NoQueryInstruction bool
	// MaxLength is the most tokens per text, [CLS] and [SEP] included;
	// longer texts are truncated. 0 means the model's maximum
	// (sentence_bert_config.json's max_seq_length, else
	// max_position_embeddings).
	MaxLength int
	// Threads is the number of cores to use; 0 means GOMAXPROCS.
	Threads int
	// BatchTokens bounds the tokens encoded in one forward pass (and so the
	// activation memory); 0 means 8192.
	BatchTokens int
	// Pooling overrides the pooling: PoolingCLS or PoolingMean. When empty
	// it comes from the sentence-transformers config (modules.json and its
	// Pooling module), else CLS for BGE models and mean for others.
	Pooling string
	// Kernel forces a kernel implementation: "avx512", "avx2" or "generic"
	// (pure Go). Empty or "auto" picks the best this CPU supports.
	Kernel string
}

// Model is a loaded embedding model. It is safe for concurrent use;
// concurrent calls share the worker pool, taking turns operation by
// operation.
type Model struct {
	dir       string
	name      string
	cfg       *bertConfig
	w         *weights
	impl      *kernel.Impl
	tok       tokenizer
	pooling   string
	maxLen    int
	batchToks int
	instr     string

	pool    *workerPool
	scratch []workerScratch
	acts    sync.Pool

	life   sync.RWMutex // held for reading while embedding; Close takes it
	closed bool
}

// tokenizer turns text into token ids: [CLS], the WordPiece tokens, [SEP],
// at most maxLen ids in all.
type tokenizer interface {
	encode(text string, maxLen int) []int32
	vocabSize() int
}

// Load loads the model in dir. Errors are *ragd.Error: ENotFound when a
// required file is missing, EInvalid when a file is malformed or describes
// a model this package cannot run; the message names the file.
func Load(dir string, opts Options) (*Model, error) {
	m, err := load(dir, opts)
	if err != nil {
		var me *modelErr
		if errors.As(err, &me) {
			return nil, &ragd.Error{Code: me.code, Message: me.msg, Err: me.err}
		}
		return nil, ragd.WrapError(ragd.EInvalid, err, "cannot load the embedding model")
	}
	return m, nil
}

func load(dir string, opts Options) (*Model, error) {
	im, err := kernel.New(opts.Kernel)
	if err != nil {
		return nil, err
	}
	c, err := loadConfig(dir)
	if err != nil {
		return nil, err
	}
	st, err := loadSentenceTransformers(dir)
	if err != nil {
		return nil, err
	}
	m := &Model{dir: dir, cfg: c, impl: im}
	m.name = identify(dir, opts.Name, c)
	isBGE := bgeEnglishV15.MatchString(m.name)

	switch {
	case opts.Pooling == PoolingCLS || opts.Pooling == PoolingMean:
		m.pooling = opts.Pooling
	case opts.Pooling != "":
		return nil, fmt.Errorf("pooling %q: want %q or %q", opts.Pooling, PoolingCLS, PoolingMean)
	case st.pooling != "":
		m.pooling = st.pooling
	case isBGE || containsFold(m.name, "bge"):
		m.pooling = PoolingCLS
	default:
		m.pooling = PoolingMean
	}

	m.maxLen = c.MaxPositionEmbeddings
	if st.maxSeqLength > 0 {
		m.maxLen = min(m.maxLen, st.maxSeqLength)
	}
	if opts.MaxLength < 0 {
		return nil, fmt.Errorf("max length %d is negative", opts.MaxLength)
	}
	if opts.MaxLength > 0 {
		if opts.MaxLength < 2 {
			return nil, fmt.Errorf("max length %d leaves no room for [CLS] and [SEP]", opts.MaxLength)
		}
		m.maxLen = min(m.maxLen, opts.MaxLength)
	}
	m.batchToks = opts.BatchTokens
	if m.batchToks <= 0 {
		m.batchToks = 8192
	}
	m.batchToks = max(m.batchToks, m.maxLen)

	switch {
	case opts.NoQueryInstruction:
	case opts.QueryInstruction != "":
		m.instr = opts.QueryInstruction
	case st.hasPrompt:
		m.instr = st.queryPrompt
	case isBGE:
		m.instr = BGEQueryInstruction
	}

	if m.tok, err = loadTokenizer(dir); err != nil {
		return nil, err
	}
	if m.tok.vocabSize() > c.VocabSize {
		return nil, modelError("invalid", "config.json", nil, "vocab_size %d is smaller than the tokenizer's vocabulary of %d", c.VocabSize, m.tok.vocabSize())
	}
	if m.w, err = loadWeights(dir, c, im); err != nil {
		return nil, err
	}

	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	m.pool = newWorkerPool(threads)
	m.scratch = make([]workerScratch, threads)
	m.acts.New = func() any { return new(acts) }
	return m, nil
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// Name returns the name the model was identified by (Options.Name, or the
// known model found in its path or config; may be empty).
func (m *Model) Name() string { return m.name }

// Dir returns the directory the model was loaded from.
func (m *Model) Dir() string { return m.dir }

// Dimension returns the length of the embedding vectors.
func (m *Model) Dimension() int { return m.cfg.HiddenSize }

// MaxLength returns the most tokens per text, [CLS] and [SEP] included.
func (m *Model) MaxLength() int { return m.maxLen }

// Pooling returns PoolingCLS or PoolingMean.
func (m *Model) Pooling() string { return m.pooling }

// Kernel returns the name of the kernel implementation in use.
func (m *Model) Kernel() string { return m.impl.Name() }

// QueryInstruction returns the text put in front of queries.
func (m *Model) QueryInstruction() string { return m.instr }

// EmbedDocuments embeds texts as documents (no instruction). Vectors are
// L2-normalised, one per text, in order. Texts longer than MaxLength tokens
// are truncated. It honours ctx between batches and layers; errors are
// *ragd.Error (EUnavailable once closed or when ctx ends).
func (m *Model) EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error) {
	seqs := make([][]int32, len(texts))
	for i, t := range texts {
		seqs[i] = m.tok.encode(t, m.maxLen)
	}
	return m.embedIDs(ctx, seqs)
}

// EmbedQuery embeds a search query, with the query instruction in front.
// The vector is L2-normalised. Errors are as for EmbedDocuments.
func (m *Model) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	v, err := m.embedIDs(ctx, [][]int32{m.tok.encode(m.instr+text, m.maxLen)})
	if err != nil {
		return nil, err
	}
	return v[0], nil
}

// embedIDs embeds token sequences: longest first, packed into batches of
// at most batchToks tokens.
func (m *Model) embedIDs(ctx context.Context, seqs [][]int32) ([][]float32, error) {
	m.life.RLock()
	defer m.life.RUnlock()
	if m.closed {
		return nil, ragd.Errorf(ragd.EUnavailable, "the embedding model is closed")
	}
	out := make([][]float32, len(seqs))
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(seqs[b]), len(seqs[a])) })
	batch := make([][]int32, 0, 64)
	res := make([][]float32, 0, 64)
	for start := 0; start < len(order); {
		if err := ctx.Err(); err != nil {
			return nil, ragd.WrapError(ragd.EUnavailable, err, "embedding cancelled")
		}
		batch, res = batch[:0], res[:0]
		toks := 0
		end := start
		for end < len(order) && (end == start || toks+len(seqs[order[end]]) <= m.batchToks) {
			toks += len(seqs[order[end]])
			batch = append(batch, seqs[order[end]])
			res = append(res, nil)
			end++
		}
		if err := m.forward(ctx, batch, res); err != nil {
			if ctx.Err() != nil {
				return nil, ragd.WrapError(ragd.EUnavailable, err, "embedding cancelled")
			}
			return nil, ragd.WrapError(ragd.EInternal, err, "embedding failed")
		}
		for i, v := range res {
			out[order[start+i]] = v
		}
		start = end
	}
	return out, nil
}

// Close stops the workers and unmaps the weights. It waits for embedding
// calls in progress; later calls fail with EUnavailable.
func (m *Model) Close() error {
	m.life.Lock()
	defer m.life.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.pool.close()
	return m.w.file.Close()
}
