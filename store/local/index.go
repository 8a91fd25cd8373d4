package local

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// blockSlots is how many vectors one block of the slab holds. Blocks keep
// appends cheap (no slab ever moves) and are the unit of parallel scans.
const blockSlots = 1024

// index is a collection's in-memory search index. Chunks live in slots,
// numbered in the order they were added; a replaced or deleted chunk's
// slot is marked dead and skipped until the index is compacted.
//
// Readers hold collection.mu for reading; the writer (who holds
// DB.writeMu) changes the index only while holding collection.mu.
type index struct {
	dim    int
	slots  []slot
	blocks [][]float32 // block i holds the vectors of slots [i*blockSlots, (i+1)*blockSlots)
	docs   map[string]*docState

	termIDs  map[string]uint32
	postings [][]posting // by term ID
	df       []uint32    // live chunks containing each term
	totalLen int64       // terms in live chunks
	live     int
	dead     int

	// metas interns chunk metadata by its JSON, so chunks with equal
	// metadata share one read-only map. Only the writer uses it.
	metas map[string]map[string]any

	acc sync.Pool // *[]float64 BM25 accumulators, len(slots) or more
}

// slot is one chunk in the index.
type slot struct {
	doc    *docState
	id     string // chunk ID
	index  uint32 // chunk index in its document
	docLen uint32 // terms in the chunk, for BM25
	live   bool
	hasVec bool
	meta   map[string]any // read-only
}

// docState is one version of a document as the index knows it.
type docState struct {
	id     string
	title  string
	source string
	gen    uint64
	slots  []uint32
}

type posting struct {
	slot uint32
	tf   uint32
}

func newIndex(dim int) *index {
	return &index{
		dim:     dim,
		docs:    make(map[string]*docState),
		termIDs: make(map[string]uint32),
		metas:   make(map[string]map[string]any),
	}
}

// vector returns slot s's vector (zeros when it has none).
func (ix *index) vector(s uint32) []float32 {
	b := ix.blocks[s/blockSlots]
	i := int(s%blockSlots) * ix.dim
	return b[i : i+ix.dim]
}

// internMeta returns the shared map for a chunk's metadata JSON.
func (ix *index) internMeta(js []byte) (map[string]any, error) {
	if len(js) == 0 {
		return nil, nil
	}
	if m, ok := ix.metas[string(js)]; ok {
		return m, nil
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, err
	}
	ix.metas[string(js)] = m
	return m, nil
}

// addSlot appends a live chunk to the index.
func (ix *index) addSlot(d *docState, id string, index uint32, meta map[string]any, vec []float32, terms []termFreq) {
	s := uint32(len(ix.slots))
	var docLen uint32
	for _, t := range terms {
		docLen += t.tf
		ix.postings[t.id] = append(ix.postings[t.id], posting{s, t.tf})
		ix.df[t.id]++
	}
	ix.slots = append(ix.slots, slot{doc: d, id: id, index: index, docLen: docLen, live: true, hasVec: len(vec) > 0, meta: meta})
	if ix.dim > 0 {
		if int(s/blockSlots) == len(ix.blocks) {
			ix.blocks = append(ix.blocks, make([]float32, blockSlots*ix.dim))
		}
		if len(vec) > 0 {
			copy(ix.vector(s), vec)
		}
	}
	d.slots = append(d.slots, s)
	ix.totalLen += int64(docLen)
	ix.live++
}

// addTerm appends a term to the dictionary with the next ID.
func (ix *index) addTerm(t string) {
	ix.termIDs[t] = uint32(len(ix.postings))
	ix.postings = append(ix.postings, nil)
	ix.df = append(ix.df, 0)
}

// change is one committed write, to apply to the in-memory index.
type change struct {
	docID    string
	del      bool
	doc      *docState // the new version (nil for a delete)
	chunks   []preparedChunk
	oldTerms [][]termFreq // terms of each chunk of the retired version
	newTerms []string     // terms added to the dictionary, in ID order
}

// apply makes a committed write visible to readers, all at once, and
// compacts the index when dead slots have piled up. The caller holds
// DB.writeMu.
func (c *collection) apply(ch *change, compactMin int) {
	ix := c.idx
	// Decode metadata before taking the lock; interning needs no lock as
	// only the writer uses ix.metas.
	metas := make([]map[string]any, len(ch.chunks))
	for i, p := range ch.chunks {
		// The JSON was produced by json.Marshal: it decodes.
		metas[i], _ = ix.internMeta(p.rec.meta)
	}
	c.mu.Lock()
	for _, t := range ch.newTerms {
		ix.addTerm(t)
	}
	if old := ix.docs[ch.docID]; old != nil {
		for _, s := range old.slots {
			sl := &ix.slots[s]
			if sl.live {
				sl.live = false
				ix.live--
				ix.dead++
				ix.totalLen -= int64(sl.docLen)
			}
		}
		for _, terms := range ch.oldTerms {
			for _, t := range terms {
				ix.df[t.id]--
			}
		}
		delete(ix.docs, ch.docID)
	}
	if !ch.del {
		for i, p := range ch.chunks {
			ix.addSlot(ch.doc, p.rec.id, uint32(p.index), metas[i], p.rec.vector, p.rec.terms)
		}
		ix.docs[ch.docID] = ch.doc
	}
	c.mu.Unlock()

	if ix.dead >= compactMin && ix.dead >= ix.live/4 {
		nix := ix.compacted()
		c.mu.Lock()
		c.idx = nix
		c.mu.Unlock()
		c.compactions++
	}
}

