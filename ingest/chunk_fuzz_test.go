package ingest_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/wordpiece"
)

// FuzzChunk chunks arbitrary normalized blocks with BGE's tokenizer and small budgets
// and checks what every chunk must satisfy: its text is the document's text
// at its offsets and valid UTF-8, it fits the token and byte budgets, and
// every non-space rune of the body blocks lies in some chunk.
//
//	go test ./ingest -run '^$' -fuzz FuzzChunk -fuzztime 2m
func FuzzChunk(f *testing.F) {
	for _, s := range []string{
		"# Title\x1eA sentence. Another one.\x1e## Sub\x1e| a | b |\n| 1 | 2 |",
		strings.Repeat("–", 400),
		"2012 issuance of $2.3 billion 2022–2042 2.13% – 3.50% 2.24%–3.57% 1,204",
		strings.Repeat("漢字🙂€ ", 200),
		"```\ncode line\n\nmore\n```\x1e" + strings.Repeat("x", 3000),
	} {
		f.Add(s, uint8(20), uint8(3))
	}
	tok := wordpiece.Default()
	c := &ingest.Chunker{Tokenizer: tok}
	kinds := []string{ingest.BlockParagraph, ingest.BlockHeading, ingest.BlockTable, ingest.BlockCode, ingest.BlockList}
	f.Fuzz(func(t *testing.T, in string, maxTokens, overlap uint8) {
		in = ingest.Normalize(in) // as the pipeline does before chunking
		cfg := ragd.Chunking{MaxTokens: int(maxTokens%64) + 1, OverlapTokens: int(overlap % 16)}
		var blocks []ingest.Block
		for i, part := range strings.Split(in, "\x1e") {
			kind := kinds[i%len(kinds)]
			if strings.HasPrefix(part, "#") {
				kind = ingest.BlockHeading
			}
			blocks = append(blocks, ingest.Block{Kind: kind, Level: i%7 + 1, Text: part, Page: i})
		}
		text, chunks := c.Chunk(blocks, cfg, "")
		for i, ch := range chunks {
			if ch.Start < 0 || ch.End > len(text) || ch.Start >= ch.End || text[ch.Start:ch.End] != ch.Text {
				t.Fatalf("chunk %d: Text is not text[%d:%d]", i, ch.Start, ch.End)
			}
			if !utf8.ValidString(ch.Text) {
				t.Fatalf("chunk %d cuts a rune: %q", i, ch.Text)
			}
			if n := tok.Count(ch.Text); n > cfg.MaxTokens && utf8.RuneCountInString(strings.TrimSpace(ch.Text)) > 1 {
				t.Fatalf("chunk %d has %d tokens, over %d: %q", i, n, cfg.MaxTokens, ch.Text)
			}
			if len(ch.Text) > cfg.MaxTokens*12 && utf8.RuneCountInString(ch.Text) > 1 {
				t.Fatalf("chunk %d is %d bytes, over %d", i, len(ch.Text), cfg.MaxTokens*12)
			}
		}
		off := 0
		for i, b := range blocks {
			if i > 0 {
				off += 2 // the blank line between blocks
			}
			start := off
			off += len(b.Text)
			if b.Kind == ingest.BlockHeading {
				continue
			}
			if !covered(chunks, start, off, text) {
				t.Fatalf("block %d: some of %q is in no chunk", i, b.Text)
			}
		}
	})
}
