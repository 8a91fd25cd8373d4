package qdranttest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/protobuf/proto"
)

// defaultRRFK is Qdrant's DEFAULT_RRF_K (lib/segment common
// reciprocal_rank_fusion.rs).
const defaultRRFK = 2

type hit struct {
	p     *point
	score float32
}

// sortHits orders hits best first; equal scores go by ascending point ID.
func sortHits(hs []hit) {
	slices.SortFunc(hs, func(a, b hit) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return a.p.key.compare(b.p.key)
	})
}

func (s *pointsService) Query(_ context.Context, req *qdrant.QueryPoints) (*qdrant.QueryResponse, error) {
	start := time.Now()
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	c, err := s.st.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	res, err := c.query(req, newView(c))
	if err != nil {
		return nil, err
	}
	return &qdrant.QueryResponse{Result: res, Time: time.Since(start).Seconds()}, nil
}

func (s *pointsService) QueryBatch(_ context.Context, req *qdrant.QueryBatchPoints) (*qdrant.QueryBatchResponse, error) {
	start := time.Now()
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	c, err := s.st.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	resp := &qdrant.QueryBatchResponse{}
	v := newView(c)
	for _, q := range req.GetQueryPoints() {
		res, err := c.query(q, v)
		if err != nil {
			return nil, err
		}
		resp.Result = append(resp.Result, &qdrant.BatchResult{Result: res})
	}
	resp.Time = time.Since(start).Seconds()
	return resp, nil
}

func (c *collection) query(q *qdrant.QueryPoints, v *view) ([]*qdrant.ScoredPoint, error) {
	if q.LookupFrom != nil {
		return nil, unimplemented("lookup_from is not supported")
	}
	limit, offset := 10, int(q.GetOffset())
	if q.Limit != nil {
		limit = int(q.GetLimit())
	}
	hits, err := c.run(q.GetPrefetch(), q.GetQuery(), q.GetUsing(), q.GetFilter(), q.GetParams(), q.ScoreThreshold, limit+offset, v)
	if err != nil {
		return nil, err
	}
	if offset >= len(hits) {
		return nil, nil
	}
	hits = hits[offset:]
	out := make([]*qdrant.ScoredPoint, 0, len(hits))
	for _, h := range hits {
		payload, err := payloadOf(h.p, q.GetWithPayload(), false)
		if err != nil {
			return nil, err
		}
		out = append(out, &qdrant.ScoredPoint{
			Id:      h.p.key.id(),
			Payload: payload,
			Score:   h.score,
			Version: h.p.version,
			Vectors: c.vectorsOf(h.p, q.GetWithVectors()),
		})
	}
	return out, nil
}

