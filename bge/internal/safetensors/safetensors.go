// Package safetensors reads the safetensors format: an 8-byte little-endian
// header length, a JSON header describing each tensor's dtype, shape and
// byte range, then the raw tensor data. Files are memory-mapped read-only
// where the platform allows, so F32 tensors are used in place without a copy.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"unsafe"
)

// MaxHeaderSize is the largest JSON header accepted (the reference
// implementation uses the same 100 MB limit).
const MaxHeaderSize = 100 << 20

// DType is a tensor element type as spelled in the header.
type DType string

// Element types.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	F64  DType = "F64"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size returns the size in bytes of one element, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// Tensor describes one tensor of a file.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	// Data is the tensor's raw little-endian bytes, a view into the file.
	Data []byte
}

// Len returns the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float32 returns the tensor's values as float32. An F32 tensor whose data
// is suitably aligned on a little-endian machine is returned as a view of
// the file (no copy; it must not be written to). F16 and BF16 tensors are
// converted into a new slice.
func (t *Tensor) Float32() ([]float32, error) {
	n := t.Len()
	switch t.DType {
	case F32:
		if len(t.Data) == 0 {
			return []float32{}, nil
		}
		if littleEndian() && uintptr(unsafe.Pointer(&t.Data[0]))%4 == 0 {
			return unsafe.Slice((*float32)(unsafe.Pointer(&t.Data[0])), n), nil
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return out, nil
	case F16, BF16:
		out := make([]float32, n)
		t.Decode(out, 0)
		return out, nil
	}
	return nil, fmt.Errorf("tensor %q: dtype %s is not a floating-point type", t.Name, t.DType)
}

// Decode converts elements [start, start+len(dst)) of a floating-point
// tensor (F32, F16 or BF16) into dst. It panics on other dtypes; callers
// check the dtype when loading.
func (t *Tensor) Decode(dst []float32, start int) {
	switch t.DType {
	case F32:
		b := t.Data[4*start:]
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		b := t.Data[2*start:]
		for i := range dst {
			dst[i] = HalfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case BF16:
		b := t.Data[2*start:]
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	default:
		panic("safetensors: Decode on dtype " + string(t.DType))
	}
}

// HalfToFloat32 converts an IEEE 754 binary16 value to float32 exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: normalise into a float32 normal.
	e := uint32(113)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	mant &= 0x3ff
	return math.Float32frombits(sign | e<<23 | mant<<13)
}

// Float32ToHalf converts a float32 to binary16, rounding to nearest even.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff { // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		half := mant >> shift
		rem := mant & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, which is correct rounding
	}
	return sign | uint16(half)
}

// Float32ToBF16 converts a float32 to bfloat16, rounding to nearest even.
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7f800000 == 0x7f800000 && b&0x7fffff != 0 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// File is a parsed safetensors file.
type File struct {
	// Metadata is the optional "__metadata__" string map.
	Metadata map[string]string
	tensors  map[string]*Tensor
	names    []string
	unmap    func() error
	mapped   []byte // the whole mapping, when memory-mapped
}

// Release drops the file's pages from this process's resident set, for
// after the data has been copied out (packed weights). Tensor data stays
// valid: touching it again reads it back from the page cache.
func (f *File) Release() {
	if f.mapped != nil {
		release(f.mapped)
	}
}

// Tensor returns the named tensor, or nil.
func (f *File) Tensor(name string) *Tensor { return f.tensors[name] }

// Names returns the tensor names in file order.
func (f *File) Names() []string { return f.names }

// Close releases the file's mapping. Tensor data must not be used after.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap = nil
	f.tensors = nil
	f.mapped = nil
	return u()
}

type headerEntry struct {
	DType       DType     `json:"dtype"`
	Shape       []int64   `json:"shape"`
	DataOffsets [2]uint64 `json:"data_offsets"`
}

// Parse parses a whole safetensors file held in buf. The tensors' Data are
// views into buf. It returns an error, never panics, for any malformed
// input: a short file, a header length beyond the file, invalid JSON, an
// unknown dtype, a shape that does not match its byte range, offsets out
// of bounds, overlapping or leaving gaps, or trailing bytes.
func Parse(buf []byte) (*File, error) {
	if len(buf) < 8 {
		return nil, fmt.Errorf("file is %d bytes, shorter than the 8-byte header length", len(buf))
	}
	n := binary.LittleEndian.Uint64(buf)
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	if n > uint64(len(buf)-8) {
		return nil, fmt.Errorf("header length %d runs past the end of the %d-byte file (truncated?)", n, len(buf))
	}
	hdr := buf[8 : 8+n]
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, errors.New("header is not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("header JSON: %w", err)
	}
	data := buf[8+n:]
	f := &File{tensors: make(map[string]*Tensor, len(raw))}
	type span struct {
		name       string
		begin, end uint64
	}
	spans := make([]span, 0, len(raw))
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("header __metadata__: %w", err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("header entry %q: %w", name, err)
		}
		size := e.DType.Size()
		if size == 0 {
			return nil, fmt.Errorf("tensor %q: unknown dtype %q", name, e.DType)
		}
		elems := uint64(1)
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q: negative dimension %d", name, d)
			}
			if d > 0 && elems > (1<<62)/uint64(d) {
				return nil, fmt.Errorf("tensor %q: shape %v is too large", name, e.Shape)
			}
			elems *= uint64(d)
			shape[i] = int(d)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin > end || end > uint64(len(data)) {
			return nil, fmt.Errorf("tensor %q: data offsets [%d, %d] outside the %d data bytes", name, begin, end, len(data))
		}
		if end-begin != elems*uint64(size) {
			return nil, fmt.Errorf("tensor %q: %d bytes for shape %v of %s (want %d)", name, end-begin, e.Shape, e.DType, elems*uint64(size))
		}
		f.tensors[name] = &Tensor{Name: name, DType: e.DType, Shape: shape, Data: data[begin:end:end]}
		spans = append(spans, span{name, begin, end})
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].end < spans[j].end
	})
	var pos uint64
	for _, s := range spans {
		if s.begin != pos {
			if s.begin < pos {
				return nil, fmt.Errorf("tensor %q: data offsets [%d, %d] overlap another tensor", s.name, s.begin, s.end)
			}
			return nil, fmt.Errorf("tensor %q: data offsets [%d, %d] leave a gap after byte %d", s.name, s.begin, s.end, pos)
		}
		pos = s.end
		f.names = append(f.names, s.name)
	}
	if pos != uint64(len(data)) {
		return nil, fmt.Errorf("tensors cover %d of the %d data bytes", pos, len(data))
	}
	return f, nil
}

// Open memory-maps the file at path read-only and parses it. Close the
// File to unmap it.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	size := st.Size()
	if size < 8 {
		return nil, fmt.Errorf("file is %d bytes, shorter than the 8-byte header length", size)
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("file of %d bytes is too large to map", size)
	}
	buf, unmap, err := mapFile(fh, int(size))
	if err != nil {
		return nil, err
	}
	f, err := Parse(buf)
	if err != nil {
		unmap()
		return nil, err
	}
	f.unmap = unmap
	f.mapped = buf
	return f, nil
}
