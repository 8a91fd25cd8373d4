package qdrant

import (
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/lexical"
	"github.com/ragd/ragd/store/storetest"
	"github.com/ragd/ragd/wordpiece"
)

// evalDir is the shared evaluation data, beside the repository.
var evalDir = filepath.Join("..", "..", "..", "shared", "eval")

// TestDefaultAvgLen chunks two evaluation corpora (SciFact in part) as ingest does and checks
// that the BM25 average length a new collection assumes is within 20 % of
// their real mean chunk length in lexical terms.
func TestDefaultAvgLen(t *testing.T) {
	if _, err := os.Stat(evalDir); err != nil {
		t.Fatalf("the shared eval data must sit beside the repository at %s: %v", evalDir, err)
	}
	cfg := ragd.Chunking{MaxTokens: ragd.DefaultMaxTokens, OverlapTokens: ragd.DefaultOverlapTokens}
	chunker := &ingest.Chunker{Tokenizer: wordpiece.Default()}
	meanLen := func(docs [][]ingest.Block) float64 {
		var terms, n int
		for _, blocks := range docs {
			_, chunks := chunker.Chunk(blocks, cfg, "")
			for _, ch := range chunks {
				terms += len(lexical.Terms(ch.EmbeddingText()))
				n++
			}
		}
		return float64(terms) / float64(n)
	}
	want := defaultAvgLen(cfg)
	for name, docs := range map[string][][]ingest.Block{"cfdocs": cfdocs(t), "scifact": beirCorpus(t, "scifact", 1500)} {
		got := meanLen(docs)
		t.Logf("%s: mean chunk length %.1f terms; default %.1f", name, got, want)
		if math.Abs(got-want)/got > 0.2 {
			t.Errorf("%s: mean chunk length %.1f terms, but new collections assume %.1f", name, got, want)
		}
	}
}

func cfdocs(t *testing.T) [][]ingest.Block {
	var docs [][]ingest.Block
	root := filepath.Join(evalDir, "cfdocs", "src")
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
		t.Fatalf("reading %s: %v (%d pages)", root, err, len(docs))
	}
	return docs
}

// beirCorpus reads the first n documents of a BEIR corpus, each its title
// and text.
func beirCorpus(t *testing.T, name string, n int) [][]ingest.Block {
	dir, err := storetest.EvalDir(filepath.Join("..", ".."), name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := storetest.LoadDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]ingest.Block
	for _, doc := range d.Docs[:min(n, len(d.Docs))] {
		docs = append(docs, ingest.TextBlocks(doc.Title+"\n\n"+doc.Text))
	}
	return docs
}
