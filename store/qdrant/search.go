package qdrant

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/qdrant/go-client/qdrant"
	"github.com/ragd/ragd"
)

const (
	// maxSearchRounds bounds how often Search re-queries after finding
	// points of versions that are not current.
	maxSearchRounds = 8
	// tieMargin is how many results beyond TopK Search asks for, so that
	// ties at the cut can be broken by chunk ID.
	tieMargin = 8
)

// exclusions names, per document seen with points of a non-current version,
// the version that is current ("" when the document has no record, i.e. it
// is being created or was deleted).
type exclusions map[string]string

// conditions returns must_not conditions that hide every point of those
// documents except the current version's.
func (ex exclusions) conditions() []*qdrant.Condition {
	var gone []string
	var conds []*qdrant.Condition
	for _, id := range sortedKeys(ex) {
		v := ex[id]
		if v == "" {
			gone = append(gone, id)
			continue
		}
		conds = append(conds, qdrant.NewFilterAsCondition(&qdrant.Filter{
			Must:    []*qdrant.Condition{qdrant.NewMatchKeyword(keyDocID, id)},
			MustNot: []*qdrant.Condition{qdrant.NewMatchKeyword(keyVersion, v)},
		}))
	}
	if len(gone) > 0 {
		conds = append(conds, qdrant.NewMatchKeywords(keyDocID, gone...))
	}
	return conds
}

// searchPlan is one round of a search: the queries sent as one batch.
type searchPlan struct {
	queries []*qdrant.QueryPoints
	// candidates are the indexes of the queries whose results fusion ranks
	// (hybrid only); main is the index of the query whose results are
	// returned.
	candidates []int
	main       int
}

// Search returns up to q.TopK current chunks, best first, ties broken by
// ascending chunk ID.
//
// The collection predicate and the filter are part of every Qdrant query.
// Points whose (document, version) is not the document's current version
// (a replace under way, or one a crash interrupted) must never be returned
// or ranked: every point Qdrant returns, in hybrid mode including both
// fused candidate lists, is checked against the document records, and when
// any is stale the query is repeated with those versions excluded inside
// the query, until a round sees only current versions.
func (s *Store) Search(ctx context.Context, q ragd.SearchQuery) ([]ragd.Hit, error) {
	info, err := s.collection(ctx, q.Collection)
	if err != nil {
		return nil, err
	}
	topK := q.TopK
	if topK <= 0 {
		topK = ragd.DefaultTopK
	}
	if topK > ragd.MaxTopK {
		return nil, ragd.Errorf(ragd.EInvalid, "top_k must be at most %d, got %d", ragd.MaxTopK, topK)
	}
	mode := q.Mode
	if mode == "" {
		mode = ragd.ModeHybrid
	}
	switch mode {
	case ragd.ModeVector, ragd.ModeHybrid:
		if err := checkQueryVector(info, mode, q.Vector); err != nil {
			// The cached description may be stale; check a fresh one.
			s.forget(q.Collection)
			if info, err = s.collection(ctx, q.Collection); err != nil {
				return nil, err
			}
			if err := checkQueryVector(info, mode, q.Vector); err != nil {
				return nil, err
			}
		}
	case ragd.ModeLexical:
	default:
		return nil, ragd.Errorf(ragd.EInvalid, "search mode %q is not supported (use hybrid, vector or lexical)", mode)
	}
	var sparseIdx []uint32
	var sparseVal []float32
	if mode != ragd.ModeVector {
		sparseIdx, sparseVal = querySparse(q.Text)
		if mode == ragd.ModeLexical && len(sparseIdx) == 0 {
			return []ragd.Hit{}, nil
		}
	}
	var userCond *qdrant.Condition
	if q.Filter != nil {
		keys := map[string]qdrant.FieldType{}
		if userCond, err = translateFilter(q.Filter, keys); err != nil {
			return nil, err
		}
		if err := s.indexFilterKeys(ctx, info, keys); err != nil {
			return nil, err
		}
	}

	candidates := ragd.HybridCandidates(topK)
	limit := topK + tieMargin
	maxLimit := max(limit, 4*topK)
	if mode == ragd.ModeHybrid {
		maxLimit = 2 * candidates // a fused list has at most this many points
		limit = min(limit, maxLimit)
	}
	ex := exclusions{}
	for round := 0; ; round++ {
		last := round == maxSearchRounds-1
		plan := s.plan(info, mode, q.Vector, sparseIdx, sparseVal, userCond, ex, candidates, limit)
		lists, err := s.queryBatch(ctx, info, plan.queries)
		if err != nil {
			return nil, err
		}
		// Check every returned point against the current records.
		ids := map[string]bool{}
		for id := range ex {
			ids[id] = true
		}
		for _, l := range lists {
			for _, p := range l {
				ids[strPayload(p.GetPayload(), keyDocID)] = true
			}
		}
		recs, err := s.readRecords(ctx, info, sortedKeys(ids), []string{keyTitle, keySource})
		if err != nil {
			return nil, err
		}
		stale := false
		for id, v := range ex {
			if recs[id].version != v {
				ex[id] = recs[id].version // switched meanwhile: exclude anew
				stale = true
			}
		}
		for _, l := range lists {
			for _, p := range l {
				id, v := strPayload(p.GetPayload(), keyDocID), strPayload(p.GetPayload(), keyVersion)
				if rec, ok := recs[id]; !ok || rec.version != v {
					ex[id] = recs[id].version
					stale = true
				}
			}
		}
		if stale && !last {
			continue
		}
		main := lists[plan.main]
		if stale {
			// Out of rounds under heavy concurrent writing: drop what is not
			// current rather than return it.
			main = slices.DeleteFunc(slices.Clone(main), func(p *qdrant.ScoredPoint) bool {
				rec, ok := recs[strPayload(p.GetPayload(), keyDocID)]
				return !ok || rec.version != strPayload(p.GetPayload(), keyVersion)
			})
		}
		var ranks []map[string]int
		for _, i := range plan.candidates {
			ranks = append(ranks, rankOf(lists[i]))
		}
		hits := make([]ragd.Hit, 0, len(main))
		for _, p := range main {
			hits = append(hits, hitOf(p, recs, ranks))
		}
		slices.SortFunc(hits, func(a, b ragd.Hit) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return strings.Compare(a.ChunkID, b.ChunkID)
		})
		// A full page whose last score equals the TopK-th may hide more
		// points with that score: ask for more to break the tie by ID.
		if !stale && len(main) == limit && limit < maxLimit && len(hits) > topK && hits[topK-1].Score == hits[len(hits)-1].Score {
			limit = min(2*limit, maxLimit)
			continue
		}
		if len(hits) > topK {
			hits = hits[:topK]
		}
		hits = slices.DeleteFunc(hits, func(h ragd.Hit) bool { return h.Score < q.MinScore })
		return hits, nil
	}
}

