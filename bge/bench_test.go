package bge

import (
	"bufio"
	"context"
	"math/rand"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/ragd/ragd/bge/bgetest"
	"github.com/ragd/ragd/bge/internal/kernel"
)

// Benchmarks on the real model shapes with random weights and the full
// 30,522-entry vocabulary:
//
//	go test ./bge -run '^$' -bench Encode -count 5
//
// They report tokens/s, effective GFLOP/s (the encoder's multiply-adds
// counted as 2 FLOPs) and peak-MB, the process's resident-set high-water
// mark (VmHWM) while loading the model and encoding, reset after the model
// file is written.

type benchShape struct {
	name                  string
	hidden, layers, heads int
	intermediate, maxPos  int
}

var (
	shapeSmall = benchShape{"small", 384, 12, 12, 1536, 512}
	shapeBase  = benchShape{"base", 768, 12, 12, 3072, 512}
)

// flops returns the floating-point operations to encode one sequence of n
// tokens.
func (s benchShape) flops(n int) float64 {
	H, I := float64(s.hidden), float64(s.intermediate)
	perToken := 2 * (4*H*H + 2*H*I)
	attn := 2 * 2 * float64(n) * H // Q·Kᵀ and P·V per token
	return float64(s.layers) * float64(n) * (perToken + attn)
}

func writeBenchModel(b, parent *testing.B, s benchShape) string {
	b.Helper()
	dir := parent.TempDir()
	err := bgetest.WriteTinyModel(dir, bgetest.TinyConfig{
		Hidden: s.hidden, Layers: s.layers, Heads: s.heads, Intermediate: s.intermediate,
		MaxPosition: s.maxPos, VocabWords: 1 << 20, Name: "bge-" + s.name + "-bench",
	}, 1)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	return dir
}

// resetPeakRSS resets the kernel's VmHWM for this process (Linux).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB returns VmHWM in MB, or -1 where it cannot be read.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err == nil {
				return float64(kb) / 1024
			}
		}
	}
	return -1
}

func randomSeqs(r *rand.Rand, n, length, vocab int) [][]int32 {
	seqs := make([][]int32, n)
	for i := range seqs {
		s := make([]int32, length)
		s[0], s[length-1] = 101, 102
		for j := 1; j < length-1; j++ {
			s[j] = int32(1000 + r.Intn(vocab-1000))
		}
		seqs[i] = s
	}
	return seqs
}

func benchEncode(parent *testing.B, shapes []benchShape, seqs, length int) {
	for _, s := range shapes {
		var dir string
		for _, kn := range kernel.Available() {
			if kn == kernel.Generic {
				continue // minutes per batch; measured by the kernel benchmarks
			}
			parent.Run(s.name+"/"+kn, func(b *testing.B) {
				if dir == "" {
					dir = writeBenchModel(b, parent, s)
				}
				runtime.GC()
				debug.FreeOSMemory()
				resetPeakRSS()
				m, err := Load(dir, Options{Kernel: kn})
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				in := randomSeqs(rand.New(rand.NewSource(1)), seqs, length, m.cfg.VocabSize)
				ctx := context.Background()
				if _, err := m.embedIDs(ctx, in); err != nil { // warm up
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := m.embedIDs(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(seqs*length*b.N)/sec, "tokens/s")
				b.ReportMetric(float64(seqs)*s.flops(length)*float64(b.N)/sec/1e9, "GFLOP/s")
				b.ReportMetric(sec*1e3/float64(b.N), "ms/batch")
				b.ReportMetric(peakRSSMB(), "peak-MB")
			})
		}
	}
}

// BenchmarkEncodeBatch encodes 32 sequences of 256 tokens.
func BenchmarkEncodeBatch(b *testing.B) {
	benchEncode(b, []benchShape{shapeSmall, shapeBase}, 32, 256)
}

// BenchmarkEncodeQuery encodes one query of 16 tokens.
func BenchmarkEncodeQuery(b *testing.B) {
	benchEncode(b, []benchShape{shapeSmall, shapeBase}, 1, 16)
}
