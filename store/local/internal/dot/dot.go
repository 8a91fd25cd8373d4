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
// which holds len(out) vectors of len(q) components back to back. It
// computes four vectors at a time, and every vector with the same
// arithmetic wherever it sits, so equal vectors always score equal.
func Batch(q, vecs []float32, out []float32) {
	n := len(q)
	if len(vecs) < len(out)*n {
		panic("dot: vecs holds fewer vectors than out")
	}
	k := best
	i := 0
	for ; i+4 <= len(out); i += 4 {
		k.batch4(q, vecs[i*n:(i+4)*n], (*[4]float32)(out[i:i+4]))
	}
	if i < len(out) {
		// Pad the last group with zero vectors.
		scratch := make([]float32, 4*n)
		copy(scratch, vecs[i*n:len(out)*n])
		var last [4]float32
		k.batch4(q, scratch, &last)
		copy(out[i:], last[:len(out)-i])
	}
}

// Kernel names the implementation in use: "avx512", "avx2" or "go".
func Kernel() string { return best.name }

// kernel is one implementation.
type kernel struct {
	name    string
	product func(a, b []float32) float32
	// batch4 sets out[j] to q . v[j*len(q):(j+1)*len(q)] for j < 4.
	batch4 func(q, v []float32, out *[4]float32)
}

// generic is the portable dot product: four independent sums, so the
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

func genericBatch4(q, v []float32, out *[4]float32) {
	n := len(q)
	for j := range out {
		out[j] = generic(q, v[j*n:(j+1)*n])
	}
}

var genericKernel = kernel{"go", generic, genericBatch4}
