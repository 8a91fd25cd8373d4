package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/textseg"
)

// Tokenizer counts the tokens the embedding model sees. Counts must be
// additive over whitespace-separated pieces, as BERT WordPiece counts are.
type Tokenizer interface {
	Count(text string) int
}

// Chunker splits a document's blocks into chunks of at most a collection's
// MaxTokens tokens, along the document's structure: a heading always starts
// a new chunk and every chunk carries its heading path; blocks are packed
// whole while they fit; a block that does not fit alone is split into
// sentences (rows for tables, lines for code), and a sentence that does not
// fit alone is cut at whitespace, or anywhere as the last resort.
// Consecutive chunks of a section overlap by whole sentences worth up to
// OverlapTokens.
type Chunker struct {
	Tokenizer Tokenizer
}

// bytesPerToken bounds a chunk's size in bytes as well as in tokens: a
// single WordPiece [UNK] can stand for a 100-character word, and a
// whitespace-free line is one word, so tokens alone would not bound it.
const bytesPerToken = 12

// maxHeadingBytes bounds each heading kept as a chunk's context.
const maxHeadingBytes = 200

type unit struct {
	start, end int // byte offsets in the document text
	tokens     int
	page       int
}

// Chunk returns the document text (its blocks joined by blank lines) and the
// chunks over it. Chunk.Text is always text[Start:End]. title, when not
// empty, is the root of every chunk's heading path. Chunk IDs, document IDs
// and metadata are left to the caller.
func (c *Chunker) Chunk(blocks []Block, cfg ragd.Chunking, title string) (string, []ragd.Chunk) {
	var b strings.Builder
	spans := make([][2]int, len(blocks))
	for i, bl := range blocks {
		if i > 0 {
			b.WriteString("\n\n")
		}
		spans[i][0] = b.Len()
		b.WriteString(bl.Text)
		spans[i][1] = b.Len()
	}
	text := b.String()

	s := chunkState{c: c, cfg: cfg, text: text}
	var path []string // headings by level; path[i] is the heading of level i+1
	s.setPath(nil, title)
	for i, bl := range blocks {
		u := unit{start: spans[i][0], end: spans[i][1], page: bl.Page}
		if u.start == u.end {
			continue
		}
		if bl.Kind == BlockHeading {
			s.flush()
			level := min(max(bl.Level, 1), 6)
			for len(path) < level {
				path = append(path, "")
			}
			path = append(path[:level-1], clip(oneLine(bl.Text), maxHeadingBytes))
			s.setPath(path, title)
			continue
		}
		u.tokens = c.Tokenizer.Count(text[u.start:u.end])
		if u.tokens <= s.budget && u.end-u.start <= s.byteCap() {
			s.add(u)
			continue
		}
		for _, p := range s.split(u, bl.Kind) {
			s.add(p)
		}
	}
	s.flush()
	if len(s.chunks) == 0 {
		s.headingsOnly(blocks, spans)
	}
	return text, s.chunks
}

