package ingest_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// TestChunkHugeLine covers RELIABILITY.md H-10: 20 MB in one line without
// whitespace is hard-split into chunks within the byte cap, losing no byte,
// in linear time (under 2 s).
func TestChunkHugeLine(t *testing.T) {
	if testing.Short() {
		t.Skip("20 MB of text")
	}
	cfg := ragd.Chunking{MaxTokens: 256, OverlapTokens: 32}
	byteCap := cfg.MaxTokens * 12
	c := &ingest.Chunker{Tokenizer: wordTokenizer{}}
	line := strings.Repeat("x", 20<<20)
	start := time.Now()
	text, chunks := c.Chunk([]ingest.Block{{Kind: ingest.BlockParagraph, Text: line}}, cfg, "")
	elapsed := time.Since(start)
	t.Logf("%d chunks in %v", len(chunks), elapsed)
	if limit := 2 * time.Second; elapsed > limit && !raceEnabled {
		t.Errorf("chunking 20 MB took %v, over %v", elapsed, limit)
	}
	end := 0
	for i, ch := range chunks {
		if len(ch.Text) > byteCap || len(ch.Text) == 0 {
			t.Fatalf("chunk %d is %d bytes, cap %d", i, len(ch.Text), byteCap)
		}
		if ch.Start > end || text[ch.Start:ch.End] != ch.Text {
			t.Fatalf("chunk %d [%d,%d) leaves a gap after %d or is not the text", i, ch.Start, ch.End, end)
		}
		end = max(end, ch.End)
	}
	if end != len(text) || len(text) != len(line) {
		t.Errorf("chunks cover %d of %d bytes (text %d)", end, len(line), len(text))
	}
}

// TestNormalizeInvalidUTF8 covers RELIABILITY.md H-8 and H-9 on whole
// inputs: NUL and C0 controls, Latin-1 bytes, overlong encodings and
// CESU-8 surrogate pairs all come out as valid UTF-8 without them, the
// surrounding text kept.
func TestNormalizeInvalidUTF8(t *testing.T) {
	for _, tc := range []struct{ in, keep string }{
		{"caf\xe9 na\xefve fa\xe7ade", "ade"},           // Latin-1
		{"slash \xc0\xaf and nul \xc0\x80", "and nul"},  // overlong encodings
		{"smile \xed\xa0\xbd\xed\xb8\x80 end", "end"},   // CESU-8 of U+1F600
		{"nul\x00 bell\x07 esc\x1b[0m del\x7f", "bell"}, // C0 controls and DEL
		{strings.Repeat("\xff\xfe\xfd", 1000) + "tail", "tail"},
	} {
		got := ingest.Normalize(tc.in)
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\x00\x07\x1b\x7f\ufffd") || !strings.Contains(got, tc.keep) {
			t.Errorf("Normalize(%.40q) = %.80q, want valid UTF-8 without controls, keeping %q", tc.in, got, tc.keep)
		}
	}
}
