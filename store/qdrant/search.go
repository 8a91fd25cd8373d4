package qdrant

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/qdrant/go-client/qdrant"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/fuse"
	"github.com/ragd/ragd/lexical"
)

const (
	// maxSearchRounds bounds how often Search re-queries after finding
	// points of versions that are not current. (Re-queries for more
	// candidates are bounded by the candidate limits.)
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
	for _, id := range slices.Sorted(maps.Keys(ex)) {
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

// Search returns up to q.TopK current chunks, best first, ties broken by
// ascending chunk ID, ranked and scored as the store contract defines:
// cosine similarity, exact BM25, or their reciprocal rank fusion (see the
// package comment).
//
// The collection predicate and the filter are part of every Qdrant query.
// Points whose (document, version) is not the document's current version
// (a replace under way, or one a crash interrupted) are never returned or
// ranked: every point Qdrant returns is checked against the document
// records, and when any is stale the round is repeated with those versions
// excluded inside the queries, until a round sees only current versions.
func (s *Store) Search(ctx context.Context, q ragd.SearchQuery) ([]ragd.Hit, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.wrap(ctx, err, "search")
	}
	info, err := s.collection(ctx, q.Collection)
	if err != nil {
		return nil, err
	}
	topK := q.TopK
	if topK < 1 || topK > ragd.MaxTopK {
		return nil, ragd.Errorf(ragd.EInvalid, "top_k must be between 1 and %d, got %d", ragd.MaxTopK, topK)
	}
	mode := q.Mode
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
	sr := &search{s: s, info: info, q: q, mode: mode, topK: topK, ex: exclusions{}}
	if mode != ragd.ModeVector {
		sr.terms = queryIndexes(q.Text)
		if mode == ragd.ModeLexical && len(sr.terms) == 0 {
			return []ragd.Hit{}, nil
		}
	}
	if q.Filter != nil {
		keys := map[string]qdrant.FieldType{}
		if sr.userCond, err = translateFilter(q.Filter, keys); err != nil {
			return nil, err
		}
		if err := s.indexFilterKeys(ctx, info, keys); err != nil {
			return nil, err
		}
	}
	return sr.run(ctx)
}

// search is one Search call.
type search struct {
	s        *Store
	info     *collectionInfo
	q        ragd.SearchQuery
	mode     string
	topK     int
	terms    []uint32 // the query's distinct term indexes
	userCond *qdrant.Condition
	ex       exclusions
}

// scored is a point with the score ragd ranks it by.
type scored struct {
	p       *qdrant.ScoredPoint
	chunkID string
	score   float64
	partial bool // p's payload lacks the hit's fields (a lexical candidate)
}

// sortScored orders l as every store orders its hits (fuse.Compare).
func sortScored(l []scored) {
	slices.SortStableFunc(l, func(a, b scored) int {
		return fuse.Compare(ragd.Hit{ChunkID: a.chunkID, Score: a.score}, ragd.Hit{ChunkID: b.chunkID, Score: b.score})
	})
}

func (sr *search) run(ctx context.Context) ([]ragd.Hit, error) {
	// Each ranked list is cut at k: TopK, or in hybrid mode the candidates
	// each list contributes to the fusion.
	k := sr.topK
	if sr.mode == ragd.ModeHybrid {
		k = ragd.HybridCandidates(sr.topK)
	}
	denseLim, lexLim := k+tieMargin, k+tieMargin
	maxDense, maxLex := 4*k+tieMargin, max(8*(k+tieMargin), 1024)
	staleRounds := 0
	for {
		rd, err := sr.round(ctx, denseLim, lexLim)
		if err != nil {
			return nil, err
		}
		if rd.stale {
			if staleRounds++; staleRounds < maxSearchRounds {
				continue
			}
			rd.dropStale()
		}
		var dense, lex []scored
		grow := false
		if rd.dense != nil {
			dense = rd.denseRanking()
			// Points beyond the page may tie with the k-th: see them all,
			// to break the tie by chunk ID.
			if len(rd.dense) == denseLim && denseLim < maxDense && len(dense) > k && dense[k-1].score == dense[len(dense)-1].score {
				denseLim, grow = min(2*denseLim, maxDense), true
			}
		}
		if rd.lex != nil {
			var complete bool
			lex, complete = rd.lexicalRanking(k, lexLim)
			if !complete && lexLim < maxLex {
				lexLim, grow = min(2*lexLim, maxLex), true
			}
		}
		if grow && !rd.stale {
			continue
		}
		var chosen []scored
		switch sr.mode {
		case ragd.ModeVector:
			chosen = dense[:min(sr.topK, len(dense))]
		case ragd.ModeLexical:
			chosen = lex[:min(sr.topK, len(lex))]
		default:
			chosen = rrf(dense[:min(k, len(dense))], lex[:min(k, len(lex))], sr.topK)
		}
		chosen = slices.DeleteFunc(chosen, func(c scored) bool { return c.score < sr.q.MinScore })
		complete, err := sr.s.fill(ctx, sr.info, chosen)
		if err != nil {
			return nil, err
		}
		if !complete {
			// A chosen point was deleted meanwhile: its document changed.
			if staleRounds++; staleRounds < maxSearchRounds {
				continue
			}
			chosen = slices.DeleteFunc(chosen, func(c scored) bool { return c.partial })
		}
		return rd.hits(chosen), nil
	}
}

// round is what one round of queries returned.
type round struct {
	sr       *search
	dense    []*qdrant.ScoredPoint   // the vector ranking, or nil
	lex      []*qdrant.ScoredPoint   // the lexical candidates, or nil
	perTerm  [][]*qdrant.ScoredPoint // per query term: the point that shows its IDF
	chunks   int                     // lexical statistics: chunk count...
	termSum  int                     // ...and their total length in terms
	recs     map[string]record
	stale    bool
	avgFixed float64
}

// round sends one round's queries: a batch of Qdrant queries and, for
// lexical ranking, a facet of the chunks' lengths, at the same time.
func (sr *search) round(ctx context.Context, denseLim, lexLim int) (*round, error) {
	s, info := sr.s, sr.info
	must := []*qdrant.Condition{
		qdrant.NewMatchKeyword(keyKind, kindChunk),
		qdrant.NewMatchKeyword(keyCollection, info.c.Name),
	}
	exclude := sr.ex.conditions()
	corpus := &qdrant.Filter{Must: must, MustNot: exclude}
	filter := &qdrant.Filter{Must: must, MustNot: exclude}
	if sr.userCond != nil {
		filter.Must = append(slices.Clip(must), sr.userCond)
	}
	var params *qdrant.SearchParams
	if len(exclude) > 0 {
		// BM25's statistics must not count the excluded versions either.
		params = &qdrant.SearchParams{Idf: &qdrant.IdfParams{Corpus: corpus}}
	}
	// Lexical candidates can be many (up to maxLex): they come with what
	// ranking needs, and the chosen ones' text and metadata are read after.
	lexFields := qdrant.NewWithPayloadInclude(keyDocID, keyVersion, keyChunkID, keyDL)
	var queries []*qdrant.QueryPoints
	denseAt, lexAt := -1, -1
	if sr.mode != ragd.ModeLexical {
		denseAt = len(queries)
		queries = append(queries, &qdrant.QueryPoints{
			CollectionName: info.physical,
			Query:          qdrant.NewQueryNearest(qdrant.NewVectorInputDense(sr.q.Vector)),
			Using:          qdrant.PtrOf(denseVector),
			Filter:         filter,
			Limit:          qdrant.PtrOf(uint64(denseLim)),
			WithPayload:    chunkFields(),
		})
	}
	if len(sr.terms) > 0 {
		lexAt = len(queries)
		queries = append(queries, &qdrant.QueryPoints{
			CollectionName: info.physical,
			Query:          qdrant.NewQueryNearest(qdrant.NewVectorInputSparse(sr.terms, ones(len(sr.terms)))),
			Using:          qdrant.PtrOf(sparseVector),
			Filter:         filter,
			Params:         params,
			Limit:          qdrant.PtrOf(uint64(lexLim)),
			WithPayload:    lexFields,
			WithVectors:    qdrant.NewWithVectorsInclude(sparseVector),
		})
		// One point holding each term shows the term's IDF as Qdrant
		// computes it: its score divided by its weight.
		for _, t := range sr.terms {
			queries = append(queries, &qdrant.QueryPoints{
				CollectionName: info.physical,
				Query:          qdrant.NewQueryNearest(qdrant.NewVectorInputSparse([]uint32{t}, []float32{1})),
				Using:          qdrant.PtrOf(sparseVector),
				Filter:         corpus,
				Params:         params,
				Limit:          qdrant.PtrOf(uint64(1)),
				WithPayload:    qdrant.NewWithPayloadInclude(keyDocID, keyVersion),
				WithVectors:    qdrant.NewWithVectorsInclude(sparseVector),
			})
		}
	}
	rd := &round{sr: sr, avgFixed: info.avgLen}
	var facetErr error
	var wg sync.WaitGroup
	if lexAt >= 0 {
		// Only chunks carry a length, so with nothing to exclude the facet
		// needs no filter, and Qdrant answers it from the index alone.
		var lengthFilter *qdrant.Filter
		if len(exclude) > 0 {
			lengthFilter = corpus
		}
		wg.Go(func() { rd.chunks, rd.termSum, facetErr = s.lengths(ctx, info, lengthFilter) })
	}
	lists, err := s.queryBatch(ctx, info, queries)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if facetErr != nil {
		return nil, facetErr
	}
	if denseAt >= 0 {
		rd.dense = lists[denseAt]
	}
	if lexAt >= 0 {
		rd.lex = lists[lexAt]
		rd.perTerm = lists[lexAt+1:]
	}
	rd.recs, rd.stale, err = s.checkVersions(ctx, info, lists, sr.ex)
	if err != nil {
		return nil, err
	}
	return rd, nil
}

func ones(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// lengths returns the number of chunks matching corpus (all chunks when it
// is nil) and their total length in lexical terms, from a facet of the
// chunks' lengths.
func (s *Store) lengths(ctx context.Context, info *collectionInfo, corpus *qdrant.Filter) (chunks, terms int, err error) {
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.points.Facet(cctx, &qdrant.FacetCounts{
		CollectionName: info.physical,
		Key:            keyDL,
		Filter:         corpus,
		Limit:          qdrant.PtrOf(uint64(maxFacetValues)),
		Exact:          qdrant.PtrOf(true),
	})
	if err != nil {
		return 0, 0, s.fail(ctx, info, err, "facet chunk lengths")
	}
	for _, h := range resp.GetHits() {
		chunks += int(h.GetCount())
		terms += int(h.GetCount()) * int(h.GetValue().GetIntegerValue())
	}
	return chunks, terms, nil
}

// maxFacetValues bounds the distinct chunk lengths a facet returns; chunks
// hold at most ragd.MaxChunkTokens tokens, so far fewer lengths exist.
const maxFacetValues = 1 << 16

// dropStale removes points that are not of their document's current
// version, when the rounds ran out under heavy concurrent writing.
func (rd *round) dropStale() {
	stale := func(p *qdrant.ScoredPoint) bool {
		rec, ok := rd.recs[strPayload(p.GetPayload(), keyDocID)]
		return !ok || rec.version != strPayload(p.GetPayload(), keyVersion)
	}
	if rd.dense != nil {
		rd.dense = slices.DeleteFunc(slices.Clone(rd.dense), stale)
	}
	if rd.lex != nil {
		rd.lex = slices.DeleteFunc(slices.Clone(rd.lex), stale)
	}
	for i, l := range rd.perTerm {
		rd.perTerm[i] = slices.DeleteFunc(slices.Clone(l), stale)
	}
}

// denseRanking is the vector ranking: Qdrant's cosine scores, equal scores
// by chunk ID.
func (rd *round) denseRanking() []scored {
	out := make([]scored, 0, len(rd.dense))
	for _, p := range rd.dense {
		out = append(out, scored{p: p, chunkID: strPayload(p.GetPayload(), keyChunkID), score: float64(p.GetScore())})
	}
	sortScored(out)
	return out
}

// lexicalRanking rescores the lexical candidates with exact BM25 (the live
// average chunk length, IDF in float64) and reports whether the first k
// are certainly the first k of the whole collection.
//
// Qdrant ranked the candidates by weights normalized with the average
// length fixed at creation, avgFixed. For a term, the exact weight over the
// stored one is (tf + K1*n0) / (tf + K1*n1), with n = 1 - B + B*len/avg for
// the fixed and the live average; that is at most max(1, avgLive/avgFixed).
// So no point beyond the candidates, whose stored score is at most the last
// candidate's, can score more than that bound times it: if the bound is
// below the k-th exact score, the first k are final.
func (rd *round) lexicalRanking(k, lim int) ([]scored, bool) {
	if rd.chunks == 0 || len(rd.lex) == 0 {
		return nil, true
	}
	avgLive := float64(rd.termSum) / float64(rd.chunks)
	idf := make(map[uint32]float64, len(rd.sr.terms))
	for i, t := range rd.sr.terms {
		if v, ok := rd.termIDF(t, rd.perTerm[i]); ok {
			idf[t] = v
		}
	}
	out := make([]scored, 0, len(rd.lex))
	for _, p := range rd.lex {
		idx, vals := sparseData(p.GetVectors().GetVectors().GetVectors()[sparseVector])
		dl := int(intPayload(p.GetPayload(), keyDL))
		n0 := 1 - lexical.B + lexical.B*float64(dl)/rd.avgFixed
		var score float64
		found := false
		for _, t := range rd.sr.terms {
			j, ok := slices.BinarySearch(idx, t)
			if !ok || vals[j] <= 0 || vals[j] >= 1 {
				continue
			}
			w := float64(vals[j])
			tf := max(1, int(math.Round(w*lexical.K1*n0/(1-w))))
			score += idf[t] * lexical.TF(tf, dl, avgLive)
			found = true
		}
		if found {
			out = append(out, scored{p: p, chunkID: strPayload(p.GetPayload(), keyChunkID), score: score, partial: true})
		}
	}
	sortScored(out)
	if len(rd.lex) < lim || len(out) < k {
		return out, len(rd.lex) < lim // every match was seen, or keep looking
	}
	bound := max(1, avgLive/rd.avgFixed) * (1 + 1e-4) * float64(rd.lex[len(rd.lex)-1].GetScore())
	return out, bound < out[k-1].score
}

// termIDF recovers a term's inverse document frequency from the point that
// holds it: Qdrant scored it idf * weight. From that and the chunk count it
// solves for the document frequency, an integer, and returns
// lexical.IDF(df, chunks) in float64; if the solution is not close to an
// integer (the counts disagree while a write is under way), it returns
// Qdrant's float32 value.
func (rd *round) termIDF(t uint32, l []*qdrant.ScoredPoint) (float64, bool) {
	if len(l) == 0 {
		return 0, false
	}
	idx, vals := sparseData(l[0].GetVectors().GetVectors().GetVectors()[sparseVector])
	j, ok := slices.BinarySearch(idx, t)
	if !ok || vals[j] <= 0 {
		return 0, false
	}
	q := float64(l[0].GetScore()) / float64(vals[j])
	e := math.Exp(q)
	df := (float64(rd.chunks) + 1 - 0.5*e) / e
	if r := math.Round(df); math.Abs(df-r) < 0.25 && r >= 1 && int(r) <= rd.chunks {
		return lexical.IDF(int(r), rd.chunks), true
	}
	return q, true
}

// sparseData reads a sparse vector in either of the forms Qdrant answers
// in, indexes ascending.
func sparseData(v *qdrant.VectorOutput) ([]uint32, []float32) {
	var idx []uint32
	var vals []float32
	if sp := v.GetSparse(); sp != nil {
		idx, vals = sp.GetIndices(), sp.GetValues()
	} else {
		idx, vals = v.GetIndices().GetData(), v.GetData() //nolint:staticcheck // older servers
	}
	if !slices.IsSorted(idx) {
		order := make([]int, len(idx))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(idx[a], idx[b]) })
		si, sv := make([]uint32, len(idx)), make([]float32, len(idx))
		for i, o := range order {
			si[i], sv[i] = idx[o], vals[o]
		}
		idx, vals = si, sv
	}
	return idx, vals
}

