//go:build amd64 && !purego

package dot

import "golang.org/x/sys/cpu"

// best is chosen once from the CPU's features and never changes.
var best = pick()

func pick() kernel {
	switch {
	case hasAVX512():
		return kernel{"avx512", productAVX512, batch4AVX512}
	case hasAVX2():
		return kernel{"avx2", productAVX2, batch4AVX2}
	}
	return genericKernel
}

func hasAVX512() bool { return cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ }
func hasAVX2() bool   { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// kernels returns every implementation this CPU can run, for tests.
func kernels() []kernel {
	ks := []kernel{genericKernel}
	if hasAVX2() {
		ks = append(ks, kernel{"avx2", productAVX2, batch4AVX2})
	}
	if hasAVX512() {
		ks = append(ks, kernel{"avx512", productAVX512, batch4AVX512})
	}
	return ks
}

//go:noescape
func dotAVX512(a, b *float32, n int) float32

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func dot4AVX512(q, v *float32, dim, n int, out *float32)

//go:noescape
func dot4AVX2(q, v *float32, dim, n int, out *float32)

func productAVX512(a, b []float32) float32 {
	n := len(a) &^ 15
	var s float32
	if n > 0 {
		s = dotAVX512(&a[0], &b[0], n)
	}
	for i := n; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

func productAVX2(a, b []float32) float32 {
	n := len(a) &^ 7
	var s float32
	if n > 0 {
		s = dotAVX2(&a[0], &b[0], n)
	}
	for i := n; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

func batch4AVX512(q, v []float32, out *[4]float32) {
	dim := len(q)
	_ = v[4*dim-1]
	n := dim &^ 15
	if n > 0 {
		dot4AVX512(&q[0], &v[0], dim, n, &out[0])
	} else {
		*out = [4]float32{}
	}
	batch4Tail(q, v, n, out)
}

func batch4AVX2(q, v []float32, out *[4]float32) {
	dim := len(q)
	_ = v[4*dim-1]
	n := dim &^ 7
	if n > 0 {
		dot4AVX2(&q[0], &v[0], dim, n, &out[0])
	} else {
		*out = [4]float32{}
	}
	batch4Tail(q, v, n, out)
}

// batch4Tail adds the components from n on, which the kernels leave.
func batch4Tail(q, v []float32, n int, out *[4]float32) {
	dim := len(q)
	for j := range out {
		for i := n; i < dim; i++ {
			out[j] += q[i] * v[j*dim+i]
		}
	}
}
