package dot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func reference(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func randomVector(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestKernels checks every implementation the CPU can run against a
// float64 reference, on lengths around each kernel's block sizes.
func TestKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ks := kernels()
	t.Logf("kernels: %v (in use: %s)", names(ks), Kernel())
	for _, n := range []int{0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 383, 384, 385, 768, 1024, 1536} {
		a, b := randomVector(rng, n), randomVector(rng, n)
		want := reference(a, b)
		for _, k := range ks {
			got := float64(k.product(a, b))
			if tol := 1e-5 * (1 + math.Sqrt(float64(n))); math.Abs(got-want) > tol {
				t.Errorf("%s(n=%d) = %v, want %v", k.name, n, got, want)
			}
		}
	}
}

func TestKernelsExact(t *testing.T) {
	// Small integers are exact in float32: every kernel must agree exactly.
	for _, n := range []int{16, 48, 64, 100, 384} {
		a, b := make([]float32, n), make([]float32, n)
		var want float32
		for i := range a {
			a[i], b[i] = float32(i%7-3), float32(i%5-2)
			want += a[i] * b[i]
		}
		for _, k := range kernels() {
			if got := k.product(a, b); got != want {
				t.Errorf("%s(n=%d) = %v, want %v", k.name, n, got, want)
			}
		}
	}
}

func TestBatch4Kernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dim := range []int{1, 4, 8, 12, 16, 24, 32, 40, 48, 100, 384, 385, 768} {
		q := randomVector(rng, dim)
		v := randomVector(rng, 4*dim)
		for _, k := range kernels() {
			var out [4]float32
			k.batch4(q, v, &out)
			for j := range out {
				want := reference(q, v[j*dim:(j+1)*dim])
				if tol := 1e-5 * (1 + math.Sqrt(float64(dim))); math.Abs(float64(out[j])-want) > tol {
					t.Errorf("%s batch4(dim=%d)[%d] = %v, want %v", k.name, dim, j, out[j], want)
				}
			}
		}
	}
}

// TestBatchDeterministic checks that equal vectors score exactly equal
// wherever they sit in a batch, including in the padded last group.
func TestBatchDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, dim := range []int{4, 8, 384, 385} {
		q, x := randomVector(rng, dim), randomVector(rng, dim)
		const n = 11
		vecs := make([]float32, 0, n*dim)
		for i := 0; i < n; i++ {
			vecs = append(vecs, x...)
		}
		out := make([]float32, n)
		Batch(q, vecs, out)
		for i := range out {
			if out[i] != out[0] {
				t.Errorf("dim %d: vector %d scores %v, vector 0 %v", dim, i, out[i], out[0])
			}
		}
	}
}

func TestBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	q := randomVector(rng, 384)
	vecs := randomVector(rng, 384*11)
	out := make([]float32, 11)
	Batch(q, vecs, out)
	for i := range out {
		if want := reference(q, vecs[i*384:(i+1)*384]); math.Abs(float64(out[i])-want) > 1e-3 {
			t.Errorf("Batch[%d] = %v, want %v", i, out[i], want)
		}
	}
}

func TestProductPanicsOnLengthMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Product of different lengths did not panic")
		}
	}()
	Product([]float32{1, 2}, []float32{1})
}

func names(ks []kernel) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.name)
	}
	return out
}

func BenchmarkProduct384(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	x, y := randomVector(rng, 384), randomVector(rng, 384)
	for _, k := range kernels() {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(384 * 4 * 2)
			var s float32
			for b.Loop() {
				s += k.product(x, y)
			}
			_ = fmt.Sprint(s)
		})
	}
}

func BenchmarkBatch384(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	q := randomVector(rng, 384)
	vecs := randomVector(rng, 384*1024)
	out := make([]float32, 1024)
	for _, k := range kernels() {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(vecs) * 4))
			for b.Loop() {
				for i := 0; i+4 <= len(out); i += 4 {
					k.batch4(q, vecs[i*384:(i+4)*384], (*[4]float32)(out[i:i+4]))
				}
			}
		})
	}
}
