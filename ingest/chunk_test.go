package ingest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// wordTokenizer counts words and punctuation marks, like BERT's
// pre-tokenizer does before WordPiece; additive over whitespace.
type wordTokenizer struct{}

func (wordTokenizer) Count(s string) int {
	n, inWord := 0, false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			inWord = false
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			n++
			inWord = false
		default:
			if !inWord {
				n++
			}
			inWord = true
		}
	}
	return n
}

func para(sentences int, seed string) string {
	var b strings.Builder
	for i := 0; i < sentences; i++ {
		fmt.Fprintf(&b, "Sentence %d of %s has exactly nine words. ", i, seed)
	}
	return strings.TrimSpace(b.String())
}

func checkChunks(t *testing.T, text string, chunks []ragd.Chunk, cfg ragd.Chunking) {
	t.Helper()
	tok := wordTokenizer{}
	for i, c := range chunks {
		if c.Index != i {
			t.Errorf("chunk %d has index %d", i, c.Index)
		}
		if c.Start < 0 || c.End > len(text) || c.Start >= c.End || text[c.Start:c.End] != c.Text {
			t.Fatalf("chunk %d: Text is not text[%d:%d]", i, c.Start, c.End)
		}
		if got := tok.Count(c.Text) + tok.Count(strings.Join(c.Headings, " ")); got > cfg.MaxTokens {
			t.Errorf("chunk %d has %d tokens, over %d: %.80q", i, got, cfg.MaxTokens, c.Text)
		}
		if len(c.Text) > cfg.MaxTokens*12 {
			t.Errorf("chunk %d is %d bytes", i, len(c.Text))
		}
		if len(c.Hash) != 64 {
			t.Errorf("chunk %d hash %q", i, c.Hash)
		}
	}
}

// covered reports whether every non-space rune of text[start:end] lies in
// some chunk.
func covered(chunks []ragd.Chunk, start, end int, text string) bool {
	for j, r := range text[start:end] {
		if !unicode.IsSpace(r) && !inChunk(chunks, start+j) {
			return false
		}
	}
	return true
}

func inChunk(chunks []ragd.Chunk, at int) bool {
	for _, c := range chunks {
		if at >= c.Start && at < c.End {
			return true
		}
	}
	return false
}

func TestChunkStructure(t *testing.T) {
	blocks := []ingest.Block{
		{Kind: ingest.BlockHeading, Level: 1, Text: "Guide"},
		{Kind: ingest.BlockParagraph, Text: "Intro paragraph one."},
		{Kind: ingest.BlockParagraph, Text: "Intro paragraph two."},
		{Kind: ingest.BlockHeading, Level: 2, Text: "Install"},
		{Kind: ingest.BlockParagraph, Text: "Run the installer.", Page: 3},
		{Kind: ingest.BlockHeading, Level: 3, Text: "On Linux"},
		{Kind: ingest.BlockCode, Text: "apt-get install ragd", Page: 4},
		{Kind: ingest.BlockHeading, Level: 2, Text: "Use"},
		{Kind: ingest.BlockList, Text: "Start it."},
	}
	cfg := ragd.Chunking{MaxTokens: 100, OverlapTokens: 10}
	c := ingest.Chunker{Tokenizer: wordTokenizer{}}
	text, chunks := c.Chunk(blocks, cfg, "Guide")
	checkChunks(t, text, chunks, cfg)
	want := []struct {
		text     string
		headings string
		page     any
	}{
		{"Intro paragraph one.\n\nIntro paragraph two.", "Guide", nil},
		{"Run the installer.", "Guide > Install", 3},
		{"apt-get install ragd", "Guide > Install > On Linux", 4},
		{"Start it.", "Guide > Use", nil},
	}
	if len(chunks) != len(want) {
		for _, c := range chunks {
			t.Logf("%q %v", c.Text, c.Headings)
		}
		t.Fatalf("got %d chunks, want %d", len(chunks), len(want))
	}
	for i, w := range want {
		c := chunks[i]
		if c.Text != w.text || strings.Join(c.Headings, " > ") != w.headings || c.Metadata["page"] != w.page {
			t.Errorf("chunk %d = %q %v %v, want %q %q %v", i, c.Text, c.Headings, c.Metadata, w.text, w.headings, w.page)
		}
	}
	if got := chunks[1].EmbeddingText(); got != "Guide\nInstall\nRun the installer." {
		t.Errorf("embedding text = %q", got)
	}
}

func TestChunkLongParagraphSplitsAtSentencesWithOverlap(t *testing.T) {
	p := para(60, "the long paragraph") // 60 sentences of 11 tokens
	blocks := []ingest.Block{{Kind: ingest.BlockParagraph, Text: p}}
	cfg := ragd.Chunking{MaxTokens: 100, OverlapTokens: 15}
	text, chunks := (&ingest.Chunker{Tokenizer: wordTokenizer{}}).Chunk(blocks, cfg, "")
	checkChunks(t, text, chunks, cfg)
	if len(chunks) < 7 {
		t.Fatalf("got %d chunks", len(chunks))
	}
	for i, c := range chunks {
		if !strings.HasPrefix(c.Text, "Sentence ") || !strings.HasSuffix(c.Text, "words.") {
			t.Errorf("chunk %d does not start and end at sentence boundaries: %q", i, c.Text)
		}
		if i > 0 && c.Start >= chunks[i-1].End {
			t.Errorf("chunk %d does not overlap the previous one", i)
		}
	}
	if !covered(chunks, 0, len(text), text) {
		t.Error("some text is in no chunk")
	}
}

