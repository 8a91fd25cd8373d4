package kernel

import (
	"math"
	"unsafe"
)

// The pure-Go implementation: 4×8 tiles, scalar arithmetic, float64
// transcendental functions. It is the reference the SIMD paths are tested
// against and the fallback where no SIMD kernel applies.
const (
	genericMR = 4
	genericNR = 8
)

func newGeneric() *Impl {
	im := &Impl{name: Generic, nr: genericNR, mr: genericMR, kc: 256, mc: 64,
		max: maxGo, expSum: expSumGo, gelu: geluGo}
	im.micros = make([]microFunc, genericMR+1)
	for r := 1; r <= genericMR; r++ {
		im.micros[r] = genericMicro(r)
	}
	return im
}

func genericMicro(r int) microFunc {
	return func(k int, a, b, c *float32, ldc int, bias *float32, flags int) {
		const nr = genericNR
		as := unsafe.Slice(a, k*r)
		bs := unsafe.Slice(b, k*nr)
		var acc [genericMR][nr]float32
		for kk := 0; kk < k; kk++ {
			bv := (*[nr]float32)(bs[kk*nr : kk*nr+nr])
			av := as[kk*r : kk*r+r]
			for i, x := range av {
				row := &acc[i]
				row[0] += x * bv[0]
				row[1] += x * bv[1]
				row[2] += x * bv[2]
				row[3] += x * bv[3]
				row[4] += x * bv[4]
				row[5] += x * bv[5]
				row[6] += x * bv[6]
				row[7] += x * bv[7]
			}
		}
		cs := unsafe.Slice(c, (r-1)*ldc+nr)
		var bv []float32
		if flags&flagBias != 0 {
			bv = unsafe.Slice(bias, nr)
		}
		for i := 0; i < r; i++ {
			out := cs[i*ldc : i*ldc+nr]
			for j := range out {
				v := acc[i][j]
				if flags&flagAcc != 0 {
					v += out[j]
				}
				if bv != nil {
					v += bv[j]
				}
				out[j] = v
			}
		}
	}
}

func maxGo(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

func expSumGo(x []float32, max, scale float32) float32 {
	var sum float32
	for i, v := range x {
		e := float32(math.Exp(float64((v - max) * scale)))
		x[i] = e
		sum += e
	}
	return sum
}

func geluGo(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}