// headingsOnly makes one chunk of a document that has headings but no body
// text (a page whose content is included from elsewhere), so it can still
// be found by its headings.
func (s *chunkState) headingsOnly(blocks []Block, spans [][2]int) {
	first, last := -1, -1
	for i, b := range blocks {
		if b.Kind == BlockHeading && spans[i][1] > spans[i][0] {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return
	}
	s.setPath(nil, "")
	u := unit{start: spans[first][0], end: spans[last][1], page: blocks[first].Page}
	u.tokens = s.c.Tokenizer.Count(s.text[u.start:u.end])
	if u.tokens <= s.budget && u.end-u.start <= s.byteCap() {
		s.add(u)
	} else {
		for _, p := range s.hardSplit(u) {
			s.add(p)
		}
	}
	s.flush()
}

type chunkState struct {
	c        *Chunker
	cfg      ragd.Chunking
	text     string
	headings []string
	hTokens  int
	budget   int // tokens left for text after the heading context
	cur      []unit
	curTok   int
	chunks   []ragd.Chunk
}

func (s *chunkState) byteCap() int { return s.budget * bytesPerToken }

// setPath sets the heading context of the chunks that follow: the title,
// then the non-empty headings of path (the title once if the first heading
// repeats it).
func (s *chunkState) setPath(path []string, title string) {
	s.headings = s.headings[:0:0]
	if title != "" {
		s.headings = append(s.headings, clip(oneLine(title), maxHeadingBytes))
	}
	for _, h := range path {
		if h == "" || (len(s.headings) == 1 && title != "" && strings.EqualFold(h, s.headings[0])) {
			continue
		}
		s.headings = append(s.headings, h)
	}
	s.hTokens = 0
	for _, h := range s.headings {
		s.hTokens += s.c.Tokenizer.Count(h)
	}
	s.budget = max(s.cfg.MaxTokens-s.hTokens, s.cfg.MaxTokens/2, 1)
}

// add appends u to the current chunk, emitting the chunk first when u does
// not fit (with an overlap) or is glued to the chunk's last piece (without).
func (s *chunkState) add(u unit) {
	if len(s.cur) > 0 && s.glued(s.cur[len(s.cur)-1], u) {
		// Two pieces of one word cut by hardSplit: their tokens do not add
		// up, so they never share a chunk.
		s.flush()
	}
	if len(s.cur) > 0 && (s.curTok+u.tokens > s.budget || u.end-s.cur[0].start > s.byteCap()) {
		prev := s.cur
		s.flush()
		s.overlap(prev, u)
	}
	s.cur = append(s.cur, u)
	s.curTok += u.tokens
}

// overlap starts the next chunk with the trailing sentences of the previous
// one, worth at most OverlapTokens, if they fit with next.
func (s *chunkState) overlap(prev []unit, next unit) {
	room := min(s.cfg.OverlapTokens, s.budget-next.tokens)
	if room <= 0 || len(prev) == 0 {
		return
	}
	last := prev[len(prev)-1]
	var tail []unit
	sents := textseg.Sentences(s.text[last.start:last.end])
	if len(sents) <= 1 && len(prev) > 1 {
		// Whole previous units, newest first.
		for i := len(prev) - 1; i >= 0 && prev[i].tokens <= room; i-- {
			tail = append([]unit{prev[i]}, tail...)
			room -= prev[i].tokens
		}
	} else if len(sents) > 1 {
		for i := len(sents) - 1; i > 0; i-- {
			u := unit{start: last.start + sents[i].Start, end: last.start + sents[i].End, page: last.page}
			u.tokens = s.c.Tokenizer.Count(s.text[u.start:u.end])
			if u.tokens > room {
				break
			}
			tail = append([]unit{u}, tail...)
			room -= u.tokens
		}
	}
	if len(tail) > 0 && next.end-tail[0].start <= s.byteCap() {
		for _, u := range tail {
			s.cur = append(s.cur, u)
			s.curTok += u.tokens
		}
	}
}

// glued reports whether b starts where a ends with no whitespace between
// them, as the pieces of a word cut by hardSplit do. Token counts are
// additive only over whitespace: "0A0210" is five WordPiece tokens, its
// halves "0A" and "0210" two each.
func (s *chunkState) glued(a, b unit) bool {
	if a.end != b.start || a.end <= 0 || b.start >= len(s.text) {
		return false
	}
	before, _ := utf8.DecodeLastRuneInString(s.text[:a.end])
	return !unicode.IsSpace(before) && !isSpaceAt(s.text, b.start)
}

func (s *chunkState) flush() {
	if len(s.cur) == 0 {
		return
	}
	start, end := s.cur[0].start, s.cur[len(s.cur)-1].end
	ch := ragd.Chunk{
		Index:  len(s.chunks),
		Text:   s.text[start:end],
		Start:  start,
		End:    end,
		Tokens: s.curTok + s.hTokens,
	}
	if len(s.headings) > 0 {
		ch.Headings = append([]string(nil), s.headings...)
	}
	sum := sha256.Sum256([]byte(ch.EmbeddingText()))
	ch.Hash = hex.EncodeToString(sum[:])
	if page := s.cur[0].page; page > 0 {
		ch.Metadata = map[string]any{"page": page}
		if last := s.cur[len(s.cur)-1].page; last > page {
			ch.Metadata["page_end"] = last
		}
	}
	s.chunks = append(s.chunks, ch)
	s.cur, s.curTok = nil, 0
}

// split cuts a block that does not fit in one chunk into pieces that do:
// sentences of prose, rows of tables, lines of code; pieces still too big
// are cut by hardSplit.
func (s *chunkState) split(u unit, kind string) []unit {
	block := s.text[u.start:u.end]
	var pieces []unit
	switch kind {
	case BlockTable, BlockCode:
		off := 0
		for _, line := range strings.SplitAfter(block, "\n") {
			if strings.TrimSpace(line) != "" {
				end := off + len(strings.TrimRight(line, "\n"))
				pieces = append(pieces, unit{start: u.start + off, end: u.start + end, page: u.page})
			}
			off += len(line)
		}
	default:
		for _, sp := range textseg.Sentences(block) {
			pieces = append(pieces, unit{start: u.start + sp.Start, end: u.start + sp.End, page: u.page})
		}
	}
	out := pieces[:0:0]
	for _, p := range pieces {
		p.tokens = s.c.Tokenizer.Count(s.text[p.start:p.end])
		if p.tokens <= s.budget && p.end-p.start <= s.byteCap() {
			out = append(out, p)
			continue
		}
		out = append(out, s.hardSplit(p)...)
	}
	return out
}

// hardSplit cuts u into pieces of at most budget tokens and byteCap bytes,
// preferring to cut at whitespace. Each cut looks only at a window of
// byteCap bytes, so the work is linear in the length of u.
func (s *chunkState) hardSplit(u unit) []unit {
	var out []unit
	start := u.start
	for start < u.end {
		for start < u.end && isSpaceAt(s.text, start) {
			_, size := utf8.DecodeRuneInString(s.text[start:])
			start += size
		}
		if start >= u.end {
			break
		}
		end := min(u.end, start+s.byteCap())
		end = runeStart(s.text, end)
		tokens := s.c.Tokenizer.Count(s.text[start:end])
		if tokens > s.budget {
			// Binary search the longest prefix within the budget.
			lo, hi := start, end
			for hi-lo > 1 {
				mid := runeStart(s.text, lo+(hi-lo)/2)
				if mid <= lo {
					mid = lo + 1
					for mid < hi && !utf8.RuneStart(s.text[mid]) {
						mid++
					}
				}
				if mid >= hi { // lo and hi are adjacent runes: lo is the answer
					break
				}
				if s.c.Tokenizer.Count(s.text[start:mid]) <= s.budget {
					lo = mid
				} else {
					hi = mid
				}
			}
			end = lo
		}
		if end <= start { // a budget smaller than one rune: take the rune, never loop
			_, size := utf8.DecodeRuneInString(s.text[start:])
			end = start + size
		}
		if end < u.end {
			if ws := lastSpace(s.text, start, end); ws > start+(end-start)/2 {
				end = ws
			}
		}
		piece := unit{start: start, end: trimSpaceRight(s.text, start, end), page: u.page}
		if piece.end > piece.start {
			piece.tokens = s.c.Tokenizer.Count(s.text[piece.start:piece.end])
			out = append(out, piece)
		}
		start = end
	}
	return out
}

func isSpaceAt(text string, i int) bool {
	r, _ := utf8.DecodeRuneInString(text[i:])
	return unicode.IsSpace(r)
}

func runeStart(text string, i int) int {
	for i > 0 && i < len(text) && !utf8.RuneStart(text[i]) {
		i--
	}
	return i
}

// lastSpace returns the offset of the last whitespace in text[start:end],
// or -1.
func lastSpace(text string, start, end int) int {
	i := strings.LastIndexFunc(text[start:end], unicode.IsSpace)
	if i < 0 {
		return -1
	}
	return start + i
}

func trimSpaceRight(text string, start, end int) int {
	return start + len(strings.TrimRightFunc(text[start:end], unicode.IsSpace))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip cuts s to at most n bytes at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:runeStart(s, n)]
}
