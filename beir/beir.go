// Package beir reads retrieval benchmarks in the BEIR layout
// (corpus.jsonl, queries.jsonl, qrels/test.tsv) and computes the measures
// BEIR reports (nDCG@k, Recall@k, MRR@k) the way pytrec_eval does.
package beir

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Doc is one corpus document.
type Doc struct {
	ID       string         `json:"_id"`
	Title    string         `json:"title"`
	Text     string         `json:"text"`
	Metadata map[string]any `json:"metadata"`
}

// Query is one test query.
type Query struct {
	ID   string `json:"_id"`
	Text string `json:"text"`
}

// Dataset is a BEIR dataset: the corpus, the queries that have judgements
// in the split, and the judgements (query id -> doc id -> relevance).
type Dataset struct {
	Name    string
	Corpus  []Doc
	Queries []Query
	Qrels   map[string]map[string]int
}

// Load reads dir's corpus, the queries, and qrels/{split}.tsv. Only
// queries with judgements in the split are kept, in file order.
func Load(dir, split string) (*Dataset, error) {
	d := &Dataset{Name: filepath.Base(filepath.Clean(dir)), Qrels: map[string]map[string]int{}}
	if err := readQrels(filepath.Join(dir, "qrels", split+".tsv"), d.Qrels); err != nil {
		return nil, err
	}
	if err := readJSONL(filepath.Join(dir, "corpus.jsonl"), func(line []byte) error {
		var doc Doc
		if err := json.Unmarshal(line, &doc); err != nil {
			return err
		}
		d.Corpus = append(d.Corpus, doc)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := readJSONL(filepath.Join(dir, "queries.jsonl"), func(line []byte) error {
		var q Query
		if err := json.Unmarshal(line, &q); err != nil {
			return err
		}
		if _, ok := d.Qrels[q.ID]; ok {
			d.Queries = append(d.Queries, q)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if len(d.Queries) == 0 {
		return nil, fmt.Errorf("%s: no query of queries.jsonl has judgements in qrels/%s.tsv", dir, split)
	}
	return d, nil
}

func readJSONL(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			if perr := fn(line); perr != nil {
				return fmt.Errorf("%s:%d: %w", path, n, perr)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func readQrels(path string, qrels map[string]map[string]int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Split(strings.TrimSpace(sc.Text()), "\t")
		if n == 1 && len(fields) > 0 && fields[0] == "query-id" {
			continue
		}
		if len(fields) != 3 {
			if len(fields) == 1 && fields[0] == "" {
				continue
			}
			return fmt.Errorf("%s:%d: want query-id, corpus-id, score", path, n)
		}
		score, err := strconv.Atoi(fields[2])
		if err != nil {
			return fmt.Errorf("%s:%d: score %q is not an integer", path, n, fields[2])
		}
		if qrels[fields[0]] == nil {
			qrels[fields[0]] = map[string]int{}
		}
		qrels[fields[0]][fields[1]] = score
	}
	return sc.Err()
}

// NDCG returns nDCG@k of a ranking (doc ids, best first) against graded
// judgements, with pytrec_eval's definition: gain = relevance, discount
// log2(rank+1), ideal DCG from the judgements sorted by relevance.
func NDCG(ranked []string, rels map[string]int, k int) float64 {
	var dcg float64
	for i, id := range ranked[:min(k, len(ranked))] {
		if r := rels[id]; r > 0 {
			dcg += float64(r) / math.Log2(float64(i+2))
		}
	}
	ideal := make([]int, 0, len(rels))
	for _, r := range rels {
		if r > 0 {
			ideal = append(ideal, r)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ideal)))
	var idcg float64
	for i, r := range ideal[:min(k, len(ideal))] {
		idcg += float64(r) / math.Log2(float64(i+2))
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// Recall returns the share of relevant documents found in the top k.
func Recall(ranked []string, rels map[string]int, k int) float64 {
	relevant := 0
	for _, r := range rels {
		if r > 0 {
			relevant++
		}
	}
	if relevant == 0 {
		return 0
	}
	found := 0
	for _, id := range ranked[:min(k, len(ranked))] {
		if rels[id] > 0 {
			found++
		}
	}
	return float64(found) / float64(relevant)
}

// MRR returns the reciprocal rank of the first relevant document in the
// top k, or 0.
func MRR(ranked []string, rels map[string]int, k int) float64 {
	for i, id := range ranked[:min(k, len(ranked))] {
		if rels[id] > 0 {
			return 1 / float64(i+1)
		}
	}
	return 0
}

// Scores are the mean measures over a set of queries.
type Scores struct {
	Queries   int     `json:"queries"`
	NDCG10    float64 `json:"ndcg_at_10"`
	Recall10  float64 `json:"recall_at_10"`
	Recall100 float64 `json:"recall_at_100"`
	MRR10     float64 `json:"mrr_at_10"`
}

// Add accumulates one query's ranking.
func (s *Scores) Add(ranked []string, rels map[string]int) {
	s.Queries++
	s.NDCG10 += NDCG(ranked, rels, 10)
	s.Recall10 += Recall(ranked, rels, 10)
	s.Recall100 += Recall(ranked, rels, 100)
	s.MRR10 += MRR(ranked, rels, 10)
}

// Mean returns the averages of what was added.
func (s Scores) Mean() Scores {
	if s.Queries == 0 {
		return s
	}
	n := float64(s.Queries)
	return Scores{Queries: s.Queries, NDCG10: s.NDCG10 / n, Recall10: s.Recall10 / n, Recall100: s.Recall100 / n, MRR10: s.MRR10 / n}
}