// rrf is reciprocal rank fusion of the two lists, each already ranked and
// cut: a point scores sum 1/(RRFK + rank), ranks from 1, in float64; equal
// scores go by chunk ID. It returns the best topK.
func rrf(dense, lex []scored, topK int) []scored {
	byID := map[string]*scored{}
	var order []*scored
	for _, l := range [][]scored{dense, lex} {
		for i, c := range l {
			key := c.p.GetId().GetUuid()
			f, ok := byID[key]
			if !ok {
				f = &scored{p: c.p, chunkID: c.chunkID, partial: c.partial}
				byID[key] = f
				order = append(order, f)
			}
			f.score += 1 / float64(ragd.RRFK+i+1)
		}
	}
	out := make([]scored, len(order))
	for i, f := range order {
		out[i] = *f
	}
	sortScored(out)
	return out[:min(topK, len(out))]
}

func (rd *round) hits(l []scored) []ragd.Hit {
	out := make([]ragd.Hit, 0, len(l))
	for _, c := range l {
		out = append(out, hitOf(c.p, rd.recs, c.score))
	}
	return out
}

// fill reads the hit fields of the partial points in l and puts them in
// place, reporting false, and leaving the points that are gone partial, if
// any of them no longer exists (a write replaced or deleted its document
// since the round).
func (s *Store) fill(ctx context.Context, info *collectionInfo, l []scored) (bool, error) {
	var ids []*qdrant.PointId
	for _, c := range l {
		if c.partial {
			ids = append(ids, c.p.GetId())
		}
	}
	if len(ids) == 0 {
		return true, nil
	}
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.points.Get(cctx, &qdrant.GetPoints{
		CollectionName: info.physical,
		Ids:            ids,
		WithPayload:    chunkFields(),
		WithVectors:    qdrant.NewWithVectors(false),
	})
	if err != nil {
		return false, s.fail(ctx, info, err, "get chunks")
	}
	got := make(map[string]*qdrant.RetrievedPoint, len(resp.GetResult()))
	for _, p := range resp.GetResult() {
		got[p.GetId().GetUuid()] = p
	}
	complete := true
	for i, c := range l {
		if !c.partial {
			continue
		}
		rp, ok := got[c.p.GetId().GetUuid()]
		if !ok {
			complete = false
			continue
		}
		l[i].p = &qdrant.ScoredPoint{Id: rp.GetId(), Payload: rp.GetPayload(), Score: c.p.GetScore()}
		l[i].partial = false
	}
	return complete, nil
}

