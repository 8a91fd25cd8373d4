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
	cls              []float32 // the [CLS] rows in the last layer
	offs             []int     // offs[s] is sequence s's first token; offs[len] = T
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
	ns := len(seqs)
	for li := range w.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := &w.layers[li]
		m.gemm(T, &l.qkv, a.h, a.qkv, false, nil)
		if li == len(w.layers)-1 && m.pooling == PoolingCLS {
			// Only the [CLS] rows of the last layer's output are used:
			// attend from them alone and finish the layer on them.
			a.cls = grow(a.cls, ns*H)
			m.pool.run(ns*nh, func(wk, t int) {
				s, h := t/nh, t%nh
				m.attention(&m.scratch[wk], a, s, h, dh, scale, 1, a.ctx[s*H+h*dh:])
			})
			for s := 0; s < ns; s++ {
				copy(a.cls[s*H:(s+1)*H], a.h[a.offs[s]*H:])
			}
			m.finishLayer(l, ns, a.cls, a.ctx, a.ffn)
			for s := 0; s < ns; s++ {
				out[s] = pooled(a.cls[s*H:(s+1)*H], nil, H)
			}
			return nil
		}
		m.pool.run(ns*nh, func(wk, t int) {
			s, h := t/nh, t%nh
			m.attention(&m.scratch[wk], a, s, h, dh, scale, a.offs[s+1]-a.offs[s], a.ctx[a.offs[s]*H+h*dh:])
		})
		m.finishLayer(l, T, a.h, a.ctx, a.ffn)
	}
	for s := 0; s < ns; s++ {
		first := a.offs[s]
		if m.pooling == PoolingCLS {
			out[s] = pooled(a.h[first*H:(first+1)*H], nil, H)
		} else {
			out[s] = pooled(nil, a.h[first*H:a.offs[s+1]*H], H)
		}
	}
	return nil
}

// finishLayer completes an encoder layer on rows of h given the attention
// context: h = LN(h + ctx·Wo + bo); h = LN(h + GELU(h·W1 + b1)·W2 + b2).
func (m *Model) finishLayer(l *layer, rows int, h, ctx, ffn []float32) {
	H, I := m.cfg.HiddenSize, m.cfg.IntermediateSize
	eps := float32(m.cfg.LayerNormEps)
	m.gemm(rows, &l.out, ctx, h, true, nil)
	m.forEachRows(rows, 64, func(_, i0, i1 int) {
		for i := i0; i < i1; i++ {
			layerNorm(h[i*H:(i+1)*H], &l.ln1, eps)
		}
	})
	// The feed-forward runs on blocks of rows so that its wide
	// intermediate activations take ffnRows×I floats, not rows×I.
	for r0 := 0; r0 < rows; r0 += ffnRows {
		n := min(ffnRows, rows-r0)
		hb := h[r0*H:]
		m.gemm(n, &l.ffn1, hb, ffn, false, func(m0, m1, n0, n1 int) {
			for i := m0; i < m1; i++ {
				m.impl.GELU(ffn[i*I+n0 : i*I+n1])
			}
		})
		m.gemm(n, &l.ffn2, ffn, hb, true, nil)
	}
	m.forEachRows(rows, 64, func(_, i0, i1 int) {
		for i := i0; i < i1; i++ {
			layerNorm(h[i*H:(i+1)*H], &l.ln2, eps)
		}
	})
}

// pooled returns the L2-normalised embedding: row itself (CLS pooling) or
// the mean of rows (H floats each).
func pooled(row, rows []float32, H int) []float32 {
	v := make([]float32, H)
	if row != nil {
		copy(v, row)
	} else {
		n := len(rows) / H
		sum := make([]float64, H)
		for i := 0; i < n; i++ {
			for j, x := range rows[i*H : (i+1)*H] {
				sum[j] += float64(x)
			}
		}
		for j := range v {
			v[j] = float32(sum[j] / float64(n))
		}
	}
	normalize(v)
	return v
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

// attention computes head h of sequence s for its first q query rows:
// softmax(Q·Kᵀ·scale)·V into o (row stride H, the head's columns).
func (m *Model) attention(ws *workerScratch, a *acts, s, h, dh int, scale float32, q int, o []float32) {
	im := m.impl
	H := m.cfg.HiddenSize
	ld := 3 * H
	off, L := a.offs[s], a.offs[s+1]-a.offs[s]
	qm := a.qkv[off*ld+h*dh:]
	k := a.qkv[off*ld+H+h*dh:]
	v := a.qkv[off*ld+2*H+h*dh:]
	ws.kt = grow(ws.kt, im.PackedSize(dh, L))
	im.PackB(ws.kt, k, dh, L, ld, true)
	ws.v = grow(ws.v, im.PackedSize(L, dh))
	im.PackB(ws.v, v, L, dh, ld, false)
	ws.scores = grow(ws.scores, q*L)
	ws.inv = grow(ws.inv, q)
	im.GemmDirect(&ws.k, q, L, dh, qm, ld, ws.kt, ws.scores, L, nil, false)
	for i := 0; i < q; i++ {
		row := ws.scores[i*L : (i+1)*L]
		mx := im.Max(row)
		ws.inv[i] = 1 / im.ExpSum(row, mx, scale)
	}
	im.GemmDirect(&ws.k, q, dh, L, ws.scores, L, ws.v, o, H, nil, false)
	for i := 0; i < q; i++ {
		inv := ws.inv[i]
		row := o[i*H : i*H+dh]
		for j := range row {
			row[j] *= inv
		}
	}
}
