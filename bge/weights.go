package bge

import (
	"errors"
	"fmt"
	"github.com/ragd/ragd"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/ragd/ragd/bge/internal/kernel"
	"github.com/ragd/ragd/bge/internal/safetensors"
)

const weightsFile = "model.safetensors"

// linear is a Linear layer with its weight packed for the GEMM kernel:
// y = x·Wᵀ + b with W of shape [n, k].
type linear struct {
	w    []float32 // packed K×N
	b    []float32
	k, n int
}

type norm struct{ g, b []float32 }

type layer struct {
	qkv, out, ffn1, ffn2 linear
	ln1, ln2             norm
}

// embedding is an embedding table. F32 tables are used in place in the
// memory-mapped file; F16/BF16 rows are converted as tokens are looked up.
type embedding struct {
	t   *safetensors.Tensor
	f32 []float32
	dim int
}

// add adds row i to dst.
func (e *embedding) add(dst []float32, i int, tmp []float32) {
	var row []float32
	if e.f32 != nil {
		row = e.f32[i*e.dim : i*e.dim+e.dim]
	} else {
		row = tmp[:e.dim]
		e.t.Decode(row, i*e.dim)
	}
	for j, v := range row {
		dst[j] += v
	}
}

// weights are the model's parameters.
type weights struct {
	file           *safetensors.File
	word, pos, typ embedding
	embLN          norm
	layers         []layer
	packedFloats   int
}

// tensorSource finds a model's tensors whatever the checkpoint's naming.
type tensorSource struct {
	f      *safetensors.File
	prefix string // "bert." for BertFor... checkpoints, "" for BertModel
}

func (s *tensorSource) err(format string, args ...any) error {
	return modelError(ragd.EInvalid, weightsFile, nil, format, args...)
}

// get returns the named tensor after checking its dtype and shape. For
// LayerNorm parameters the old TensorFlow names (gamma, beta) are accepted.
func (s *tensorSource) get(name string, shape ...int) (*safetensors.Tensor, error) {
	t := s.f.Tensor(s.prefix + name)
	if t == nil {
		alt := name
		switch {
		case filepath.Ext(name) == ".weight" && filepath.Ext(name[:len(name)-7]) == ".LayerNorm":
			alt = name[:len(name)-7] + ".gamma"
		case filepath.Ext(name) == ".bias" && filepath.Ext(name[:len(name)-5]) == ".LayerNorm":
			alt = name[:len(name)-5] + ".beta"
		}
		t = s.f.Tensor(s.prefix + alt)
	}
	if t == nil {
		return nil, s.err("tensor %q is missing", s.prefix+name)
	}
	switch t.DType {
	case safetensors.F32, safetensors.F16, safetensors.BF16:
	default:
		return nil, s.err("tensor %q has dtype %s, want F32, F16 or BF16", t.Name, t.DType)
	}
	if !slices.Equal(t.Shape, shape) {
		return nil, s.err("tensor %q has shape %v, want %v", t.Name, t.Shape, shape)
	}
	return t, nil
}

// vec returns a small tensor as a float32 copy.
func (s *tensorSource) vec(name string, n int) ([]float32, error) {
	t, err := s.get(name, n)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	t.Decode(out, 0)
	return out, nil
}

func (s *tensorSource) norm(name string, n int) (norm, error) {
	g, err := s.vec(name+".weight", n)
	if err != nil {
		return norm{}, err
	}
	b, err := s.vec(name+".bias", n)
	return norm{g, b}, err
}

func (s *tensorSource) embedding(name string, rows, dim int, inPlace bool) (embedding, error) {
	t, err := s.get(name, rows, dim)
	if err != nil {
		return embedding{}, err
	}
	e := embedding{t: t, dim: dim}
	if t.DType == safetensors.F32 || !inPlace {
		if e.f32, err = t.Float32(); err != nil {
			return embedding{}, s.err("tensor %q: %v", t.Name, err)
		}
	}
	return e, nil
}

