package storetest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/lexical"
)

// ScoreTolerance is how far a store's scores may be from the reference's:
// float32 arithmetic and a different order of summation are fine, a
// different formula is not.
const ScoreTolerance = 1e-5

// Reference is a straightforward in-memory model of one collection: it
// stores documents as given and searches by brute force, computing every
// score from its definition. The suite checks stores against it; backends
// can use it in their own tests too.
type Reference struct {
	coll ragd.Collection
	docs map[string]refDoc
}

type refDoc struct {
	doc    ragd.Document
	chunks []ragd.Chunk
}

// NewReference returns an empty model of collection c.
func NewReference(c ragd.Collection) *Reference {
	return &Reference{coll: c, docs: make(map[string]refDoc)}
}

// Put stores doc and replaces its chunks, with metadata as a JSON round
// trip leaves it (numbers become float64).
func (r *Reference) Put(doc ragd.Document, chunks []ragd.Chunk) {
	doc.Metadata = RoundTrip(doc.Metadata)
	doc.ChunkCount = len(chunks)
	cs := make([]ragd.Chunk, len(chunks))
	for i, c := range chunks {
		c.DocumentID = doc.ID
		c.Metadata = RoundTrip(c.Metadata)
		cs[i] = c
	}
	slices.SortFunc(cs, func(a, b ragd.Chunk) int { return cmp.Compare(a.Index, b.Index) })
	r.docs[doc.ID] = refDoc{doc: doc, chunks: cs}
}

// Delete removes a document and reports whether it existed.
func (r *Reference) Delete(id string) bool {
	_, ok := r.docs[id]
	delete(r.docs, id)
	return ok
}

// Document returns a stored document.
func (r *Reference) Document(id string) (ragd.Document, []ragd.Chunk, bool) {
	d, ok := r.docs[id]
	return d.doc, d.chunks, ok
}

// Counts returns the number of documents and chunks.
func (r *Reference) Counts() (docs, chunks int) {
	for _, d := range r.docs {
		docs++
		chunks += len(d.chunks)
	}
	return docs, chunks
}