func checkQueryVector(info *collectionInfo, mode string, vec []float32) error {
	if info.c.Dimension == 0 {
		return ragd.Errorf(ragd.EInvalid, "collection %q has no vectors; only lexical search is possible", info.c.Name)
	}
	if len(vec) == 0 {
		return ragd.Errorf(ragd.EInvalid, "%s search needs a query vector", mode)
	}
	if len(vec) != info.c.Dimension {
		return ragd.Errorf(ragd.EInvalid, "the query vector has %d dimensions; collection %q uses %d", len(vec), info.c.Name, info.c.Dimension)
	}
	return nil
}

// plan builds one round's queries.
func (s *Store) plan(info *collectionInfo, mode string, vec []float32, idx []uint32, vals []float32, userCond *qdrant.Condition, ex exclusions, candidates, limit int) searchPlan {
	must := []*qdrant.Condition{
		qdrant.NewMatchKeyword(keyKind, kindChunk),
		qdrant.NewMatchKeyword(keyCollection, info.c.Name),
	}
	exclude := ex.conditions()
	filter := &qdrant.Filter{Must: must, MustNot: exclude}
	if userCond != nil {
		filter.Must = append(slices.Clip(must), userCond)
	}
	var params *qdrant.SearchParams
	if len(exclude) > 0 {
		// BM25's statistics must not count the excluded versions either.
		params = &qdrant.SearchParams{Idf: &qdrant.IdfParams{Corpus: &qdrant.Filter{Must: must, MustNot: exclude}}}
	}
	chunkFields := qdrant.NewWithPayloadInclude(keyDocID, keyVersion, keyChunkID, keyText, keyHeadings, keyStart, keyEnd, keyMetadata)
	idFields := qdrant.NewWithPayloadInclude(keyDocID, keyVersion, keyChunkID)
	dense := func(n int, with *qdrant.WithPayloadSelector) *qdrant.QueryPoints {
		return &qdrant.QueryPoints{
			CollectionName: info.physical,
			Query:          qdrant.NewQueryNearest(qdrant.NewVectorInputDense(vec)),
			Using:          qdrant.PtrOf(denseVector),
			Filter:         filter,
			Limit:          qdrant.PtrOf(uint64(n)),
			WithPayload:    with,
		}
	}
	sparse := func(n int, with *qdrant.WithPayloadSelector) *qdrant.QueryPoints {
		return &qdrant.QueryPoints{
			CollectionName: info.physical,
			Query:          qdrant.NewQueryNearest(qdrant.NewVectorInputSparse(idx, vals)),
			Using:          qdrant.PtrOf(sparseVector),
			Filter:         filter,
			Params:         params,
			Limit:          qdrant.PtrOf(uint64(n)),
			WithPayload:    with,
		}
	}
	switch mode {
	case ragd.ModeVector:
		return searchPlan{queries: []*qdrant.QueryPoints{dense(limit, chunkFields)}}
	case ragd.ModeLexical:
		return searchPlan{queries: []*qdrant.QueryPoints{sparse(limit, chunkFields)}}
	}
	// Hybrid: the two candidate lists, and Qdrant's fusion of the same two
	// lists. ragd's RRF gives rank r (from 1) 1/(RRFK + r); Qdrant's gives
	// position p (from 0) 1/(p + k), so k = RRFK + 1 makes them equal.
	plan := searchPlan{queries: []*qdrant.QueryPoints{dense(candidates, idFields)}, candidates: []int{0}}
	prefetch := []*qdrant.PrefetchQuery{{
		Query: qdrant.NewQueryNearest(qdrant.NewVectorInputDense(vec)),
		Using: qdrant.PtrOf(denseVector),
		Limit: qdrant.PtrOf(uint64(candidates)),
	}}
	if len(idx) > 0 {
		plan.queries = append(plan.queries, sparse(candidates, idFields))
		plan.candidates = append(plan.candidates, 1)
		prefetch = append(prefetch, &qdrant.PrefetchQuery{
			Query:  qdrant.NewQueryNearest(qdrant.NewVectorInputSparse(idx, vals)),
			Using:  qdrant.PtrOf(sparseVector),
			Params: params,
			Limit:  qdrant.PtrOf(uint64(candidates)),
		})
	}
	plan.main = len(plan.queries)
	plan.queries = append(plan.queries, &qdrant.QueryPoints{
		CollectionName: info.physical,
		Prefetch:       prefetch,
		Query:          qdrant.NewQueryRRF(&qdrant.Rrf{K: qdrant.PtrOf(uint32(ragd.RRFK + 1))}),
		Filter:         filter, // Qdrant applies it to every prefetch too
		Limit:          qdrant.PtrOf(uint64(limit)),
		WithPayload:    chunkFields,
	})
	return plan
}

