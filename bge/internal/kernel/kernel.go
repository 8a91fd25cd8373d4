// Package kernel holds the encoder's compute kernels: single-precision GEMM
// on weights packed once into panels, with Go-assembly micro-kernels for
// AVX-512 and AVX2+FMA chosen at run time and a pure-Go fallback, plus the
// vector functions the encoder needs (max, exp-and-sum for softmax, GELU).
//
// C = A·B (+ C) (+ bias): A is M×K row-major (activations), B is K×N packed
// by [Impl.PackB] into panels of NR columns (zero-padded), C is M×N
// row-major. A is packed per call into the micro-kernels' row-interleaved
// layout, block by block, in a caller-owned [Scratch].
package kernel

import (
	"fmt"
	"unsafe"
)

// microFunc computes an r×NR tile: acc = Apacked(r×k)·Bpanel(k×NR), then
// acc += C if flags&1, acc += bias if flags&2, and stores acc to C (row
// stride ldc elements). a is r-interleaved (a[kk*r+i]); b holds NR floats
// per kk.
type microFunc func(k int, a, b, c *float32, ldc int, bias *float32, flags int)

// directFunc is a microFunc that reads A's r rows in place (row stride
// lda) instead of from a packed buffer.
type directFunc func(k int, a *float32, lda int, b, c *float32, ldc int, bias *float32, flags int)

const (
	flagAcc  = 1
	flagBias = 2
)

// Names of the implementations, for [New].
const (
	Generic = "generic"
	AVX2    = "avx2"
	AVX512  = "avx512"
)

// Impl is one implementation of the kernels. It is immutable and safe for
// concurrent use; per-goroutine buffers live in a [Scratch].
type Impl struct {
	name   string
	nr     int         // panel width of packed B
	mr     int         // rows of the main tile
	micros []microFunc // micros[r] computes r rows, 1 <= r <= mr
	// directs, when not nil, replace micros and make packing A needless.
	directs []directFunc
	kc, mc  int // cache blocking of K and M

	max    func(x []float32) float32
	expSum func(x []float32, max, scale float32) float32
	gelu   func(x []float32)
}

// Name returns the implementation's name: "avx512", "avx2" or "generic".
func (im *Impl) Name() string { return im.name }

// NR returns the panel width of packed B matrices.
func (im *Impl) NR() int { return im.nr }

// New returns the named implementation, or the best one this CPU supports
// for "" or "auto". It fails for an implementation the CPU cannot run.
func New(name string) (*Impl, error) {
	switch name {
	case "", "auto":
		for _, n := range []string{AVX512, AVX2} {
			if Supported(n) {
				return New(n)
			}
		}
		return newGeneric(), nil
	case Generic:
		return newGeneric(), nil
	case AVX2, AVX512:
		if !Supported(name) {
			return nil, fmt.Errorf("kernel %q is not supported by this CPU", name)
		}
		return newSIMD(name), nil
	}
	return nil, fmt.Errorf("unknown kernel %q (want auto, avx512, avx2 or generic)", name)
}

// Available returns the implementations this CPU can run, best first.
func Available() []string {
	var out []string
	for _, n := range []string{AVX512, AVX2} {
		if Supported(n) {
			out = append(out, n)
		}
	}
	return append(out, Generic)
}

// PackedSize returns the length of a packed K×N matrix.
func (im *Impl) PackedSize(k, n int) int {
	return (n + im.nr - 1) / im.nr * im.nr * k
}

// PackB packs the K×N matrix B into dst (length PackedSize(k, n)). When
// trans is false B[kk][j] = src[kk*ld+j]; when trans is true
// B[kk][j] = src[j*ld+kk], which is how a PyTorch Linear weight [out, in]
// gives B = Wᵀ. Columns past N are zero.
func (im *Impl) PackB(dst, src []float32, k, n, ld int, trans bool) {
	nr := im.nr
	panels := (n + nr - 1) / nr
	dst = dst[:panels*nr*k]
	for p := 0; p < panels; p++ {
		j0 := p * nr
		w := min(nr, n-j0)
		d := dst[p*nr*k : (p+1)*nr*k]
		if !trans {
			for kk := 0; kk < k; kk++ {
				row := d[kk*nr : kk*nr+nr]
				copy(row, src[kk*ld+j0:kk*ld+j0+w])
				clear(row[w:])
			}
			continue
		}
		if w < nr {
			clear(d)
		}
		for j := 0; j < w; j++ {
			s := src[(j0+j)*ld : (j0+j)*ld+k]
			for kk, v := range s {
				d[kk*nr+j] = v
			}
		}
	}
}