// DocumentIDs returns the stored document IDs in ascending order.
func (r *Reference) DocumentIDs() []string {
	ids := make([]string, 0, len(r.docs))
	for id := range r.docs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Search returns what a store must return for q: [Reference.Rank] cut at
// q.TopK.
func (r *Reference) Search(q ragd.SearchQuery) ([]ragd.Hit, error) {
	hits, err := r.Rank(q)
	if err != nil {
		return nil, err
	}
	if len(hits) > q.TopK {
		hits = hits[:q.TopK]
	}
	return hits, nil
}

// Rank returns every hit for q, best first, ties by chunk ID, with
// q.MinScore applied but not q.TopK (except inside hybrid search, whose
// lists are cut at ragd.HybridCandidates(q.TopK) before fusion). Errors
// are EInvalid, for the same queries a store must refuse.
func (r *Reference) Rank(q ragd.SearchQuery) ([]ragd.Hit, error) {
	if q.TopK < 1 || q.TopK > ragd.MaxTopK {
		return nil, ragd.Errorf(ragd.EInvalid, "top_k must be between 1 and %d", ragd.MaxTopK)
	}
	var hits []ragd.Hit
	switch q.Mode {
	case ragd.ModeVector:
		if len(q.Vector) != r.coll.Dimension || r.coll.Dimension == 0 {
			return nil, ragd.Errorf(ragd.EInvalid, "query vector has %d dimensions, collection %d", len(q.Vector), r.coll.Dimension)
		}
		hits = r.vector(q)
	case ragd.ModeLexical:
		hits = r.lexical(q)
	case ragd.ModeHybrid:
		if len(q.Vector) != r.coll.Dimension || r.coll.Dimension == 0 {
			return nil, ragd.Errorf(ragd.EInvalid, "query vector has %d dimensions, collection %d", len(q.Vector), r.coll.Dimension)
		}
		n := ragd.HybridCandidates(q.TopK)
		v, l := r.vector(q), r.lexical(q)
		hits = rrf(v[:min(n, len(v))], l[:min(n, len(l))])
	default:
		return nil, ragd.Errorf(ragd.EInvalid, "unknown mode %q", q.Mode)
	}
	out := hits[:0]
	for _, h := range hits {
		if h.Score >= q.MinScore {
			out = append(out, h)
		}
	}
	return out, nil
}

// Components returns the vector and lexical rankings that hybrid search
// fuses for q, each cut at ragd.HybridCandidates(q.TopK).
func (r *Reference) Components(q ragd.SearchQuery) (vector, lex []ragd.Hit) {
	n := ragd.HybridCandidates(q.TopK)
	v, l := r.vector(q), r.lexical(q)
	return v[:min(n, len(v))], l[:min(n, len(l))]
}

func (r *Reference) hit(d refDoc, c ragd.Chunk, score float64) ragd.Hit {
	return ragd.Hit{
		ChunkID:    c.ID,
		DocumentID: d.doc.ID,
		Title:      d.doc.Title,
		Source:     d.doc.Source,
		Text:       c.Text,
		Headings:   c.Headings,
		Score:      score,
		Metadata:   c.Metadata,
		Start:      c.Start,
		End:        c.End,
	}
}

// vector ranks every chunk with a vector that matches the filter by its
// dot product with the query (cosine similarity of unit vectors).
func (r *Reference) vector(q ragd.SearchQuery) []ragd.Hit {
	var hits []ragd.Hit
	for _, d := range r.docs {
		for _, c := range d.chunks {
			if c.Vector == nil || !q.Filter.Match(c.Metadata) {
				continue
			}
			var dot float64
			for i := range c.Vector {
				dot += float64(c.Vector[i]) * float64(q.Vector[i])
			}
			hits = append(hits, r.hit(d, c, dot))
		}
	}
	sortHits(hits)
	return hits
}

// lexical ranks the chunks that match the filter and contain a query term
// by BM25, with statistics over the whole collection.
func (r *Reference) lexical(q ragd.SearchQuery) []ragd.Hit {
	type entry struct {
		d   refDoc
		c   ragd.Chunk
		tfs map[string]int
		n   int
	}
	var all []entry
	df := map[string]int{}
	total := 0
	for _, d := range r.docs {
		for _, c := range d.chunks {
			e := entry{d: d, c: c, tfs: map[string]int{}}
			for _, t := range lexical.Terms(c.EmbeddingText()) {
				e.tfs[t]++
				e.n++
			}
			for t := range e.tfs {
				df[t]++
			}
			total += e.n
			all = append(all, e)
		}
	}
	if len(all) == 0 {
		return nil
	}
	avg := float64(total) / float64(len(all))
	terms := lexical.QueryTerms(q.Text)
	var hits []ragd.Hit
	for _, e := range all {
		if !q.Filter.Match(e.c.Metadata) {
			continue
		}
		var score float64
		found := false
		for _, t := range terms {
			if tf := e.tfs[t]; tf > 0 {
				score += lexical.Score(tf, e.n, avg, df[t], len(all))
				found = true
			}
		}
		if found {
			hits = append(hits, r.hit(e.d, e.c, score))
		}
	}
	sortHits(hits)
	return hits
}

// rrf is reciprocal rank fusion written out from its definition.
func rrf(lists ...[]ragd.Hit) []ragd.Hit {
	byID := map[string]*ragd.Hit{}
	var order []string
	for _, l := range lists {
		for rank, h := range l {
			s := 1 / float64(ragd.RRFK+rank+1)
			if p, ok := byID[h.ChunkID]; ok {
				p.Score += s
				continue
			}
			h.Score = s
			byID[h.ChunkID] = &h
			order = append(order, h.ChunkID)
		}
	}
	hits := make([]ragd.Hit, 0, len(order))
	for _, id := range order {
		hits = append(hits, *byID[id])
	}
	sortHits(hits)
	return hits
}

func sortHits(hits []ragd.Hit) {
	slices.SortFunc(hits, func(a, b ragd.Hit) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.ChunkID, b.ChunkID)
	})
}

// RoundTrip returns v as a JSON encoding and decoding leaves it: numbers
// become float64, arrays []any, objects map[string]any. Stores keep
// metadata this way.
func RoundTrip(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("storetest: metadata does not encode as JSON: %v", err))
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