func (s *Store) queryBatch(ctx context.Context, info *collectionInfo, queries []*qdrant.QueryPoints) ([][]*qdrant.ScoredPoint, error) {
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.points.QueryBatch(cctx, &qdrant.QueryBatchPoints{CollectionName: info.physical, QueryPoints: queries})
	if err != nil {
		return nil, s.fail(ctx, info, err, "search")
	}
	if len(resp.GetResult()) != len(queries) {
		return nil, ragd.WrapError(ragd.EInternal, fmt.Errorf("qdrant answered %d results to %d queries", len(resp.GetResult()), len(queries)), "")
	}
	lists := make([][]*qdrant.ScoredPoint, len(queries))
	for i, r := range resp.GetResult() {
		lists[i] = r.GetResult()
	}
	return lists, nil
}

// rankOf maps each point of a ranked list to its rank, from 1.
func rankOf(l []*qdrant.ScoredPoint) map[string]int {
	m := make(map[string]int, len(l))
	for i, p := range l {
		m[p.GetId().GetUuid()] = i + 1
	}
	return m
}

// hitOf converts a point. With candidate ranks (hybrid), the score is
// recomputed in float64 from the ranks, sum 1/(RRFK + rank), instead of
// Qdrant's float32 sum of the same terms.
func hitOf(p *qdrant.ScoredPoint, recs map[string]record, ranks []map[string]int) ragd.Hit {
	pl := p.GetPayload()
	docID := strPayload(pl, keyDocID)
	rec := recs[docID]
	score := float64(p.GetScore())
	if len(ranks) > 0 {
		var fused float64
		found := false
		for _, r := range ranks {
			if rank, ok := r[p.GetId().GetUuid()]; ok {
				fused += 1 / float64(ragd.RRFK+rank)
				found = true
			}
		}
		if found {
			score = fused
		}
	}
	return ragd.Hit{
		ChunkID:    strPayload(pl, keyChunkID),
		DocumentID: docID,
		Title:      rec.doc.Title,
		Source:     rec.doc.Source,
		Text:       strPayload(pl, keyText),
		Headings:   stringsPayload(pl, keyHeadings),
		Score:      score,
		Metadata:   metadataPayload(pl, keyMetadata),
		Start:      int(intPayload(pl, keyStart)),
		End:        int(intPayload(pl, keyEnd)),
	}
}
