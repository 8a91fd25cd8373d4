package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ragd/ragd"
)

// FixtureDoc is a document with its chunks, ready for PutDocument.
type FixtureDoc struct {
	Doc    ragd.Document
	Chunks []ragd.Chunk
}

// CorpusDimension is the vector dimension of [Corpus].
const CorpusDimension = 4

// CorpusQueryVector is the query vector of the suite's vector ranking test
// over [Corpus]. Its scores, best first: fox-1 0.864, dog-0 and dog-1
// 0.856 (identical vectors: a tie broken by chunk ID), fox-2 0.8, qc-1
// 0.768, de-1b 0.5696, qc-2 0.36, bear-1 0.216, de-1a -0.48; fox-3 has no
// vector.
func CorpusQueryVector() []float32 { return []float32{0.8, 0.36, 0.48, 0} }

// CorpusLexicalQueries are the lexical queries the suite runs on [Corpus].
func CorpusLexicalQueries() []string {
	return []string{
		"fox", "brown fox", "Dogs barking at night", "quantum qubits", "rabbits diet",
		"Straße", "fuchs", "bears fish rivers", "the of", "zebra", "",
	}
}

// CorpusFilters are the metadata filters (JSON) the suite applies to
// [Corpus] in every search mode: equality, $in, $and, $or, several keys,
// arrays, numbers against strings, booleans, and keys some chunks lack.
func CorpusFilters() []string {
	return []string{
		`{"lang": "en"}`,
		`{"lang": {"$eq": "de"}}`,
		`{"year": 2020}`,
		`{"year": "2020"}`,
		`{"code": "2020"}`,
		`{"code": 2020}`,
		`{"draft": true}`,
		`{"draft": false}`,
		`{"draft": "true"}`,
		`{"tags": "wild"}`,
		`{"tags": {"$in": ["pets", "verkehr"]}}`,
		`{"$and": [{"lang": "en"}, {"year": {"$in": [2019, 2021]}}]}`,
		`{"$or": [{"lang": "de"}, {"draft": true}]}`,
		`{"lang": "en", "draft": false}`,
		`{"page": 1}`,
		`{"page": {"$in": [2, 3]}}`,
		`{"missing": "x"}`,
		`{"$or": [{"page": 3}, {"$and": [{"tags": "science"}, {"year": 2021}]}]}`,
	}
}

// FixtureTime is the fixtures' timestamp. It has microsecond precision,
// which every backend keeps.
func FixtureTime() time.Time { return time.Date(2026, 11, 3, 10, 4, 5, 123456000, time.UTC) }

// Corpus is the suite's fixed collection: five documents, ten chunks with
// texts, headings, vectors of [CorpusDimension] (one chunk without), and
// metadata for filters (one document has none).
func Corpus(collection string) []FixtureDoc {
	doc := func(id, title, source string, meta map[string]any) ragd.Document {
		return ragd.Document{
			ID: id, Collection: collection, Title: title, Source: source, ContentType: "text/markdown",
			Metadata: meta, ContentHash: "hash-" + id, Embedder: "fixture", Bytes: 100,
			CreatedAt: FixtureTime(), UpdatedAt: FixtureTime().Add(time.Hour),
		}
	}
	chunk := func(id string, index int, text string, headings []string, vec []float32, meta map[string]any) ragd.Chunk {
		return ragd.Chunk{
			ID: id, Index: index, Text: text, Headings: headings, Start: index * 100, End: index*100 + len(text),
			Tokens: len(strings.Fields(text)), Hash: "chunk-hash-" + id, Metadata: meta, Vector: vec,
		}
	}
	with := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{k: v}
		for key, val := range m {
			out[key] = val
		}
		return out
	}
	foxMeta := map[string]any{"lang": "en", "year": 2020, "tags": []any{"animals", "wild"}, "draft": false, "code": "2020", "nested": map[string]any{"a": 1}}
	dogMeta := map[string]any{"lang": "en", "year": 2019, "tags": []any{"animals", "pets"}, "draft": true, "code": "2019"}
	qcMeta := map[string]any{"lang": "en", "year": 2021, "tags": []any{"science"}, "draft": false, "code": "2021"}
	deMeta := map[string]any{"lang": "de", "year": 2020, "tags": []any{"verkehr"}, "draft": false, "code": 2020}
	d := func(id, title, source string, meta map[string]any, chunks ...ragd.Chunk) FixtureDoc {
		for i := range chunks {
			chunks[i].DocumentID = id
		}
		return FixtureDoc{Doc: doc(id, title, source, meta), Chunks: chunks}
	}
	return []FixtureDoc{
		d("animals-1", "Foxes", "foxes.md", foxMeta,
			chunk("fox-1", 0, "The quick brown fox jumps over the lazy dog.", []string{"Foxes"}, []float32{0.6, 0, 0.8, 0}, with(foxMeta, "page", 1)),
			chunk("fox-2", 1, "A fox is a small omnivorous mammal. The red fox is the most widespread fox of all.", []string{"Foxes", "Biology"}, []float32{1, 0, 0, 0}, with(foxMeta, "page", 2)),
			chunk("fox-3", 2, "They eat rodents, rabbits and birds.", []string{"Foxes", "Diet"}, nil, with(foxMeta, "page", 3)),
		),
		d("animals-2", "Dogs", "dogs.md", dogMeta,
			chunk("dog-1", 0, "Dogs are loyal. A dog guards the house and the dog barks at night.", nil, []float32{0.8, 0.6, 0, 0}, dogMeta),
			chunk("dog-0", 1, "Dog breeds: the brown labrador and the quick whippet.", []string{"Breeds"}, []float32{0.8, 0.6, 0, 0}, with(dogMeta, "page", 1)),
		),
		d("physics", "Quantum", "quantum.md", qcMeta,
			chunk("qc-1", 0, "Quantum computers use qubits; quantum entanglement links qubits across distances.", []string{"Quantum computing"}, []float32{0.6, 0.8, 0, 0}, qcMeta),
			chunk("qc-2", 1, "The and of to", nil, []float32{0, 1, 0, 0}, with(qcMeta, "page", 2)),
		),
		d("de-1", "Straßen", "straßen.txt", deMeta,
			chunk("de-1a", 0, "Die Straße ist lang, und die Straßen sind voll. Ein Fuchs läuft über die Straße.", nil, []float32{-0.6, 0, 0, 0.8}, deMeta),
			chunk("de-1b", 1, "Der braune Fuchs (brown fox) schläft.", []string{"Fuchs"}, []float32{0.28, 0.96, 0, 0}, with(deMeta, "page", 1)),
		),
		d("mixed", "Bears and rivers", "https://example.com/bears", nil,
			chunk("bear-1", 0, "Brown bears and black bears eat fish in the river. Bears fish in rivers.", nil, []float32{0, 0.6, 0, 0.8}, nil),
		),
	}
}