// compacted returns a copy of the index without its dead slots. Readers
// keep using the old index meanwhile: the writer, who calls this, is the
// only one who changes it.
func (ix *index) compacted() *index {
	n := newIndex(ix.dim)
	n.termIDs = ix.termIDs // the dictionary is append-only and kept
	n.df = make([]uint32, len(ix.df))
	copy(n.df, ix.df)
	n.postings = make([][]posting, len(ix.postings))
	remap := make([]uint32, len(ix.slots))
	kept := make(map[unsafe.Pointer]bool)
	newDocs := make(map[*docState]*docState, len(ix.docs))
	for _, d := range ix.docs {
		nd := *d
		nd.slots = nil
		newDocs[d] = &nd
		n.docs[nd.id] = &nd
	}
	for s := range ix.slots {
		sl := ix.slots[s]
		if !sl.live {
			continue
		}
		ns := uint32(len(n.slots))
		remap[s] = ns
		sl.doc = newDocs[sl.doc]
		sl.doc.slots = append(sl.doc.slots, ns)
		n.slots = append(n.slots, sl)
		if n.dim > 0 {
			if int(ns/blockSlots) == len(n.blocks) {
				n.blocks = append(n.blocks, make([]float32, blockSlots*n.dim))
			}
			copy(n.vector(ns), ix.vector(uint32(s)))
		}
		n.totalLen += int64(sl.docLen)
		if sl.meta != nil {
			kept[reflect.ValueOf(sl.meta).UnsafePointer()] = true
		}
	}
	// Keep the interned metadata that live chunks still use.
	for js, m := range ix.metas {
		if kept[reflect.ValueOf(m).UnsafePointer()] {
			n.metas[js] = m
		}
	}
	n.live = len(n.slots)
	for t, ps := range ix.postings {
		var out []posting
		for _, p := range ps {
			if ix.slots[p.slot].live {
				out = append(out, posting{remap[p.slot], p.tf})
			}
		}
		n.postings[t] = out
	}
	return n
}

// loadIndex builds a collection's index from its bucket.
func loadIndex(b *bolt.Bucket, dim int) (*index, error) {
	ix := newIndex(dim)
	nextTerm := getUvarint(b.Bucket([]byte(bucketState)), keyNextTerm)
	ix.postings = make([][]posting, nextTerm)
	ix.df = make([]uint32, nextTerm)
	err := b.Bucket([]byte(bucketTerms)).ForEach(func(k, v []byte) error {
		id, n := binary.Uvarint(v)
		if n <= 0 || id >= nextTerm {
			return fmt.Errorf("term %q has a bad ID", k)
		}
		ix.termIDs[string(k)] = uint32(id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = b.Bucket([]byte(bucketDocs)).ForEach(func(k, v []byte) error {
		gen, title, source, _, err := decodeDocHeader(v)
		if err != nil {
			return fmt.Errorf("document %q: %w", k, err)
		}
		ix.docs[string(k)] = &docState{id: string(k), title: title, source: source, gen: gen}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var (
		doc   *docState
		vec   []float32
		terms []termFreq
	)
	cur := b.Bucket([]byte(bucketChunks)).Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		docID, gen, index, err := parseChunkKey(k)
		if err != nil {
			return nil, err
		}
		if doc == nil || doc.id != string(docID) {
			doc = ix.docs[string(docID)]
		}
		if doc == nil || doc.gen != gen {
			continue // a retired version not yet collected
		}
		d := decoder{b: v}
		d.header()
		id := string(d.bytes())
		d.skipTextual()
		meta := d.bytes()
		vec = d.vector(vec[:0])
		terms = d.terms(terms[:0])
		if d.err != nil {
			return nil, fmt.Errorf("chunk %q of document %q: %w", id, docID, d.err)
		}
		if len(vec) != 0 && len(vec) != dim {
			return nil, fmt.Errorf("chunk %q has %d dimensions, collection %d", id, len(vec), dim)
		}
		for _, t := range terms {
			if uint64(t.id) >= nextTerm {
				return nil, fmt.Errorf("chunk %q has an unknown term ID", id)
			}
		}
		m, err := ix.internMeta(meta)
		if err != nil {
			return nil, fmt.Errorf("chunk %q metadata: %w", id, err)
		}
		ix.addSlot(doc, id, uint32(index), m, vec, terms)
	}
	return ix, nil
}
