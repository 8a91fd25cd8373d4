//go:build amd64 && !purego

package kernel

import "golang.org/x/sys/cpu"

//go:generate go run gen.go

// Supported reports whether this CPU (and OS) can run the named kernel.
func Supported(name string) bool {
	switch name {
	case Generic:
		return true
	case AVX2:
		return cpu.X86.HasAVX2 && cpu.X86.HasFMA
	case AVX512:
		return cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA
	}
	return false
}

func newSIMD(name string) *Impl {
	im := &Impl{name: name, max: maxAVX2, expSum: expSumAVX2, gelu: geluAVX2}
	if name == AVX512 {
		im.nr, im.mr, im.kc, im.mc = 32, 12, 384, 96
		im.micros = avx512Micros[:im.mr+1]
		im.directs = avx512Directs[:im.mr+1]
	} else {
		im.nr, im.mr, im.kc, im.mc = 16, 6, 384, 96
		im.micros = avx2Micros[:im.mr+1]
		im.directs = avx2Directs[:im.mr+1]
	}
	return im
}

//go:noescape
func avx2Max(x *float32, n int) float32

//go:noescape
func avx2ExpSum(x *float32, n int, max, scale float32) float32

//go:noescape
func avx2GELU(x *float32, n int)

func maxAVX2(x []float32) float32 {
	n := len(x) &^ 7
	if n == 0 {
		return maxGo(x)
	}
	m := avx2Max(ptr(x), n)
	for _, v := range x[n:] {
		if v > m {
			m = v
		}
	}
	return m
}

func expSumAVX2(x []float32, max, scale float32) float32 {
	n := len(x) &^ 7
	var sum float32
	if n > 0 {
		sum = avx2ExpSum(ptr(x), n, max, scale)
	}
	return sum + expSumGo(x[n:], max, scale)
}

func geluAVX2(x []float32) {
	n := len(x) &^ 7
	if n > 0 {
		avx2GELU(ptr(x), n)
	}
	geluGo(x[n:])
}