// run executes one level of a query: its prefetches (each with this level's
// filter ANDed to its own, as Qdrant propagates filters to every prefetch),
// then its own query over their results or over the collection.
func (c *collection) run(prefetch []*qdrant.PrefetchQuery, query *qdrant.Query, using string, filter *qdrant.Filter, params *qdrant.SearchParams, threshold *float32, limit int, v *view) ([]hit, error) {
	if len(prefetch) > 0 {
		lists := make([][]hit, 0, len(prefetch))
		for _, pf := range prefetch {
			if pf.LookupFrom != nil {
				return nil, unimplemented("lookup_from is not supported")
			}
			pl := 10
			if pf.Limit != nil {
				pl = int(pf.GetLimit())
			}
			l, err := c.run(pf.GetPrefetch(), pf.GetQuery(), pf.GetUsing(), andFilters(filter, pf.GetFilter()), pf.GetParams(), pf.ScoreThreshold, pl, v)
			if err != nil {
				return nil, err
			}
			lists = append(lists, l)
		}
		k, weights := defaultRRFK, []float32(nil)
		switch v := query.GetVariant().(type) {
		case *qdrant.Query_Rrf:
			if v.Rrf.K != nil {
				k = int(v.Rrf.GetK())
			}
			weights = v.Rrf.GetWeights()
		case *qdrant.Query_Fusion:
			if v.Fusion != qdrant.Fusion_RRF {
				return nil, unimplemented("fusion %s is not supported", v.Fusion)
			}
		case nil:
			return nil, unimplemented("prefetch without a query is not supported")
		default:
			return nil, unimplemented("rescoring prefetch results with %T is not supported", query.GetVariant())
		}
		if k < 1 {
			return nil, badInput("Validation error in body: [query.rrf.k: value 0 invalid, must be 1 or larger]")
		}
		fused, err := rrf(lists, k, weights)
		if err != nil {
			return nil, err
		}
		return cut(fused, threshold, limit), nil
	}

	candidates, err := v.matching(filter)
	if err != nil {
		return nil, err
	}
	switch qv := query.GetVariant().(type) {
	case nil:
		// Qdrant returns points in ID order when there is no query.
		var hs []hit
		for _, p := range candidates {
			hs = append(hs, hit{p: p})
		}
		if len(hs) > limit {
			hs = hs[:limit]
		}
		return hs, nil
	case *qdrant.Query_Nearest:
		return c.nearest(qv.Nearest, using, candidates, params, threshold, limit, v)
	}
	return nil, unimplemented("query %T is not supported", query.GetVariant())
}

// cut drops hits below the threshold and keeps the best limit.
func cut(hs []hit, threshold *float32, limit int) []hit {
	if threshold != nil {
		kept := hs[:0]
		for _, h := range hs {
			if h.score >= *threshold {
				kept = append(kept, h)
			}
		}
		hs = kept
	}
	if len(hs) > limit {
		hs = hs[:limit]
	}
	return hs
}

// rrf fuses ranked lists as Qdrant does: a point at position pos (from 0) of
// a list with weight w scores 1 / ((pos + 1) / w + k - 1), which is
// 1 / (pos + k) for the default weight 1, and a point's scores add up.
func rrf(lists [][]hit, k int, weights []float32) ([]hit, error) {
	if weights != nil && len(weights) != len(lists) {
		return nil, badInput(fmt.Sprintf("Number of weights in RRF should match number of pre-fetches: got %d, expected %d", len(weights), len(lists)))
	}
	byKey := map[pointKey]*hit{}
	var order []pointKey
	for i, l := range lists {
		w := float32(1)
		if weights != nil {
			w = weights[i]
		}
		for pos, h := range l {
			var score float32
			if w > 0 {
				score = 1 / (float32(pos+1)/w + float32(k) - 1)
			}
			if e, ok := byKey[h.p.key]; ok {
				e.score += score
				continue
			}
			byKey[h.p.key] = &hit{p: h.p, score: score}
			order = append(order, h.p.key)
		}
	}
	out := make([]hit, 0, len(order))
	for _, key := range order {
		out = append(out, *byKey[key])
	}
	sortHits(out)
	return out, nil
}

func (c *collection) nearest(in *qdrant.VectorInput, using string, candidates []*point, params *qdrant.SearchParams, threshold *float32, limit int, view *view) ([]hit, error) {
	var hs []hit
	switch v := in.GetVariant().(type) {
	case *qdrant.VectorInput_Dense:
		dp, ok := c.dense[using]
		if !ok {
			return nil, c.vectorNameError(using)
		}
		q := v.Dense.GetData()
		if len(q) != dp.size {
			return nil, dimensionError(dp.size, len(q))
		}
		if dp.distance == qdrant.Distance_Cosine {
			q = preprocessCosine(q)
		}
		for _, p := range candidates {
			d, ok := p.dense[using]
			if !ok {
				continue
			}
			var score float32
			for i := range q {
				score += q[i] * d[i]
			}
			hs = append(hs, hit{p: p, score: score})
		}
	case *qdrant.VectorInput_Sparse:
		modifier, ok := c.sparse[using]
		if !ok {
			return nil, c.vectorNameError(using)
		}
		q, err := newSparse(v.Sparse.GetIndices(), v.Sparse.GetValues())
		if err != nil {
			return nil, err
		}
		if len(q.indices) == 0 {
			return nil, nil
		}
		if modifier == qdrant.Modifier_Idf {
			if err := c.applyIDF(using, q, params.GetIdf().GetCorpus(), view); err != nil {
				return nil, err
			}
		}
		for _, p := range candidates {
			d, ok := p.sparse[using]
			if !ok {
				continue
			}
			score, overlap := sparseDot(q, d)
			if !overlap {
				continue
			}
			hs = append(hs, hit{p: p, score: score})
		}
	case nil:
		return nil, badInput("Query vector is not specified")
	default:
		return nil, unimplemented("query input %T is not supported", in.GetVariant())
	}
	sortHits(hs)
	return cut(hs, threshold, limit), nil
}

