package wordpiece_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragd/ragd/wordpiece"
)

// cfdocsText returns the text of every Cloudflare docs page in the shared
// evaluation data, concatenated.
func cfdocsText(b *testing.B) string {
	b.Helper()
	var sb strings.Builder
	root := filepath.Join(evalDir(b), "cfdocs", "src")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".mdx") {
			return err
		}
		data, err := os.ReadFile(path)
		sb.Write(data)
		sb.WriteByte('\n')
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return sb.String()
}

// BenchmarkCount measures Count on the Cloudflare docs pages (MB/s).
func BenchmarkCount(b *testing.B) {
	text := cfdocsText(b)
	tk := wordpiece.Default()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tk.Count(text)
	}
}

// BenchmarkTokenize measures Tokenize on the Cloudflare docs pages (MB/s).
func BenchmarkTokenize(b *testing.B) {
	text := cfdocsText(b)
	tk := wordpiece.Default()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tk.Tokenize(text)
	}
}

// BenchmarkCountSentence measures the per-call cost of Count on one
// sentence, as a chunker pays it for each candidate piece.
func BenchmarkCountSentence(b *testing.B) {
	text := "Workers AI lets you run machine learning models, on the Cloudflare network, from your own code."
	tk := wordpiece.Default()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tk.Count(text)
	}
}