// TestChunkHardSplits: text without sentence or word boundaries is cut at
// the token and byte caps (RELIABILITY.md H-10; TestChunkHugeLine does 20 MB).
func TestChunkHardSplits(t *testing.T) {
	cfg := ragd.Chunking{MaxTokens: 50, OverlapTokens: 0}
	c := &ingest.Chunker{Tokenizer: wordTokenizer{}}
	// No sentence boundaries at all: words only.
	words := strings.Repeat("word ", 500)
	text, chunks := c.Chunk([]ingest.Block{{Kind: ingest.BlockParagraph, Text: strings.TrimSpace(words)}}, cfg, "")
	checkChunks(t, text, chunks, cfg)
	if len(chunks) < 10 || !covered(chunks, 0, len(text), text) {
		t.Errorf("words: %d chunks, covered %v", len(chunks), covered(chunks, 0, len(text), text))
	}
	// One whitespace-free line: a single token, but bounded by bytes.
	line := strings.Repeat("x", 100000)
	text, chunks = c.Chunk([]ingest.Block{{Kind: ingest.BlockParagraph, Text: line}}, cfg, "")
	checkChunks(t, text, chunks, cfg)
	total := 0
	for _, ch := range chunks {
		total += len(ch.Text)
	}
	if total != len(line) {
		t.Errorf("hard split lost bytes: %d of %d", total, len(line))
	}
	// Multi-byte runes are never cut.
	cjk := strings.Repeat("漢字", 20000)
	_, chunks = c.Chunk([]ingest.Block{{Kind: ingest.BlockParagraph, Text: cjk}}, cfg, "")
	for _, ch := range chunks {
		if !strings.HasPrefix(ch.Text, "漢") && !strings.HasPrefix(ch.Text, "字") {
			t.Fatalf("rune cut: %.10q", ch.Text)
		}
	}
}

func TestChunkTableSplitsAtRows(t *testing.T) {
	var rows []string
	for i := 0; i < 100; i++ {
		rows = append(rows, fmt.Sprintf("row %d | value %d | note", i, i))
	}
	cfg := ragd.Chunking{MaxTokens: 60, OverlapTokens: 0}
	text, chunks := (&ingest.Chunker{Tokenizer: wordTokenizer{}}).Chunk([]ingest.Block{{Kind: ingest.BlockTable, Text: strings.Join(rows, "\n")}}, cfg, "T")
	checkChunks(t, text, chunks, cfg)
	for i, c := range chunks {
		if !strings.HasPrefix(c.Text, "row ") || !strings.HasSuffix(c.Text, "note") {
			t.Errorf("chunk %d cuts a row: %q", i, c.Text)
		}
	}
}

func TestChunkHeadingsOnly(t *testing.T) {
	blocks := []ingest.Block{{Kind: ingest.BlockHeading, Level: 1, Text: "Event subscriptions"}, {Kind: ingest.BlockHeading, Level: 2, Text: "Available events"}}
	text, chunks := (&ingest.Chunker{Tokenizer: wordTokenizer{}}).Chunk(blocks, ragd.Chunking{MaxTokens: 100}, "t")
	if len(chunks) != 1 || chunks[0].Text != "Event subscriptions\n\nAvailable events" || chunks[0].Text != text {
		t.Errorf("chunks = %+v", chunks)
	}
	if _, chunks := (&ingest.Chunker{Tokenizer: wordTokenizer{}}).Chunk(nil, ragd.Chunking{MaxTokens: 100}, "t"); len(chunks) != 0 {
		t.Errorf("got %d chunks from nothing", len(chunks))
	}
}

// TestChunkHardSplitMultiByteTokens is the regression test for a hang: the
// binary search for the longest prefix within the budget never ended when
// its bounds were one multi-byte rune apart, which happens whenever every
// rune of a whitespace-free run is a token of its own (dashes, currency
// signs, emoji), as in tables extracted from financial filings.
func TestChunkHardSplitMultiByteTokens(t *testing.T) {
	cfg := ragd.Chunking{MaxTokens: 50, OverlapTokens: 5}
	c := &ingest.Chunker{Tokenizer: wordTokenizer{}}
	for name, run := range map[string]string{
		"en dash":  strings.Repeat("–", 5000),
		"euro":     strings.Repeat("1€", 5000),
		"emoji":    strings.Repeat("🙂", 5000),
		"mixed":    strings.Repeat("2.13%–3.50%€4.1", 800),
		"one rune": "–",
	} {
		t.Run(name, func(t *testing.T) {
			done := make(chan struct{})
			var text string
			var chunks []ragd.Chunk
			go func() {
				defer close(done)
				text, chunks = c.Chunk([]ingest.Block{{Kind: ingest.BlockParagraph, Text: run}}, cfg, "A heading")
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("Chunk did not return")
			}
			checkChunks(t, text, chunks, cfg)
			total := 0
			for _, ch := range chunks {
				if !utf8.ValidString(ch.Text) {
					t.Fatalf("rune cut: %.20q", ch.Text)
				}
				total += len(ch.Text)
			}
			if total != len(run) {
				t.Errorf("hard split lost bytes: %d of %d", total, len(run))
			}
		})
	}
}
