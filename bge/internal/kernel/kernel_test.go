package kernel

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

func impls(t testing.TB) []*Impl {
	var out []*Impl
	for _, n := range Available() {
		im, err := New(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, im)
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func TestNew(t *testing.T) {
	if _, err := New("sse9"); err == nil {
		t.Errorf("unknown kernel accepted")
	}
	im, err := New("auto")
	if err != nil {
		t.Fatal(err)
	}
	if im.Name() != Available()[0] {
		t.Errorf("auto = %s, want %s", im.Name(), Available()[0])
	}
	for _, n := range []string{AVX2, AVX512} {
		if _, err := New(n); (err == nil) != Supported(n) {
			t.Errorf("New(%s): err = %v, supported = %v", n, err, Supported(n))
		}
	}
}

func TestGemm(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {16, 32, 384}, {13, 40, 33}, {30, 64, 800}, {97, 100, 17}, {7, 31, 0}}
	for _, im := range impls(t) {
		for _, sh := range shapes {
			for _, trans := range []bool{false, true} {
				for _, mode := range []int{0, 1, 2, 3, 4, 5, 6, 7} { // bit 0 acc, bit 1 bias, bit 2 direct A
					m, n, k := sh[0], sh[1], sh[2]
					name := fmt.Sprintf("%s/%dx%dx%d/trans=%v/mode=%d", im.Name(), m, n, k, trans, mode)
					t.Run(name, func(t *testing.T) {
						lda, ldb, ldc := k+3, n+2, n+5
						if trans {
							ldb = k + 1
						}
						a := randSlice(r, m*lda)
						var bsrc []float32
						if trans {
							bsrc = randSlice(r, n*ldb)
						} else {
							bsrc = randSlice(r, k*ldb)
						}
						bias := randSlice(r, n)
						c := randSlice(r, m*ldc)
						want := make([]float64, len(c))
						for i := range c {
							want[i] = float64(c[i])
						}
						acc, useBias := mode&1 != 0, mode&2 != 0
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								var s float64
								for kk := 0; kk < k; kk++ {
									var bv float32
									if trans {
										bv = bsrc[j*ldb+kk]
									} else {
										bv = bsrc[kk*ldb+j]
									}
									s += float64(a[i*lda+kk]) * float64(bv)
								}
								if acc {
									s += want[i*ldc+j]
								}
								if useBias {
									s += float64(bias[j])
								}
								want[i*ldc+j] = s
							}
						}
						pb := make([]float32, im.PackedSize(k, n))
						im.PackB(pb, bsrc, k, n, ldb, trans)
						var bb []float32
						if useBias {
							bb = bias
						}
						var s Scratch
						if mode >= 4 {
							im.GemmDirect(&s, m, n, k, a, lda, pb, c, ldc, bb, acc)
						} else {
							im.Gemm(&s, m, n, k, a, lda, pb, c, ldc, bb, acc)
						}
						for i := range c {
							tol := 1e-4 * (1 + math.Sqrt(float64(k)))
							if math.Abs(float64(c[i])-want[i]) > tol {
								t.Fatalf("c[%d] (row %d col %d) = %v, want %v", i, i/ldc, i%ldc, c[i], want[i])
							}
						}
					})
				}
			}
		}
	}
}

func TestPackBRows(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for _, im := range impls(t) {
		k, n := 37, 45
		w := randSlice(r, n*k)
		p1 := make([]float32, im.PackedSize(k, n))
		p2 := make([]float32, im.PackedSize(k, n))
		for i := range p2 {
			p2[i] = 9 // PackBRows must clear the padding
		}
		im.PackB(p1, w, k, n, k, true)
		im.PackBRows(p2, k, n, make([]float32, k), func(j int, row []float32) { copy(row, w[j*k:]) })
		for i := range p1 {
			if p1[i] != p2[i] {
				t.Fatalf("%s: packed[%d] = %v, want %v", im.Name(), i, p2[i], p1[i])
			}
		}
	}
}