// PackBRows is PackB for a transposed source read through a function that
// fills one source row (one output column of B) at a time; it lets callers
// convert F16/BF16 rows on the fly. row is scratch of length k.
func (im *Impl) PackBRows(dst []float32, k, n int, row []float32, fill func(j int, row []float32)) {
	nr := im.nr
	panels := (n + nr - 1) / nr
	dst = dst[:panels*nr*k]
	clear(dst)
	for j := 0; j < n; j++ {
		fill(j, row[:k])
		p, jj := j/nr, j%nr
		d := dst[p*nr*k:]
		for kk, v := range row[:k] {
			d[kk*nr+jj] = v
		}
	}
}

// Scratch holds one goroutine's packing buffers. The zero value is ready.
type Scratch struct {
	packA []float32
	tile  []float32
	bias  []float32
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// Gemm computes C = A·B, C += A·B when acc, plus bias (length N) when bias
// is not nil, for all of C's M rows and N columns. b is B packed for K×N.
func (im *Impl) Gemm(s *Scratch, m, n, k int, a []float32, lda int, b []float32, c []float32, ldc int, bias []float32, acc bool) {
	im.gemmBlock(s, 0, m, 0, n, n, k, a, lda, b, c, ldc, bias, acc, false)
}

// GemmDirect is Gemm for products that reuse each row of A only a few
// times (N of a few panels, as in attention): where the CPU has direct
// kernels it reads A in place instead of packing it, which there costs as
// much as the multiplication.
func (im *Impl) GemmDirect(s *Scratch, m, n, k int, a []float32, lda int, b []float32, c []float32, ldc int, bias []float32, acc bool) {
	im.gemmBlock(s, 0, m, 0, n, n, k, a, lda, b, c, ldc, bias, acc, im.directs != nil)
}

// PanelAlign returns the column granularity GemmBlock needs for n0.
func (im *Impl) PanelAlign() int { return im.nr }

// GemmBlock computes rows [m0, m1) and columns [n0, n1) of the product
// described in Gemm, where n is B's full column count. n0 must be a
// multiple of NR. Blocks that do not overlap may run concurrently, each
// with its own Scratch.
func (im *Impl) GemmBlock(s *Scratch, m0, m1, n0, n1, n, k int, a []float32, lda int, b []float32, c []float32, ldc int, bias []float32, acc bool) {
	im.gemmBlock(s, m0, m1, n0, n1, n, k, a, lda, b, c, ldc, bias, acc, false)
}

func (im *Impl) gemmBlock(s *Scratch, m0, m1, n0, n1, n, k int, a []float32, lda int, b []float32, c []float32, ldc int, bias []float32, acc, direct bool) {
	// A few rows (a query) are cheaper to read in place than to pack.
	direct = direct || (im.directs != nil && m1-m0 <= 2*im.mr)
	if m1 <= m0 || n1 <= n0 {
		return
	}
	if k == 0 {
		for i := m0; i < m1; i++ {
			row := c[i*ldc+n0 : i*ldc+n1]
			if !acc {
				clear(row)
			}
			if bias != nil {
				for j := range row {
					row[j] += bias[n0+j]
				}
			}
		}
		return
	}
	nr, mr := im.nr, im.mr
	// The micro-kernels trust their pointers; check the extents once.
	if m0 < 0 || n0 < 0 || n0%nr != 0 || n1 > n || lda < k || ldc < n1 ||
		len(a) < (m1-1)*lda+k || len(b) < im.PackedSize(k, n) || len(c) < (m1-1)*ldc+n1 ||
		(bias != nil && len(bias) < n) {
		panic(fmt.Sprintf("kernel: bad GEMM extents m=[%d,%d) n=[%d,%d)/%d k=%d lda=%d ldc=%d len(a)=%d len(b)=%d len(c)=%d",
			m0, m1, n0, n1, n, k, lda, ldc, len(a), len(b), len(c)))
	}
	kc := im.kc
	if nb := (k + kc - 1) / kc; nb > 1 {
		kc = (k + nb - 1) / nb // equal blocks
	}
	mc := im.mc
	if !direct {
		s.packA = grow(s.packA, mc*kc)
	}
	s.tile = grow(s.tile, mr*nr)
	s.bias = grow(s.bias, nr)
	panelLen := nr * k
	for pc := 0; pc < k; pc += kc {
		kb := min(kc, k-pc)
		flags := flagAcc
		if pc == 0 {
			flags = 0
			if acc {
				flags |= flagAcc
			}
			if bias != nil {
				flags |= flagBias
			}
		}
		for ic := m0; ic < m1; ic += mc {
			mb := min(mc, m1-ic)
			if !direct {
				im.packA(s.packA, a, lda, ic, mb, pc, kb)
			}
			for j := n0; j < n1; j += nr {
				w := min(nr, n1-j)
				bp := b[(j/nr)*panelLen+pc*nr:]
				var biasp *float32
				if flags&flagBias != 0 {
					if w == nr {
						biasp = &bias[j]
					} else {
						copy(s.bias, bias[j:j+w])
						clear(s.bias[w:])
						biasp = &s.bias[0]
					}
				}
				for ir := 0; ir < mb; ir += mr {
					r := min(mr, mb-ir)
					var ap *float32
					if direct {
						ap = &a[(ic+ir)*lda+pc]
					} else {
						ap = &s.packA[ir*kb]
					}
					if w == nr {
						im.micro(direct, r, kb, ap, lda, &bp[0], &c[(ic+ir)*ldc+j], ldc, biasp, flags)
						continue
					}
					t := s.tile[:r*nr]
					if flags&flagAcc != 0 {
						for i := 0; i < r; i++ {
							copy(t[i*nr:i*nr+w], c[(ic+ir+i)*ldc+j:])
						}
					}
					im.micro(direct, r, kb, ap, lda, &bp[0], &t[0], nr, biasp, flags)
					for i := 0; i < r; i++ {
						copy(c[(ic+ir+i)*ldc+j:(ic+ir+i)*ldc+j+w], t[i*nr:])
					}
				}
			}
		}
	}
}

// micro runs the r-row micro-kernel on A packed (ap into the packed
// buffer) or in place (ap into A, row stride lda).
func (im *Impl) micro(direct bool, r, k int, ap *float32, lda int, b, c *float32, ldc int, bias *float32, flags int) {
	if direct {
		im.directs[r](k, ap, lda, b, c, ldc, bias, flags)
		return
	}
	im.micros[r](k, ap, b, c, ldc, bias, flags)
}

// packA packs rows [i0, i0+mb) and columns [k0, k0+kb) of A into dst as
// consecutive tiles of mr rows (the last may be shorter), each tile
// interleaved: tile[kk*r+i].
func (im *Impl) packA(dst, a []float32, lda, i0, mb, k0, kb int) {
	mr := im.mr
	var rows [16][]float32
	for ir := 0; ir < mb; ir += mr {
		r := min(mr, mb-ir)
		for i := 0; i < r; i++ {
			off := (i0+ir+i)*lda + k0
			rows[i] = a[off : off+kb : off+kb]
		}
		d := dst[ir*kb : ir*kb+r*kb]
		if r == 12 {
			r0, r1, r2, r3, r4, r5 := rows[0], rows[1], rows[2], rows[3], rows[4], rows[5]
			r6, r7, r8, r9, r10, r11 := rows[6], rows[7], rows[8], rows[9], rows[10], rows[11]
			for kk := 0; kk < kb; kk++ {
				t := (*[12]float32)(d[kk*12 : kk*12+12])
				t[0], t[1], t[2], t[3], t[4], t[5] = r0[kk], r1[kk], r2[kk], r3[kk], r4[kk], r5[kk]
				t[6], t[7], t[8], t[9], t[10], t[11] = r6[kk], r7[kk], r8[kk], r9[kk], r10[kk], r11[kk]
			}
			continue
		}
		for kk := 0; kk < kb; kk++ {
			t := d[kk*r : kk*r+r]
			for i := range t {
				t[i] = rows[i][kk]
			}
		}
	}
}

// Max returns the largest element of x (len(x) > 0).
func (im *Impl) Max(x []float32) float32 { return im.max(x) }

// ExpSum sets x[i] = exp((x[i]-max)*scale) and returns the sum.
func (im *Impl) ExpSum(x []float32, max, scale float32) float32 { return im.expSum(x, max, scale) }

// GELU applies the exact (erf) GELU in place: x·Φ(x).
func (im *Impl) GELU(x []float32) { im.gelu(x) }

// ptr returns a pointer to the first element of x, which must not be empty.
func ptr(x []float32) *float32 { return unsafe.SliceData(x) }
