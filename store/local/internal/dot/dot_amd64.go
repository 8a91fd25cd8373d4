//go:build amd64 && !purego

package dot

import "golang.org/x/sys/cpu"

// best is chosen once from the CPU's features and never changes.
var best = pick()

func pick() kernel {
	switch {
	case hasAVX512():
		return kernel{"avx512", productAVX512}
	case hasAVX2():
		return kernel{"avx2", productAVX2}
	}
	return kernel{"go", generic}
}

func hasAVX512() bool { return cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ }
func hasAVX2() bool   { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// kernels returns every implementation this CPU can run, for tests.
func kernels() []kernel {
	ks := []kernel{{"go", generic}}
	if hasAVX2() {
		ks = append(ks, kernel{"avx2", productAVX2})
	}
	if hasAVX512() {
		ks = append(ks, kernel{"avx512", productAVX512})
	}
	return ks
}

//go:noescape
func dotAVX512(a, b *float32, n int) float32

//go:noescape
func dotAVX2(a, b *float32, n int) float32

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