// vectorNameError is the error for a query using vector name with the wrong
// kind of input: a conversion error when name is a vector of the other kind,
// else an unknown name.
func (c *collection) vectorNameError(name string) error {
	_, dense := c.dense[name]
	_, sparse := c.sparse[name]
	if dense || sparse {
		return badInput("Conversion between sparse and regular vectors failed")
	}
	return badInput("Not existing vector name error: " + name)
}

// applyIDF multiplies the query's weights by each term's inverse document
// frequency, idf = ln((N - df + 0.5) / (df + 0.5) + 1), as Qdrant's IDF
// modifier does. N counts the points that have the sparse vector (within the
// corpus filter, when one is given) and df those among them whose vector has
// the term. The arithmetic is float32, as in Qdrant.
func (c *collection) applyIDF(name string, q sparseVec, corpus *qdrant.Filter, v *view) error {
	pts, err := v.matching(corpus)
	if err != nil {
		return err
	}
	df := make([]int, len(q.indices))
	n := 0
	for _, p := range pts {
		d, ok := p.sparse[name]
		if !ok {
			continue
		}
		n++
		for i, idx := range q.indices {
			if _, found := slices.BinarySearch(d.indices, idx); found {
				df[i]++
			}
		}
	}
	for i := range q.indices {
		nf, dff := float32(n), float32(df[i])
		idf := float32(math.Log(float64((nf-dff+0.5)/(dff+0.5) + 1)))
		q.values[i] *= idf
	}
	return nil
}

// view is what the queries of one request share: the collection's points in
// ID order and the points each filter selects, each computed once. The
// collection cannot change while a request holds the state's read lock.
type view struct {
	c        *collection
	sorted   []*point
	filtered map[string][]*point
}

func newView(c *collection) *view {
	return &view{c: c, filtered: map[string][]*point{}}
}

// matching returns the points, in ID order, that satisfy f (all of them
// when f is nil). The caller must not modify the slice.
func (v *view) matching(f *qdrant.Filter) ([]*point, error) {
	if v.sorted == nil {
		v.sorted = v.c.sortedPoints()
	}
	if f == nil {
		return v.sorted, nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(f)
	if err != nil {
		return nil, badInput("Invalid filter: " + err.Error())
	}
	if pts, ok := v.filtered[string(b)]; ok {
		return pts, nil
	}
	pts, err := filterPoints(slices.Values(v.sorted), f)
	if err != nil {
		return nil, err
	}
	v.filtered[string(b)] = pts
	return pts, nil
}

// sparseDot returns the dot product of two sparse vectors over their shared
// indices, and whether they share any.
func sparseDot(a, b sparseVec) (float32, bool) {
	var score float32
	overlap := false
	i, j := 0, 0
	for i < len(a.indices) && j < len(b.indices) {
		switch {
		case a.indices[i] < b.indices[j]:
			i++
		case a.indices[i] > b.indices[j]:
			j++
		default:
			score += a.values[i] * b.values[j]
			overlap = true
			i++
			j++
		}
	}
	return score, overlap
}
