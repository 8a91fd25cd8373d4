package generate

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/lexical"
	"github.com/ragd/ragd/textseg"
)

// ExtractiveModel is the model name reported for extractive answers.
const ExtractiveModel = "extractive"

// extractiveSources and extractiveSentences bound an extractive answer: the
// best sentences of the top sources.
const (
	extractiveSources   = 3
	extractiveSentences = 3
)

type scoredSentence struct {
	source, pos int // source index and sentence position within it
	text        string
	score       float64
}

// Extract builds an extractive answer: the sentences of the top sources that
// best match the question, each followed by its citation, in source order.
// It returns the answer as separate sentences, ready to stream.
func Extract(question string, sources []ragd.Source) []string {
	if len(sources) == 0 {
		return nil
	}
	sources = sources[:min(len(sources), extractiveSources)]
	qTerms := map[string]bool{}
	for _, w := range lexical.QueryTerms(question) {
		qTerms[w] = true
	}
	var cands []scoredSentence
	df := map[string]int{}
	for i, s := range sources {
		for j, sp := range textseg.Sentences(s.Text) {
			text := strings.Join(strings.Fields(s.Text[sp.Start:sp.End]), " ")
			if len(text) < 3 {
				continue
			}
			cands = append(cands, scoredSentence{source: i, pos: j, text: text})
			seen := map[string]bool{}
			for _, w := range lexical.Terms(text) {
				if qTerms[w] && !seen[w] {
					seen[w] = true
					df[w]++
				}
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	// Score: sum of the IDF of the question words a sentence contains, a
	// small bonus for the source's rank, and a penalty for very long
	// sentences so that a wall of text does not win by size.
	n := float64(len(cands))
	for k := range cands {
		c := &cands[k]
		seen := map[string]bool{}
		for _, w := range lexical.Terms(c.text) {
			if qTerms[w] && !seen[w] {
				seen[w] = true
				c.score += math.Log(1 + n/float64(df[w]))
			}
		}
		c.score *= 1 - 0.1*float64(c.source)
		if l := len(c.text); l > 400 {
			c.score *= 400 / float64(l)
		}
	}
	ranked := make([]scoredSentence, len(cands))
	copy(ranked, cands)
	sort.SliceStable(ranked, func(a, b int) bool { return ranked[a].score > ranked[b].score })
	picked := ranked[:0:0]
	for _, c := range ranked {
		if c.score <= 0 || len(picked) == extractiveSentences {
			break
		}
		picked = append(picked, c)
	}
	if len(picked) == 0 {
		picked = append(picked, cands[0]) // nothing matched: the top source's first sentence
	}
	sort.SliceStable(picked, func(a, b int) bool {
		if picked[a].source != picked[b].source {
			return picked[a].source < picked[b].source
		}
		return picked[a].pos < picked[b].pos
	})
	out := make([]string, len(picked))
	for i, c := range picked {
		sep := " "
		if i == 0 {
			sep = ""
		}
		out[i] = sep + c.text + " [" + strconv.Itoa(sources[c.source].N) + "]"
	}
	return out
}
