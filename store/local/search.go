package local

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/fuse"
	"github.com/ragd/ragd/lexical"
	"github.com/ragd/ragd/store/local/internal/dot"
	bolt "go.etcd.io/bbolt"
)

// parallelMinSlots is the smallest collection whose vector scan is split
// across goroutines.
const parallelMinSlots = 8 * blockSlots

// Search returns up to q.TopK hits, best first, ties by ascending chunk
// ID, as the store contract defines for each mode. TopK must be between 1
// and ragd.MaxTopK, the mode one of ragd's three, and the vector (for
// vector and hybrid search) of the collection's dimension: EInvalid
// otherwise.
func (db *DB) Search(ctx context.Context, q ragd.SearchQuery) ([]ragd.Hit, error) {
	done, err := db.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if q.TopK < 1 || q.TopK > ragd.MaxTopK {
		return nil, ragd.Errorf(ragd.EInvalid, "top_k must be between 1 and %d, got %d", ragd.MaxTopK, q.TopK)
	}
	switch q.Mode {
	case ragd.ModeVector, ragd.ModeLexical, ragd.ModeHybrid:
	default:
		return nil, ragd.Errorf(ragd.EInvalid, "mode must be %q, %q or %q, got %q", ragd.ModeHybrid, ragd.ModeVector, ragd.ModeLexical, q.Mode)
	}
	c, err := db.collection(q.Collection)
	if err != nil {
		return nil, err
	}
	if q.Mode != ragd.ModeLexical {
		if err := checkQueryVector(c.info, q.Vector); err != nil {
			return nil, err
		}
	}

	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.dropped {
		return nil, notFound(q.Collection)
	}
	ix := c.idx
	var cands []candidate
	switch q.Mode {
	case ragd.ModeVector:
		cands, err = ix.searchVector(ctx, q.Vector, q.Filter, q.TopK, db.workers)
	case ragd.ModeLexical:
		cands = ix.searchLexical(lexical.QueryTerms(q.Text), q.Filter, q.TopK)
	case ragd.ModeHybrid:
		n := ragd.HybridCandidates(q.TopK)
		var vec []candidate
		vec, err = ix.searchVector(ctx, q.Vector, q.Filter, n, db.workers)
		if err == nil {
			cands = ix.fuse(vec, ix.searchLexical(lexical.QueryTerms(q.Text), q.Filter, n))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", q.Collection, err)
	}
	n := 0
	for n < len(cands) && n < q.TopK && cands[n].score >= q.MinScore {
		n++
	}
	cands = cands[:n]
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The records of every slot in this index are still on disk: a retired
	// version is only deleted by the write after the one that retired it,
	// and that write waits for this read lock to be released.
	hits := make([]ragd.Hit, 0, len(cands))
	err = db.bolt.View(func(tx *bolt.Tx) error {
		chunks := tx.Bucket(c.bucket).Bucket([]byte(bucketChunks))
		for _, cand := range cands {
			sl := &ix.slots[cand.slot]
			v := chunks.Get(chunkKey(sl.doc.id, sl.doc.gen, int(sl.index)))
			if v == nil {
				return fmt.Errorf("chunk %q of document %q version %d is missing", sl.id, sl.doc.id, sl.doc.gen)
			}
			r, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("chunk %q: %w", sl.id, err)
			}
			h := ragd.Hit{
				ChunkID: sl.id, DocumentID: sl.doc.id, Title: sl.doc.title, Source: sl.doc.source,
				Text: r.text, Headings: r.headings, Score: cand.score, Start: r.start, End: r.end,
			}
			if len(r.meta) > 0 {
				if err := json.Unmarshal(r.meta, &h.Metadata); err != nil {
					return fmt.Errorf("chunk %q metadata: %w", sl.id, err)
				}
			}
			hits = append(hits, h)
		}
		return nil
	})
	if err != nil {
		return nil, internal(err, "cannot read the hits of a search in collection %q", q.Collection)
	}
	return hits, nil
}

func checkQueryVector(info ragd.Collection, v []float32) error {
	if info.Dimension == 0 {
		return ragd.Errorf(ragd.EInvalid, "collection %q is searched lexically only", info.Name)
	}
	if len(v) != info.Dimension {
		return ragd.Errorf(ragd.EInvalid, "the query vector has %d dimensions, collection %q has %d", len(v), info.Name, info.Dimension)
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return ragd.Errorf(ragd.EInvalid, "the query vector has a NaN or infinite component")
		}
	}
	return nil
}

// candidate is a scored slot.
type candidate struct {
	score float64
	slot  uint32
}

// better reports whether a ranks before b: higher score, then lower chunk
// ID.
func (ix *index) better(a, b candidate) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return ix.slots[a.slot].id < ix.slots[b.slot].id
}

// topK keeps the k best candidates in a heap whose root is the worst.
type topK struct {
	ix *index
	k  int
	h  []candidate
}

// admits reports whether c would enter the heap.
func (t *topK) admits(c candidate) bool {
	return len(t.h) < t.k || t.ix.better(c, t.h[0])
}

