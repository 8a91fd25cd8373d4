// Package dot computes dot products of float32 vectors, the inner loop of
// the local store's exact vector search. On amd64 it uses AVX-512 or
// AVX2 with FMA when the CPU has them (chosen once at start-up) and
// portable Go otherwise; the purego build tag forces the portable code.
package dot

// Product returns the dot product of a and b, which must have the same
// length.
func Product(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("dot: vectors of different lengths")
	}
	return best.product(a, b)
}

// Batch sets out[i] to the dot product of q with the i-th vector of vecs,
// which holds len(out) vectors of len(q) components back to back.
func Batch(q, vecs []float32, out []float32) {
	n := len(q)
	if len(vecs) < len(out)*n {
		panic("dot: vecs holds fewer vectors than out")
	}
	k := best
	for i := range out {
		out[i] = k.product(q, vecs[i*n:i*n+n])
	}
}

// Kernel names the implementation in use: "avx512", "avx2" or "go".
func Kernel() string { return best.name }

// kernel is one implementation of the dot product.
type kernel struct {
	name    string
	product func(a, b []float32) float32
}

// generic is the portable implementation: four independent sums, so the
// compiler can keep them in registers and the CPU can overlap the adds.
func generic(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		x, y := a[i:i+4:i+4], b[i:i+4:i+4]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
