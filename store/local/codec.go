package local

import (
	"encoding/binary"
	"errors"
	"math"
)

// Chunk records are stored under chunkKey(docID, gen, index): the key
// sorts a document's versions together and a version's chunks by index.
//
// A record is:
//
//	byte    format (1)
//	string  chunk ID
//	string  text
//	uvarint number of headings, then each heading as a string
//	varint  start, end, tokens
//	string  hash
//	string  metadata as JSON ("" for none)
//	uvarint vector dimension (0 for none), then the components as
//	        little-endian float32
//	uvarint number of distinct terms, then each term's dictionary ID and
//	        frequency as uvarints, IDs ascending
//
// where a string is its uvarint length and its bytes. The terms make
// reopening a store cheap: it rebuilds the BM25 index without analyzing
// any text.
const recordFormat = 1

var errCorrupt = errors.New("corrupt chunk record")

// chunkPrefix returns the key prefix of one version of a document's
// chunks.
func chunkPrefix(docID string, gen uint64) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(docID)+8+4)
	b = binary.AppendUvarint(b, uint64(len(docID)))
	b = append(b, docID...)
	return binary.BigEndian.AppendUint64(b, gen)
}

// chunkKey returns the key of one chunk record.
func chunkKey(docID string, gen uint64, index int) []byte {
	return binary.BigEndian.AppendUint32(chunkPrefix(docID, gen), uint32(index))
}

// parseChunkKey splits a chunk key. The document ID aliases key.
func parseChunkKey(key []byte) (docID []byte, gen uint64, index int, err error) {
	n, w := binary.Uvarint(key)
	if w <= 0 || w != uvarintLen(n) || uint64(len(key)-w) != n+12 {
		return nil, 0, 0, errCorrupt
	}
	key = key[w:]
	docID = key[:n]
	gen = binary.BigEndian.Uint64(key[n:])
	index = int(binary.BigEndian.Uint32(key[n+8:]))
	return docID, gen, index, nil
}

// termFreq is one distinct term of a chunk and how often it occurs.
type termFreq struct {
	id uint32
	tf uint32
}

// record is a chunk as stored.
type record struct {
	id       string
	text     string
	headings []string
	start    int
	end      int
	tokens   int
	hash     string
	meta     []byte
	vector   []float32
	terms    []termFreq
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (r *record) encode() []byte {
	n := 64 + len(r.id) + len(r.text) + len(r.hash) + len(r.meta) + 4*len(r.vector) + 6*len(r.terms)
	for _, h := range r.headings {
		n += len(h) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, recordFormat)
	b = appendString(b, r.id)
	b = appendString(b, r.text)
	b = binary.AppendUvarint(b, uint64(len(r.headings)))
	for _, h := range r.headings {
		b = appendString(b, h)
	}
	b = binary.AppendVarint(b, int64(r.start))
	b = binary.AppendVarint(b, int64(r.end))
	b = binary.AppendVarint(b, int64(r.tokens))
	b = appendString(b, r.hash)
	b = binary.AppendUvarint(b, uint64(len(r.meta)))
	b = append(b, r.meta...)
	b = binary.AppendUvarint(b, uint64(len(r.vector)))
	for _, x := range r.vector {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	b = binary.AppendUvarint(b, uint64(len(r.terms)))
	for _, t := range r.terms {
		b = binary.AppendUvarint(b, uint64(t.id))
		b = binary.AppendUvarint(b, uint64(t.tf))
	}
	return b
}

// decoder reads a record field by field.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

// bytes returns the next length-prefixed field, aliasing the record.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) header() {
	if len(d.b) == 0 || d.b[0] != recordFormat {
		d.err = errCorrupt
		return
	}
	d.b = d.b[1:]
}

// skipTextual skips text, headings, positions and hash.
func (d *decoder) skipTextual() {
	d.bytes()
	for n := d.uvarint(); n > 0 && d.err == nil; n-- {
		d.bytes()
	}
	d.varint()
	d.varint()
	d.varint()
	d.bytes()
}

// vector reads the vector into dst (which it extends) and returns it.
func (d *decoder) vector(dst []float32) []float32 {
	n := d.uvarint()
	if d.err != nil {
		return dst
	}
	if n > uint64(len(d.b)/4) {
		d.err = errCorrupt
		return dst
	}
	for i := uint64(0); i < n; i++ {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(d.b[4*i:])))
	}
	d.b = d.b[4*n:]
	return dst
}

func (d *decoder) terms(dst []termFreq) []termFreq {
	n := d.uvarint()
	if n > uint64(len(d.b)/2) {
		d.err = errCorrupt
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		id := d.uvarint()
		tf := d.uvarint()
		if id > math.MaxUint32 || tf > math.MaxUint32 {
			d.err = errCorrupt
		}
		dst = append(dst, termFreq{uint32(id), uint32(tf)})
	}
	return dst
}

// decodeRecord decodes a whole record, copying what it keeps.
func decodeRecord(b []byte) (record, error) {
	d := decoder{b: b}
	var r record
	d.header()
	r.id = string(d.bytes())
	r.text = string(d.bytes())
	if n := d.uvarint(); d.err == nil && n <= uint64(len(d.b)) {
		for ; n > 0 && d.err == nil; n-- {
			r.headings = append(r.headings, string(d.bytes()))
		}
	} else if d.err == nil {
		d.err = errCorrupt
	}
	r.start = d.varint()
	r.end = d.varint()
	r.tokens = d.varint()
	r.hash = string(d.bytes())
	if m := d.bytes(); len(m) > 0 {
		r.meta = append([]byte(nil), m...)
	}
	r.vector = d.vector(nil)
	r.terms = d.terms(nil)
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return r, d.err
}

// uvarintLen is the length of the canonical encoding of v.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
