package bge

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// refModel is an independent, plain float64 BERT encoder for checking the
// optimised one: its own safetensors reader and dtype conversion, the
// textbook forward pass (padding-free, one sequence at a time), no
// packing, no blocking, no SIMD.
type refModel struct {
	hidden, heads, inter, layers int
	eps                          float64
	t                            map[string][]float64
	prefix                       string
}

func loadRef(t testing.TB, dir string) *refModel {
	t.Helper()
	var cfg struct {
		Hidden int     `json:"hidden_size"`
		Heads  int     `json:"num_attention_heads"`
		Inter  int     `json:"intermediate_size"`
		Layers int     `json:"num_hidden_layers"`
		Eps    float64 `json:"layer_norm_eps"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	data := raw[8+n:]
	r := &refModel{hidden: cfg.Hidden, heads: cfg.Heads, inter: cfg.Inter, layers: cfg.Layers, eps: cfg.Eps, t: map[string][]float64{}}
	for name, msg := range hdr {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			DType   string    `json:"dtype"`
			Offsets [2]uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(msg, &e); err != nil {
			t.Fatal(err)
		}
		d := data[e.Offsets[0]:e.Offsets[1]]
		var v []float64
		switch e.DType {
		case "F32":
			for i := 0; i < len(d); i += 4 {
				v = append(v, float64(math.Float32frombits(binary.LittleEndian.Uint32(d[i:]))))
			}
		case "BF16":
			for i := 0; i < len(d); i += 2 {
				v = append(v, float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(d[i:]))<<16)))
			}
		case "F16":
			for i := 0; i < len(d); i += 2 {
				h := binary.LittleEndian.Uint16(d[i:])
				sign := 1.0
				if h&0x8000 != 0 {
					sign = -1
				}
				exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
				if exp == 0 {
					v = append(v, sign*math.Ldexp(frac/1024, -14))
				} else {
					v = append(v, sign*math.Ldexp(1+frac/1024, exp-15))
				}
			}
		default:
			t.Fatalf("tensor %s: dtype %s", name, e.DType)
		}
		r.t[name] = v
	}
	if _, ok := r.t["bert.embeddings.word_embeddings.weight"]; ok {
		r.prefix = "bert."
	}
	return r
}

func (r *refModel) w(name string) []float64 {
	v, ok := r.t[r.prefix+name]
	if !ok {
		panic("reference: no tensor " + name)
	}
	return v
}

func (r *refModel) layerNorm(x []float64, name string) {
	g, b := r.w(name+".weight"), r.w(name+".bias")
	var mean, vr float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		vr += (v - mean) * (v - mean)
	}
	vr /= float64(len(x))
	for i := range x {
		x[i] = (x[i]-mean)/math.Sqrt(vr+r.eps)*g[i] + b[i]
	}
}

// linear returns x·Wᵀ + b for W of shape [out, in].
func (r *refModel) linear(x []float64, name string, out int) []float64 {
	W, B := r.w(name+".weight"), r.w(name+".bias")
	in := len(x)
	y := make([]float64, out)
	for o := 0; o < out; o++ {
		s := B[o]
		for i := 0; i < in; i++ {
			s += x[i] * W[o*in+i]
		}
		y[o] = s
	}
	return y
}

// embed returns the pooled, normalised embedding of one token sequence.
func (r *refModel) embed(ids []int32, pooling string) []float64 {
	H, nh := r.hidden, r.heads
	dh := H / nh
	L := len(ids)
	h := make([][]float64, L)
	word, pos, typ := r.w("embeddings.word_embeddings.weight"), r.w("embeddings.position_embeddings.weight"), r.w("embeddings.token_type_embeddings.weight")
	for p, id := range ids {
		h[p] = make([]float64, H)
		for j := range h[p] {
			h[p][j] = word[int(id)*H+j] + pos[p*H+j] + typ[j]
		}
		r.layerNorm(h[p], "embeddings.LayerNorm")
	}
	for l := 0; l < r.layers; l++ {
		pre := fmt.Sprintf("encoder.layer.%d.", l)
		q, k, v := make([][]float64, L), make([][]float64, L), make([][]float64, L)
		for p := range h {
			q[p] = r.linear(h[p], pre+"attention.self.query", H)
			k[p] = r.linear(h[p], pre+"attention.self.key", H)
			v[p] = r.linear(h[p], pre+"attention.self.value", H)
		}
		ctx := make([][]float64, L)
		for i := range ctx {
			ctx[i] = make([]float64, H)
		}
		for hd := 0; hd < nh; hd++ {
			for i := 0; i < L; i++ {
				scores := make([]float64, L)
				mx := math.Inf(-1)
				for j := 0; j < L; j++ {
					var s float64
					for d := hd * dh; d < (hd+1)*dh; d++ {
						s += q[i][d] * k[j][d]
					}
					scores[j] = s / math.Sqrt(float64(dh))
					mx = math.Max(mx, scores[j])
				}
				var sum float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - mx)
					sum += scores[j]
				}
				for j := range scores {
					for d := hd * dh; d < (hd+1)*dh; d++ {
						ctx[i][d] += scores[j] / sum * v[j][d]
					}
				}
			}
		}
		for p := range h {
			a := r.linear(ctx[p], pre+"attention.output.dense", H)
			for j := range a {
				a[j] += h[p][j]
			}
			r.layerNorm(a, pre+"attention.output.LayerNorm")
			f := r.linear(a, pre+"intermediate.dense", r.inter)
			for j, x := range f {
				f[j] = 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
			}
			o := r.linear(f, pre+"output.dense", H)
			for j := range o {
				o[j] += a[j]
			}
			r.layerNorm(o, pre+"output.LayerNorm")
			h[p] = o
		}
	}
	out := make([]float64, H)
	if pooling == PoolingCLS {
		copy(out, h[0])
	} else {
		for p := range h {
			for j := range out {
				out[j] += h[p][j] / float64(L)
			}
		}
	}
	var ss float64
	for _, x := range out {
		ss += x * x
	}
	for j := range out {
		out[j] /= math.Sqrt(ss)
	}
	return out
}