// linear packs one or more [n_i, k] weights (stacked along n) and their
// biases into one Linear layer.
func (s *tensorSource) linear(im *kernel.Impl, k int, names []string, ns []int) (linear, error) {
	var ts []*safetensors.Tensor
	var bias []float32
	n := 0
	for i, name := range names {
		t, err := s.get(name+".weight", ns[i], k)
		if err != nil {
			return linear{}, err
		}
		b, err := s.vec(name+".bias", ns[i])
		if err != nil {
			return linear{}, err
		}
		ts = append(ts, t)
		bias = append(bias, b...)
		n += ns[i]
	}
	l := linear{w: make([]float32, im.PackedSize(k, n)), b: bias, k: k, n: n}
	im.PackBRows(l.w, k, n, make([]float32, k), func(j int, row []float32) {
		for i, t := range ts {
			if j < ns[i] {
				t.Decode(row, j*k)
				return
			}
			j -= ns[i]
		}
	})
	return l, nil
}

func loadWeights(dir string, c *bertConfig, im *kernel.Impl) (*weights, error) {
	path := filepath.Join(dir, weightsFile)
	f, err := safetensors.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, modelError(ragd.ENotFound, weightsFile, err, "missing")
		}
		return nil, modelError(ragd.EInvalid, weightsFile, err, "not a valid safetensors file")
	}
	w, err := readWeights(f, c, im)
	if err != nil {
		f.Close()
		return nil, err
	}
	// The packed copies are what the encoder reads from now on; only the
	// rows of the word embeddings that tokens use come back.
	f.Release()
	return w, nil
}

func readWeights(f *safetensors.File, c *bertConfig, im *kernel.Impl) (*weights, error) {
	s := &tensorSource{f: f}
	for _, p := range []string{"", "bert."} {
		if f.Tensor(p+"embeddings.word_embeddings.weight") != nil {
			s.prefix = p
		}
	}
	H, I := c.HiddenSize, c.IntermediateSize
	w := &weights{file: f, layers: make([]layer, c.NumHiddenLayers)}
	var err error
	if w.word, err = s.embedding("embeddings.word_embeddings.weight", c.VocabSize, H, true); err != nil {
		return nil, err
	}
	if w.pos, err = s.embedding("embeddings.position_embeddings.weight", c.MaxPositionEmbeddings, H, false); err != nil {
		return nil, err
	}
	if w.typ, err = s.embedding("embeddings.token_type_embeddings.weight", c.TypeVocabSize, H, false); err != nil {
		return nil, err
	}
	if w.embLN, err = s.norm("embeddings.LayerNorm", H); err != nil {
		return nil, err
	}
	for i := range w.layers {
		l := &w.layers[i]
		p := fmt.Sprintf("encoder.layer.%d.", i)
		if l.qkv, err = s.linear(im, H, []string{p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"}, []int{H, H, H}); err != nil {
			return nil, err
		}
		if l.out, err = s.linear(im, H, []string{p + "attention.output.dense"}, []int{H}); err != nil {
			return nil, err
		}
		if l.ln1, err = s.norm(p+"attention.output.LayerNorm", H); err != nil {
			return nil, err
		}
		if l.ffn1, err = s.linear(im, H, []string{p + "intermediate.dense"}, []int{I}); err != nil {
			return nil, err
		}
		if l.ffn2, err = s.linear(im, I, []string{p + "output.dense"}, []int{H}); err != nil {
			return nil, err
		}
		if l.ln2, err = s.norm(p+"output.LayerNorm", H); err != nil {
			return nil, err
		}
		w.packedFloats += len(l.qkv.w) + len(l.out.w) + len(l.ffn1.w) + len(l.ffn2.w)
	}
	if t := f.Tensor(s.prefix + fmt.Sprintf("encoder.layer.%d.attention.self.query.weight", c.NumHiddenLayers)); t != nil {
		return nil, s.err("has more layers than num_hidden_layers %d in config.json", c.NumHiddenLayers)
	}
	return w, nil
}
