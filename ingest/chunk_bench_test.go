package ingest_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/wordpiece"
)

// cfdocs returns the Cloudflare docs pages of the shared eval data as
// text-block documents.
func cfdocs(tb testing.TB) [][]ingest.Block {
	tb.Helper()
	root := filepath.Join("..", "..", "shared", "eval", "cfdocs", "src")
	var docs [][]ingest.Block
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".mdx") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		docs = append(docs, ingest.TextBlocks(string(data)))
		return nil
	})
	if err != nil || len(docs) == 0 {
		tb.Fatalf("read cfdocs under %s (the shared eval data must sit beside the repository): %v", root, err)
	}
	return docs
}

func TestChunkCfdocsWithWordPiece(t *testing.T) {
	tok := wordpiece.Default()
	c := &ingest.Chunker{Tokenizer: tok}
	cfg := ragd.Chunking{MaxTokens: ragd.DefaultMaxTokens, OverlapTokens: ragd.DefaultOverlapTokens}
	total := 0
	for _, blocks := range cfdocs(t) {
		text, chunks := c.Chunk(blocks, cfg, "Title")
		for _, ch := range chunks {
			if ch.Text != text[ch.Start:ch.End] {
				t.Fatal("chunk text is not its span")
			}
			// The embedded text fits the budget; counting the joined text may
			// differ from the sum of parts by the separators only.
			if n := tok.Count(ch.EmbeddingText()); n > cfg.MaxTokens+len(ch.Headings) {
				t.Errorf("chunk of %d tokens (limit %d): %.100q", n, cfg.MaxTokens, ch.Text)
			}
		}
		total += len(chunks)
	}
	t.Logf("%d chunks", total)
}

func BenchmarkChunkCfdocs(b *testing.B) {
	docs := cfdocs(b)
	size := 0
	for _, d := range docs {
		for _, bl := range d {
			size += len(bl.Text)
		}
	}
	c := &ingest.Chunker{Tokenizer: wordpiece.Default()}
	cfg := ragd.Chunking{MaxTokens: ragd.DefaultMaxTokens, OverlapTokens: ragd.DefaultOverlapTokens}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		for _, d := range docs {
			c.Chunk(d, cfg, "Title")
		}
	}
}