func TestVectorFuncs(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, im := range impls(t) {
		for _, n := range []int{1, 7, 8, 9, 64, 255} {
			x := randSlice(r, n)
			for i := range x {
				x[i] *= 4
			}
			want := x[0]
			for _, v := range x {
				want = max(want, v)
			}
			if got := im.Max(x); got != want {
				t.Errorf("%s Max n=%d = %v, want %v", im.Name(), n, got, want)
			}
			y := append([]float32(nil), x...)
			sum := im.ExpSum(y, want, 0.7)
			var wsum float64
			for i, v := range x {
				e := math.Exp(float64((v - want) * float32(0.7)))
				wsum += e
				if math.Abs(float64(y[i])-e)/e > 3e-7 {
					t.Errorf("%s exp(%v) = %v, want %v", im.Name(), (v-want)*0.7, y[i], e)
				}
			}
			if math.Abs(float64(sum)-wsum) > 1e-5*wsum {
				t.Errorf("%s ExpSum n=%d = %v, want %v", im.Name(), n, sum, wsum)
			}
		}
		// GELU over a dense grid, including tails and extremes.
		var x []float32
		for v := -12.0; v <= 12; v += 0.0173 {
			x = append(x, float32(v))
		}
		x = append(x, 0, -0, 30, -30, 1e-6, -1e-6)
		y := append([]float32(nil), x...)
		im.GELU(y)
		for i, v := range x {
			w := 0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2))
			if d := math.Abs(float64(y[i]) - w); d > 5e-7*math.Max(1, math.Abs(w)) {
				t.Errorf("%s GELU(%v) = %v, want %v (diff %g)", im.Name(), v, y[i], w, d)
			}
		}
	}
}

func TestExpRange(t *testing.T) {
	for _, im := range impls(t) {
		x := []float32{-200, -100, -87, -50, -1, 0, 0, 0}
		im.ExpSum(x, 0, 1)
		for i, v := range x {
			if v < 0 || v > 1 || math.IsNaN(float64(v)) {
				t.Errorf("%s exp[%d] = %v", im.Name(), i, v)
			}
		}
		if x[5] != 1 || x[3] == 0 {
			t.Errorf("%s exp = %v", im.Name(), x)
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	// BERT shapes: FFN up and down projections on 512 tokens, a 16-token
	// query's FFN, and one attention head's Q·Kᵀ and P·V on 256 tokens
	// (the last two also with A read in place, as the encoder runs them).
	shapes := [][4]int{{510, 1536, 384, 0}, {512, 384, 1536, 0}, {16, 1536, 384, 0}, {256, 256, 32, 0}, {256, 256, 32, 1}, {256, 32, 256, 0}, {256, 32, 256, 1}}
	r := rand.New(rand.NewSource(4))
	for _, im := range impls(b) {
		for _, sh := range shapes {
			m, n, k, direct := sh[0], sh[1], sh[2], sh[3] == 1
			name := fmt.Sprintf("%s/M%d_N%d_K%d", im.Name(), m, n, k)
			if direct {
				name += "_direct"
			}
			b.Run(name, func(b *testing.B) {
				a := randSlice(r, m*k)
				w := randSlice(r, n*k)
				pb := make([]float32, im.PackedSize(k, n))
				im.PackB(pb, w, k, n, k, true)
				c := make([]float32, m*n)
				bias := randSlice(r, n)
				var s Scratch
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if direct {
						im.GemmDirect(&s, m, n, k, a, k, pb, c, n, bias, false)
					} else {
						im.Gemm(&s, m, n, k, a, k, pb, c, n, bias, false)
					}
				}
				b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkVector(b *testing.B) {
	r := rand.New(rand.NewSource(5))
	x := randSlice(r, 1536)
	for _, im := range impls(b) {
		b.Run(im.Name()+"/GELU", func(b *testing.B) {
			y := make([]float32, len(x))
			for i := 0; i < b.N; i++ {
				copy(y, x)
				im.GELU(y)
			}
			b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
		b.Run(im.Name()+"/ExpSum", func(b *testing.B) {
			y := make([]float32, len(x))
			for i := 0; i < b.N; i++ {
				copy(y, x)
				im.ExpSum(y, 4, 0.125)
			}
			b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
