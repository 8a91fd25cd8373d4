package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/beir"
	"github.com/ragd/ragd/ingest"
)

// evalChunks is how many chunks each evaluation query retrieves, so that
// enough distinct documents remain for Recall@100 after chunks of the same
// document are merged.
const evalChunks = 300

// evalResult is what `ragd eval --json` prints.
type evalResult struct {
	Dataset string `json:"dataset"`
	Mode    string `json:"mode"`
	beir.Scores
	QueriesPerSecond float64 `json:"queries_per_second"`
	Retrieval        string  `json:"retrieval_note,omitempty"`
}

// evalBackend is where the evaluation runs: in-process or on a server.
type evalBackend interface {
	documentCount(ctx context.Context, collection string) (int, error)
	ingest(ctx context.Context, collection string, docs []ingest.Text) error
	search(ctx context.Context, q ragd.Question) ([]ragd.Hit, ragd.Retrieval, error)
}

func runEval(ctx context.Context, env *Env, args []string) error {
	f := newFlags(env, "eval", "--dataset DIR", "Evaluate retrieval on a BEIR-format dataset (corpus.jsonl, queries.jsonl, qrels/test.tsv): ingest the corpus if needed, run the test queries, print nDCG@10, Recall@10, Recall@100, MRR@10 and queries/s.")
	dataset := f.String("dataset", "", "BEIR dataset directory (required)")
	collection := f.String("collection", "", "collection to use (default: the dataset directory's name)")
	mode := f.String("mode", ragd.ModeHybrid, "retrieval mode: hybrid, vector or lexical")
	split := f.String("split", "test", "qrels split to evaluate")
	asJSON := f.Bool("json", false, "print one JSON object")
	local := f.Bool("local", false, "run in-process against the configured store instead of a server")
	f.config("url", "ragd server URL (default http://localhost:8080, or $RAGD_URL)")
	f.config("data_dir", "data directory, with --local")
	f.config("embedder", "embedder of the collection, if eval creates it")
	if err := f.Parse(args); err != nil {
		return err
	}
	if *dataset == "" || f.NArg() > 0 {
		f.Usage()
		return fmt.Errorf("eval needs --dataset DIR and no arguments")
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	d, err := beir.Load(*dataset, *split)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if *collection == "" {
		*collection = d.Name
	}
	var backend evalBackend
	if *local {
		app, err := localApp(ctx, env, cfg)
		if err != nil {
			return err
		}
		defer app.Close()
		backend = localEval{app}
	} else {
		backend = serverEval{newClient(cfg.URL, cfg.APIKey)}
	}

	docs, toCorpus := evalDocuments(d)
	n, err := backend.documentCount(ctx, *collection)
	if err != nil {
		return err
	}
	if n < len(docs) {
		if !*asJSON {
			fmt.Fprintf(env.Stderr, "ingesting %d documents of %s into collection %q...\n", len(docs), d.Name, *collection)
		}
		start := time.Now()
		if err := backend.ingest(ctx, *collection, docs); err != nil {
			return fmt.Errorf("ingest corpus: %w", err)
		}
		if !*asJSON {
			fmt.Fprintf(env.Stderr, "ingested in %s\n", time.Since(start).Round(time.Millisecond))
		}
	}

	var scores beir.Scores
	var note string
	start := time.Now()
	for _, q := range d.Queries {
		hits, rep, err := backend.search(ctx, ragd.Question{Collection: *collection, Query: q.Text, TopK: evalChunks, Mode: *mode})
		if err != nil {
			return fmt.Errorf("query %s: %w", q.ID, err)
		}
		if rep.Reason != "" {
			note = fmt.Sprintf("%s instead of %s: %s", rep.Mode, rep.Requested, rep.Reason)
		}
		scores.Add(rankDocuments(hits, toCorpus), d.Qrels[q.ID])
	}
	elapsed := time.Since(start)
	res := evalResult{Dataset: d.Name, Mode: *mode, Scores: scores.Mean(), QueriesPerSecond: float64(len(d.Queries)) / elapsed.Seconds(), Retrieval: note}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	if note != "" {
		fmt.Fprintf(env.Stdout, "note: retrieval ran %s\n", note)
	}
	fmt.Fprintf(env.Stdout, "dataset     %s (%d queries, collection %q)\nmode        %s\nnDCG@10     %.4f\nRecall@10   %.4f\nRecall@100  %.4f\nMRR@10      %.4f\nqueries/s   %.1f\n",
		d.Name, res.Queries, *collection, *mode, res.NDCG10, res.Recall10, res.Recall100, res.MRR10, res.QueriesPerSecond)
	return nil
}

// evalDocuments turns the corpus into documents whose IDs are the corpus
// IDs where those are valid document IDs, and returns the way back.
func evalDocuments(d *beir.Dataset) ([]ingest.Text, map[string]string) {
	docs := make([]ingest.Text, len(d.Corpus))
	toCorpus := make(map[string]string, len(d.Corpus))
	for i, c := range d.Corpus {
		id := c.ID
		if ingest.ValidateDocumentID(id) != nil {
			sum := sha256.Sum256([]byte(c.ID))
			id = "beir_" + hex.EncodeToString(sum[:12])
		}
		toCorpus[id] = c.ID
		docs[i] = ingest.Text{ID: id, Title: c.Title, Text: c.Text, Source: d.Name + "/" + c.ID}
	}
	return docs, toCorpus
}

// rankDocuments turns ranked chunks into ranked corpus documents: each
// document at the rank of its best chunk.
func rankDocuments(hits []ragd.Hit, toCorpus map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range hits {
		id, ok := toCorpus[h.DocumentID]
		if !ok {
			id = h.DocumentID
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

type localEval struct{ app *App }

func (l localEval) documentCount(ctx context.Context, collection string) (int, error) {
	c, err := l.app.Store.Collection(ctx, collection)
	if ragd.ErrorCode(err) == ragd.ENotFound {
		return 0, nil
	}
	return c.DocumentCount, err
}

func (l localEval) ingest(ctx context.Context, collection string, docs []ingest.Text) error {
	for _, d := range docs {
		if _, err := l.app.Ingest.IngestText(ctx, collection, d); err != nil {
			return fmt.Errorf("document %s: %w", d.ID, err)
		}
	}
	return nil
}

func (l localEval) search(ctx context.Context, q ragd.Question) ([]ragd.Hit, ragd.Retrieval, error) {
	return l.app.Retrieve.Retrieve(ctx, q)
}

type serverEval struct{ c *client }

func (s serverEval) documentCount(ctx context.Context, collection string) (int, error) {
	var c ragd.Collection
	err := s.c.do(ctx, "GET", collectionPath(collection), nil, &c)
	if ragd.ErrorCode(err) == ragd.ENotFound {
		return 0, nil
	}
	return c.DocumentCount, err
}

func (s serverEval) ingest(ctx context.Context, collection string, docs []ingest.Text) error {
	const batch = 100
	for i := 0; i < len(docs); i += batch {
		var body struct {
			Documents []map[string]any `json:"documents"`
		}
		for _, d := range docs[i:min(i+batch, len(docs))] {
			body.Documents = append(body.Documents, map[string]any{"id": d.ID, "title": d.Title, "text": d.Text, "source": d.Source})
		}
		if err := s.c.do(ctx, "POST", collectionPath(collection, "documents"), body, nil); err != nil {
			return err
		}
	}
	return nil
}

func (s serverEval) search(ctx context.Context, q ragd.Question) ([]ragd.Hit, ragd.Retrieval, error) {
	var resp struct {
		Data      []ragd.Hit     `json:"data"`
		Retrieval ragd.Retrieval `json:"retrieval"`
	}
	err := s.c.do(ctx, "POST", collectionPath(q.Collection, "search"), map[string]any{"query": q.Query, "top_k": q.TopK, "mode": q.Mode}, &resp)
	return resp.Data, resp.Retrieval, err
}
