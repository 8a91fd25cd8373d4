package storetest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Dataset is a retrieval test set in BEIR's layout: corpus.jsonl,
// queries.jsonl and qrels/test.tsv. Stores use it to check that their
// rankings reach published figures.
type Dataset struct {
	// Docs is the corpus in file order.
	Docs []DatasetDoc
	// Queries holds the test queries (those with judgements), sorted by ID.
	Queries []DatasetQuery
	// Qrels maps a query ID to its judged documents and their relevance.
	Qrels map[string]map[string]int
}

// DatasetDoc is one corpus document.
type DatasetDoc struct {
	ID    string
	Title string
	Text  string
}

// Content is the document as one indexing unit: title, newline, text, as
// BEIR's flat BM25 runs index it.
func (d DatasetDoc) Content() string {
	if d.Title == "" {
		return d.Text
	}
	return d.Title + "\n" + d.Text
}

// DatasetQuery is one test query.
type DatasetQuery struct {
	ID   string
	Text string
}

// EvalDir returns the path of a data set under the shared evaluation
// folder, given the path from the calling package's directory to the
// repository root (for example "../.." from store/local), and fails with a
// clear message when it is missing.
func EvalDir(repoRoot, name string) (string, error) {
	dir := filepath.Join(repoRoot, "..", "shared", "eval", name)
	if _, err := os.Stat(filepath.Join(dir, "corpus.jsonl")); err != nil {
		return "", fmt.Errorf("evaluation data set %q not found at %s (it lives in ../shared/eval next to the repository): %w", name, dir, err)
	}
	return dir, nil
}

// LoadDataset reads a BEIR-format directory.
func LoadDataset(dir string) (*Dataset, error) {
	d := &Dataset{Qrels: make(map[string]map[string]int)}
	err := readJSONL(filepath.Join(dir, "corpus.jsonl"), func(line []byte) error {
		var v struct {
			ID    string `json:"_id"`
			Title string `json:"title"`
			Text  string `json:"text"`
		}
		if err := json.Unmarshal(line, &v); err != nil {
			return err
		}
		d.Docs = append(d.Docs, DatasetDoc{ID: v.ID, Title: v.Title, Text: v.Text})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := d.readQrels(filepath.Join(dir, "qrels", "test.tsv")); err != nil {
		return nil, err
	}
	err = readJSONL(filepath.Join(dir, "queries.jsonl"), func(line []byte) error {
		var v struct {
			ID   string `json:"_id"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(line, &v); err != nil {
			return err
		}
		if _, ok := d.Qrels[v.ID]; ok {
			d.Queries = append(d.Queries, DatasetQuery{ID: v.ID, Text: v.Text})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(d.Queries, func(i, j int) bool { return d.Queries[i].ID < d.Queries[j].ID })
	if len(d.Queries) != len(d.Qrels) {
		return nil, fmt.Errorf("%s: %d queries have judgements but only %d of them are in queries.jsonl", dir, len(d.Qrels), len(d.Queries))
	}
	return d, nil
}

func (d *Dataset) readQrels(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		fields := strings.Split(line, "\t")
		if first {
			first = false
			if fields[0] == "query-id" {
				continue
			}
		}
		if len(fields) != 3 {
			return fmt.Errorf("%s: line %q is not query-id, corpus-id, score", path, line)
		}
		rel, err := strconv.Atoi(fields[2])
		if err != nil {
			return fmt.Errorf("%s: bad score in %q: %w", path, line, err)
		}
		if d.Qrels[fields[0]] == nil {
			d.Qrels[fields[0]] = make(map[string]int)
		}
		d.Qrels[fields[0]][fields[1]] = rel
	}
	return sc.Err()
}

func readJSONL(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

// Metrics are the averages over a data set's test queries.
type Metrics struct {
	Queries     int
	NDCG10      float64
	Recall10    float64
	Recall100   float64
	MRR10       float64
	Description string
}

// String formats the metrics on one line.
func (m Metrics) String() string {
	return fmt.Sprintf("%s: queries=%d nDCG@10=%.4f R@10=%.4f R@100=%.4f MRR@10=%.4f",
		m.Description, m.Queries, m.NDCG10, m.Recall10, m.Recall100, m.MRR10)
}

// Evaluate runs every test query through search, which returns document
// IDs best first, and averages the metrics as BEIR does with pytrec_eval:
// graded relevance from the qrels as gain, log2 discount, ideal DCG from
// the qrels, and a result whose ID equals the query's ID ignored.
func (d *Dataset) Evaluate(search func(q DatasetQuery) ([]string, error)) (Metrics, error) {
	var m Metrics
	for _, q := range d.Queries {
		ranked, err := search(q)
		if err != nil {
			return Metrics{}, fmt.Errorf("query %s: %w", q.ID, err)
		}
		// BEIR's evaluation drops results identical to the query.
		out := ranked[:0:0]
		seen := make(map[string]bool, len(ranked))
		for _, id := range ranked {
			if id == q.ID || seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, id)
		}
		rels := d.Qrels[q.ID]
		m.NDCG10 += NDCG(10, out, rels)
		m.Recall10 += Recall(10, out, rels)
		m.Recall100 += Recall(100, out, rels)
		m.MRR10 += MRR(10, out, rels)
		m.Queries++
	}
	if m.Queries > 0 {
		n := float64(m.Queries)
		m.NDCG10 /= n
		m.Recall10 /= n
		m.Recall100 /= n
		m.MRR10 /= n
	}
	return m, nil
}

// NDCG is the normalized discounted cumulative gain of the first k ranked
// IDs: gain is the judged relevance, the discount log2(rank + 1), and the
// ideal ordering that of the judgements.
func NDCG(k int, ranked []string, rels map[string]int) float64 {
	var dcg float64
	for i, id := range ranked {
		if i >= k {
			break
		}
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
	for i, r := range ideal {
		if i >= k {
			break
		}
		idcg += float64(r) / math.Log2(float64(i+2))
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// Recall is the share of the relevant documents found in the first k.
func Recall(k int, ranked []string, rels map[string]int) float64 {
	relevant, found := 0, 0
	for _, r := range rels {
		if r > 0 {
			relevant++
		}
	}
	for i, id := range ranked {
		if i >= k {
			break
		}
		if rels[id] > 0 {
			found++
		}
	}
	if relevant == 0 {
		return 0
	}
	return float64(found) / float64(relevant)
}

// MRR is the reciprocal rank of the first relevant document in the first
// k, or 0.
func MRR(k int, ranked []string, rels map[string]int) float64 {
	for i, id := range ranked {
		if i >= k {
			break
		}
		if rels[id] > 0 {
			return 1 / float64(i+1)
		}
	}
	return 0
}