// randomVocabulary is the vocabulary of generated texts.
const randomVocabulary = `needle apple river stone cloud forest engine signal copper
	garden harbor lantern meadow orbit pepper quartz ribbon saddle timber velvet walnut
	yonder zephyr amber basil cedar delta ember fable`

// RandomText returns n words drawn from a fixed vocabulary of 30 (the first
// vocab of them only, when 0 < vocab < 30).
func RandomText(rng *rand.Rand, n, vocab int) string {
	randomWords := strings.Fields(randomVocabulary)
	if vocab <= 0 || vocab > len(randomWords) {
		vocab = len(randomWords)
	}
	words := make([]string, n)
	for i := range words {
		words[i] = randomWords[rng.IntN(vocab)]
	}
	return strings.Join(words, " ")
}

// RandomUnitVector returns a vector of dim components with unit length.
// With positive set, all components are positive, so every dot product
// between such vectors is too.
func RandomUnitVector(rng *rand.Rand, dim int, positive bool) []float32 {
	v := make([]float64, dim)
	var norm float64
	for i := range v {
		if positive {
			v[i] = rng.Float64() + 0.01
		} else {
			v[i] = rng.NormFloat64()
		}
		norm += v[i] * v[i]
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dim)
	for i := range v {
		out[i] = float32(v[i] / norm)
	}
	return out
}

// RandomCorpus returns docs documents of chunksPerDoc chunks each: texts of
// 5 to 40 words that all contain "needle", positive unit vectors of dim
// components, and metadata {"kind": "rare"} on every 33rd chunk (about 3 %)
// and {"kind": "common"} on the others, plus "n", the chunk's number.
func RandomCorpus(seed uint64, collection string, docs, chunksPerDoc, dim int) []FixtureDoc {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var out []FixtureDoc
	n := 0
	for d := 0; d < docs; d++ {
		id := fmt.Sprintf("rdoc-%03d", d)
		fd := FixtureDoc{Doc: ragd.Document{
			ID: id, Collection: collection, Title: "Random " + id, ContentHash: "h" + id,
			CreatedAt: FixtureTime(), UpdatedAt: FixtureTime(), Metadata: map[string]any{"doc": d},
		}}
		for i := 0; i < chunksPerDoc; i++ {
			kind := "common"
			if n%33 == 0 {
				kind = "rare"
			}
			text := "needle " + RandomText(rng, 4+rng.IntN(36), 0)
			fd.Chunks = append(fd.Chunks, ragd.Chunk{
				ID: fmt.Sprintf("%s-c%03d", id, i), DocumentID: id, Index: i, Text: text,
				End: len(text), Tokens: len(strings.Fields(text)), Hash: fmt.Sprintf("h%d", n),
				Metadata: map[string]any{"kind": kind, "n": n},
				Vector:   RandomUnitVector(rng, dim, true),
			})
			n++
		}
		out = append(out, fd)
	}
	return out
}
