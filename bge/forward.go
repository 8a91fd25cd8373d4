package bge

import (
	"context"
	"fmt"
	"math"

	"github.com/ragd/ragd/bge/internal/kernel"
)

// Sequences of one forward pass are packed back to back without padding:
// the linear layers work on all tokens at once, attention runs per
// sequence and head, so neither wastes work on padding.

// ffnRows is the number of tokens whose feed-forward runs at once.
const ffnRows = 1152

// acts are the activations of one forward pass, pooled between calls.
type acts struct {
	h, qkv, ctx, ffn []float32
	offs             []int // offs[s] is sequence s's first token; offs[len] = T
}

// workerScratch is one pool worker's buffers.
type workerScratch struct {
	k      kernel.Scratch
	kt, v  []float32 // packed Kᵀ and V of one head
	scores []float32
	inv    []float32
	tmp    []float32
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// gemm runs C = A·B (+C) (+bias) on the worker pool and then post on each
// finished block (rows [m0, m1), columns [n0, n1)), if post is not nil.
func (m *Model) gemm(rows int, l *linear, a []float32, c []float32, acc bool, post func(m0, m1, n0, n1 int)) {
	im := m.impl
	nr := im.NR()
	const mc = 96
	panels := (l.n + nr - 1) / nr
	rowTasks := (rows + mc - 1) / mc
	colTasks := 1
	if w := m.pool.workers(); rowTasks < 2*w {
		colTasks = min(panels, (4*w+rowTasks-1)/rowTasks)
	}
	perTask := (panels + colTasks - 1) / colTasks
	colTasks = (panels + perTask - 1) / perTask
	m.pool.run(rowTasks*colTasks, func(w, t int) {
		m0 := (t / colTasks) * mc
		m1 := min(rows, m0+mc)
		n0 := (t % colTasks) * perTask * nr
		n1 := min(l.n, n0+perTask*nr)
		im.GemmBlock(&m.scratch[w].k, m0, m1, n0, n1, l.n, l.k, a, l.k, l.w, c, l.n, l.b, acc)
		if post != nil {
			post(m0, m1, n0, n1)
		}
	})
}

// forEachRows runs fn over [0, n) in chunks on the worker pool.
func (m *Model) forEachRows(n, chunk int, fn func(w, i0, i1 int)) {
	tasks := (n + chunk - 1) / chunk
	m.pool.run(tasks, func(w, t int) {
		fn(w, t*chunk, min(n, (t+1)*chunk))
	})
}

func layerNorm(x []float32, nm *norm, eps float32) {
	n := float32(len(x))
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	mean := (s0 + s1 + s2 + s3) / n
	var v0, v1 float32
	i = 0
	for ; i+2 <= len(x); i += 2 {
		d0, d1 := x[i]-mean, x[i+1]-mean
		v0 += d0 * d0
		v1 += d1 * d1
	}
	for ; i < len(x); i++ {
		d := x[i] - mean
		v0 += d * d
	}
	rstd := float32(1 / math.Sqrt(float64((v0+v1)/n+eps)))
	g, b := nm.g[:len(x)], nm.b[:len(x)]
	for i, v := range x {
		x[i] = (v-mean)*rstd*g[i] + b[i]
	}
}

// forward runs the encoder on seqs (token ids, [CLS] ... [SEP]) and writes
// each sequence's pooled, L2-normalised embedding to out[i].
func (m *Model) forward(ctx context.Context, seqs [][]int32, out [][]float32) error {
	c := m.cfg
	H, I, nh := c.HiddenSize, c.IntermediateSize, c.NumAttentionHeads
	dh := H / nh
	a := m.acts.Get().(*acts)
	defer m.acts.Put(a)
	a.offs = a.offs[:0]
	T := 0
	for _, s := range seqs {
		if len(s) == 0 || len(s) > c.MaxPositionEmbeddings {
			return fmt.Errorf("sequence of %d tokens, want 1 to %d", len(s), c.MaxPositionEmbeddings)
		}
		for _, id := range s {
			if id < 0 || int(id) >= c.VocabSize {
				return fmt.Errorf("token id %d outside the model's vocabulary of %d", id, c.VocabSize)
			}
		}
		a.offs = append(a.offs, T)
		T += len(s)
	}
	a.offs = append(a.offs, T)
	a.h = grow(a.h, T*H)
	a.qkv = grow(a.qkv, T*3*H)
	a.ctx = grow(a.ctx, T*H)
	a.ffn = grow(a.ffn, min(T, ffnRows)*I)
	eps := float32(c.LayerNormEps)
	w := m.w

	// Embeddings: word + position + token type 0, then LayerNorm.
	m.forEachRows(len(seqs), 4, func(wk, s0, s1 int) {
		tmp := grow(m.scratch[wk].tmp, H)
		m.scratch[wk].tmp = tmp
		for s := s0; s < s1; s++ {
			for p, id := range seqs[s] {
				row := a.h[(a.offs[s]+p)*H : (a.offs[s]+p+1)*H]
				copy(row, w.typ.f32[:H])
				w.word.add(row, int(id), tmp)
				w.pos.add(row, p, tmp)
				layerNorm(row, &w.embLN, eps)
			}
		}
	})

	scale := float32(1 / math.Sqrt(float64(dh)))
	for li := range w.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := &w.layers[li]
		m.gemm(T, &l.qkv, a.h, a.qkv, false, nil)
		m.pool.run(len(seqs)*nh, func(wk, t int) {
			m.attention(&m.scratch[wk], a, t/nh, t%nh, dh, scale)
		})
		m.gemm(T, &l.out, a.ctx, a.h, true, nil)
		m.forEachRows(T, 64, func(_, i0, i1 int) {
			for i := i0; i < i1; i++ {
				layerNorm(a.h[i*H:(i+1)*H], &l.ln1, eps)
			}
		})
		// The feed-forward runs on blocks of rows so that its wide
		// intermediate activations take ffnRows×I floats, not T×I.
		for r0 := 0; r0 < T; r0 += ffnRows {
			rows := min(ffnRows, T-r0)
			hb := a.h[r0*H:]
			m.gemm(rows, &l.ffn1, hb, a.ffn, false, func(m0, m1, n0, n1 int) {
				for i := m0; i < m1; i++ {
					m.impl.GELU(a.ffn[i*I+n0 : i*I+n1])
				}
			})
			m.gemm(rows, &l.ffn2, a.ffn, hb, true, nil)
		}
		m.forEachRows(T, 64, func(_, i0, i1 int) {
			for i := i0; i < i1; i++ {
				layerNorm(a.h[i*H:(i+1)*H], &l.ln2, eps)
			}
		})
	}

	for s := range seqs {
		v := make([]float32, H)
		first := a.offs[s]
		switch m.pooling {
		case PoolingCLS:
			copy(v, a.h[first*H:(first+1)*H])
		default:
			n := a.offs[s+1] - first
			sum := make([]float64, H)
			for i := first; i < first+n; i++ {
				for j, x := range a.h[i*H : (i+1)*H] {
					sum[j] += float64(x)
				}
			}
			for j := range v {
				v[j] = float32(sum[j] / float64(n))
			}
		}
		normalize(v)
		out[s] = v
	}
	return nil
}

func normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= inv
	}
}

// attention computes head h of sequence s: softmax(Q·Kᵀ·scale)·V into the
// head's columns of a.ctx.
func (m *Model) attention(ws *workerScratch, a *acts, s, h, dh int, scale float32) {
	im := m.impl
	H := m.cfg.HiddenSize
	ld := 3 * H
	off, L := a.offs[s], a.offs[s+1]-a.offs[s]
	q := a.qkv[off*ld+h*dh:]
	k := a.qkv[off*ld+H+h*dh:]
	v := a.qkv[off*ld+2*H+h*dh:]
	ws.kt = grow(ws.kt, im.PackedSize(dh, L))
	im.PackB(ws.kt, k, dh, L, ld, true)
	ws.v = grow(ws.v, im.PackedSize(L, dh))
	im.PackB(ws.v, v, L, dh, ld, false)
	ws.scores = grow(ws.scores, L*L)
	ws.inv = grow(ws.inv, L)
	im.Gemm(&ws.k, L, L, dh, q, ld, ws.kt, ws.scores, L, nil, false)
	for i := 0; i < L; i++ {
		row := ws.scores[i*L : (i+1)*L]
		mx := im.Max(row)
		ws.inv[i] = 1 / im.ExpSum(row, mx, scale)
	}
	o := a.ctx[off*H+h*dh:]
	im.Gemm(&ws.k, L, dh, L, ws.scores, L, ws.v, o, H, nil, false)
	for i := 0; i < L; i++ {
		inv := ws.inv[i]
		row := o[i*H : i*H+dh]
		for j := range row {
			row[j] *= inv
		}
	}
}