func (t *topK) push(c candidate) {
	if len(t.h) < t.k {
		t.h = append(t.h, c)
		// Sift up: the parent must not be better than the child.
		for i := len(t.h) - 1; i > 0; {
			p := (i - 1) / 2
			if !t.ix.better(t.h[p], t.h[i]) {
				break
			}
			t.h[p], t.h[i] = t.h[i], t.h[p]
			i = p
		}
		return
	}
	t.h[0] = c
	for i := 0; ; {
		l, r, worst := 2*i+1, 2*i+2, i
		if l < len(t.h) && t.ix.better(t.h[worst], t.h[l]) {
			worst = l
		}
		if r < len(t.h) && t.ix.better(t.h[worst], t.h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		t.h[i], t.h[worst] = t.h[worst], t.h[i]
		i = worst
	}
}

// sorted returns the candidates best first.
func (t *topK) sorted() []candidate {
	out := t.h
	slices.SortFunc(out, func(a, b candidate) int {
		if t.ix.better(a, b) {
			return -1
		}
		if t.ix.better(b, a) {
			return 1
		}
		return 0
	})
	return out
}

// searchVector scans every live slot with a vector and returns the k best
// that match f, by dot product with q.
func (ix *index) searchVector(ctx context.Context, q []float32, f *ragd.Filter, k, workers int) ([]candidate, error) {
	n := len(ix.slots)
	if n == 0 || ix.dim == 0 {
		return nil, nil
	}
	nb := len(ix.blocks)
	if n < parallelMinSlots || workers < 2 {
		t := &topK{ix: ix, k: k}
		if err := ix.scanBlocks(ctx, q, f, t, 0, nb); err != nil {
			return nil, err
		}
		return t.sorted(), nil
	}
	workers = min(workers, nb)
	heaps := make([]*topK, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		heaps[w] = &topK{ix: ix, k: k}
		from, to := w*nb/workers, (w+1)*nb/workers
		if w == workers-1 {
			errs[w] = ix.scanBlocks(ctx, q, f, heaps[w], from, to)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = ix.scanBlocks(ctx, q, f, heaps[w], from, to)
		}()
	}
	wg.Wait()
	t := &topK{ix: ix, k: k}
	for w := range heaps {
		if errs[w] != nil {
			return nil, errs[w]
		}
		for _, c := range heaps[w].h {
			if t.admits(c) {
				t.push(c)
			}
		}
	}
	return t.sorted(), nil
}

// scanBlocks scores blocks [from, to) into t.
func (ix *index) scanBlocks(ctx context.Context, q []float32, f *ragd.Filter, t *topK, from, to int) error {
	var scores [blockSlots]float32
	n := len(ix.slots)
	for b := from; b < to; b++ {
		if b%16 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		base := b * blockSlots
		m := min(blockSlots, n-base)
		dot.Batch(q, ix.blocks[b][:m*ix.dim], scores[:m])
		for i := 0; i < m; i++ {
			sl := &ix.slots[base+i]
			if !sl.live || !sl.hasVec {
				continue
			}
			c := candidate{score: float64(scores[i]), slot: uint32(base + i)}
			if !t.admits(c) || (f != nil && !f.Match(sl.meta)) {
				continue
			}
			t.push(c)
		}
	}
	return nil
}

// searchLexical scores the live slots containing any of the (distinct)
// query terms by BM25 and returns the k best that match f.
func (ix *index) searchLexical(terms []string, f *ragd.Filter, k int) []candidate {
	if ix.live == 0 {
		return nil
	}
	avg := float64(ix.totalLen) / float64(ix.live)
	accp, _ := ix.acc.Get().(*[]float64)
	if accp == nil || len(*accp) < len(ix.slots) {
		a := make([]float64, len(ix.slots)+len(ix.slots)/4+64)
		accp = &a
	}
	acc := *accp
	var touched []uint32
	for _, term := range terms {
		id, ok := ix.termIDs[term]
		if !ok || ix.df[id] == 0 {
			continue
		}
		idf := lexical.IDF(int(ix.df[id]), ix.live)
		for _, p := range ix.postings[id] {
			sl := &ix.slots[p.slot]
			if !sl.live {
				continue
			}
			if acc[p.slot] == 0 {
				touched = append(touched, p.slot)
			}
			acc[p.slot] += idf * lexical.TF(int(p.tf), int(sl.docLen), avg)
		}
	}
	t := &topK{ix: ix, k: k}
	for _, s := range touched {
		c := candidate{score: acc[s], slot: s}
		acc[s] = 0
		if !t.admits(c) || (f != nil && !f.Match(ix.slots[s].meta)) {
			continue
		}
		t.push(c)
	}
	ix.acc.Put(accp)
	return t.sorted()
}

// fuse combines a vector and a lexical ranking by reciprocal rank, as
// package fuse does, keyed by slot.
func (ix *index) fuse(vec, lex []candidate) []candidate {
	var out []candidate
	pos := make(map[uint32]int, len(vec)+len(lex))
	for _, list := range [][]candidate{vec, lex} {
		for rank, c := range list {
			s := 1 / float64(ragd.RRFK+rank+1)
			if i, ok := pos[c.slot]; ok {
				out[i].score += s
				continue
			}
			pos[c.slot] = len(out)
			out = append(out, candidate{score: s, slot: c.slot})
		}
	}
	slices.SortFunc(out, func(a, b candidate) int {
		return fuse.Compare(ragd.Hit{ChunkID: ix.slots[a.slot].id, Score: a.score}, ragd.Hit{ChunkID: ix.slots[b.slot].id, Score: b.score})
	})
	return out
}