// checkVersions reads the records of every document the lists (and earlier
// rounds' exclusions) mention and reports whether any point is of a version
// that is not current, adding what to exclude to ex.
func (s *Store) checkVersions(ctx context.Context, info *collectionInfo, lists [][]*qdrant.ScoredPoint, ex exclusions) (map[string]record, bool, error) {
	ids := map[string]bool{}
	for id := range ex {
		ids[id] = true
	}
	for _, l := range lists {
		for _, p := range l {
			ids[strPayload(p.GetPayload(), keyDocID)] = true
		}
	}
	recs, err := s.readRecords(ctx, info, slices.Sorted(maps.Keys(ids)), []string{keyTitle, keySource})
	if err != nil {
		return nil, false, err
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
	return recs, stale, nil
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

// chunkFields selects the payload a hit needs.
func chunkFields() *qdrant.WithPayloadSelector {
	return qdrant.NewWithPayloadInclude(keyDocID, keyVersion, keyChunkID, keyText, keyHeadings, keyStart, keyEnd, keyMetadata)
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

// hitOf converts a point, with its document's title and source.
func hitOf(p *qdrant.ScoredPoint, recs map[string]record, score float64) ragd.Hit {
	pl := p.GetPayload()
	docID := strPayload(pl, keyDocID)
	rec := recs[docID]
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
