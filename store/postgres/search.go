package postgres

import (
	"context"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/lexical"
)

// vectorMargin is how many candidates beyond top-k the index scan fetches,
// so that hits tied on score at the cut are ordered by chunk ID as in every
// store, rather than by the order the index returned them.
const vectorMargin = 10

// Search returns up to q.TopK hits, best first, ties broken by ascending
// chunk ID, with q.Filter applied inside the SQL. See the package
// documentation for how each mode runs. It returns ENotFound for a missing
// collection and EInvalid for a bad query: an unknown mode, a TopK out of
// range, a missing vector, or a vector whose dimension is not the
// collection's.
func (db *DB) Search(ctx context.Context, q ragd.SearchQuery) ([]ragd.Hit, error) {
	if err := validateSearch(&q); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		coll, err := db.lookupCollection(ctx, q.Collection, attempt > 0)
		if err != nil {
			return nil, err
		}
		if q.Mode != ragd.ModeLexical {
			if coll.dimension == 0 {
				return nil, ragd.Errorf(ragd.EInvalid, "collection %q has no vectors (dimension 0): use lexical search", q.Collection)
			}
			if len(q.Vector) != coll.dimension {
				return nil, ragd.Errorf(ragd.EInvalid, "collection %q has dimension %d, got a %d-dimensional query vector", q.Collection, coll.dimension, len(q.Vector))
			}
		}
		query, args, empty, err := db.searchSQL(coll, q)
		if err != nil {
			return nil, err
		}

		// One round trip: the settings, the collection's current ID (to
		// detect a cached ID of a collection deleted meanwhile) and the
		// search.
		b := &pgx.Batch{}
		db.queueSearchSettings(b)
		var current *int64
		b.Queue(db.sql(`SELECT (SELECT id FROM {schema}.collections WHERE name = $1)`), q.Collection).
			QueryRow(func(r pgx.Row) error { return r.Scan(&current) })
		hits := []ragd.Hit{}
		if !empty {
			b.Queue(query, args...).Query(func(rows pgx.Rows) error {
				var err error
				hits, err = scanHits(rows)
				return err
			})
		}
		if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
			return nil, db.wrap(err, "search")
		}
		if current == nil || *current != coll.id {
			db.colls.forget(q.Collection)
			if attempt == 0 {
				continue
			}
			return nil, notFoundCollection(q.Collection)
		}
		return hits, nil
	}
}

func scanHits(rows pgx.Rows) ([]ragd.Hit, error) {
	hits := []ragd.Hit{}
	for rows.Next() {
		var (
			h          ragd.Hit
			metadata   []byte
			start, end int32
		)
		if err := rows.Scan(&h.ChunkID, &h.DocumentID, &h.Title, &h.Source, &h.Text, &h.Headings, &h.Score, &metadata, &start, &end); err != nil {
			return nil, err
		}
		h.Start, h.End = int(start), int(end)
		if metadata != nil {
			m, err := decodeMetadata(metadata)
			if err != nil {
				return nil, err
			}
			h.Metadata = m
		}
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

// queueSearchSettings queues the settings of a search, local to the
// implicit transaction of the batch that it starts (so they hold behind
// transaction-pooling proxies and never leak into other queries):
// iterative index scans, so that a filter that rejects most of what the
// index returns still yields top-k hits; the HNSW candidate list; and
// custom plans, since a generic plan cannot use a collection's partial
// index.
func (db *DB) queueSearchSettings(b *pgx.Batch) {
	b.Queue(`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),
		set_config('hnsw.ef_search', $1, true),
		set_config('hnsw.max_scan_tuples', $2, true),
		set_config('plan_cache_mode', 'force_custom_plan', true)`,
		strconv.Itoa(db.opts.EfSearch), strconv.Itoa(db.opts.MaxScanTuples))
}

func validateSearch(q *ragd.SearchQuery) error {
	switch q.Mode {
	case ragd.ModeVector, ragd.ModeLexical, ragd.ModeHybrid:
	default:
		return ragd.Errorf(ragd.EInvalid, "search mode %q is not one of %s, %s, %s", q.Mode, ragd.ModeHybrid, ragd.ModeVector, ragd.ModeLexical)
	}
	if q.TopK < 1 || q.TopK > ragd.MaxTopK {
		return ragd.Errorf(ragd.EInvalid, "top_k must be between 1 and %d, got %d", ragd.MaxTopK, q.TopK)
	}
	if len(q.Text) > ragd.MaxQueryBytes {
		return ragd.Errorf(ragd.EInvalid, "query text is longer than %d bytes", ragd.MaxQueryBytes)
	}
	if q.Mode != ragd.ModeLexical {
		if len(q.Vector) == 0 {
			return ragd.Errorf(ragd.EInvalid, "%s search needs a query vector", q.Mode)
		}
		for _, x := range q.Vector {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return ragd.Errorf(ragd.EInvalid, "query vector has NaN or infinite components")
			}
		}
	}
	if math.IsNaN(q.MinScore) {
		return ragd.Errorf(ragd.EInvalid, "min_score is not a number")
	}
	return nil
}

// queryTerms returns the distinct lexical terms of text in the order they
// first appear: BM25 counts each query term once.
func queryTerms(text string) []string {
	terms := lexical.QueryTerms(text)
	for i, t := range terms {
		terms[i] = cleanString(t)
	}
	return terms
}

// searchSQL builds the statement of a search and its arguments. empty is
// true when the search cannot match anything (a lexical search without
// terms), so no statement is needed.
func (db *DB) searchSQL(coll collectionRow, q ragd.SearchQuery) (query string, a args, empty bool, err error) {
	collParam := a.add(coll.id)
	filter, err := filterSQL(q.Filter, "c.metadata", &a)
	if err != nil {
		return "", nil, false, err
	}
	var ctes []string
	var final string // selects (id, score) of the result: its best TopK and any tied with the last
	n := q.TopK      // how many of each list to rank
	if q.Mode == ragd.ModeHybrid {
		n = ragd.HybridCandidates(q.TopK)
	}
	nParam := a.add(n)

	if q.Mode == ragd.ModeVector || q.Mode == ragd.ModeHybrid {
		vec := a.add(pgvector.NewVector(q.Vector))
		// vc is what the collection's HNSW index answers, in approximate
		// order (a relaxed iterative scan); vr re-scores exactly and ranks.
		// A zero vector has no direction (cosine is NaN): it scores 0, its
		// dot product.
		ctes = append(ctes, `vc AS MATERIALIZED (
	SELECT c.id, `+orderExpr(coll.dimension, vec)+` AS distance
	FROM {schema}.chunks c
	WHERE c.collection_id = `+collParam+` AND c.embedding IS NOT NULL AND `+filter+`
	ORDER BY distance
	LIMIT `+a.add(n+vectorMargin)+`
)`, `vr AS (
	SELECT x.id, x.score, row_number() OVER (ORDER BY x.score DESC, x.chunk_id) AS rank
	FROM (SELECT c.id, c.chunk_id, coalesce(nullif(1 - (c.embedding <=> `+vec+`::vector), 'NaN'), 0) AS score
	      FROM vc JOIN {schema}.chunks c ON c.id = vc.id) x
)`)
		final = "SELECT id, score FROM vr WHERE rank <= " + nParam
	}

	if q.Mode == ragd.ModeLexical || q.Mode == ragd.ModeHybrid {
		terms := queryTerms(q.Text)
		if len(terms) == 0 && q.Mode == ragd.ModeLexical {
			return "", nil, true, nil
		}
		termsParam := a.add(terms)
		k1, b, oneMinusB := a.add(float64(lexical.K1)), a.add(float64(lexical.B)), a.add(float64(1-lexical.B))
		join := ""
		if q.Filter != nil {
			join = "JOIN {schema}.chunks c ON c.id = lp.chunk AND " + filter
		}
		// BM25 as lexical.Score computes it, operation for operation, so
		// that scores are equal to the last bit (up to ln):
		//   IDF = ln(1 + (N - df + 0.5) / (df + 0.5))
		//   TF  = tf / (tf + K1 * ((1 - B) + B * dl / avgdl))
		// summed over the query terms in query order, as the reference
		// ranker adds them. N, df and avgdl are over the whole collection,
		// whatever the filter: df is counted before the filter applies.
		// lr ranks the best n, plus any tied with the n-th so that ties
		// are broken by chunk ID.
		ctes = append(ctes, `st AS (
	SELECT chunk_count::float8 AS n, lex_length::float8 / nullif(chunk_count, 0)::float8 AS avgdl
	FROM {schema}.collections WHERE id = `+collParam+`
)`, `qt AS (
	SELECT t.term, t.n FROM unnest(`+termsParam+`::text[]) WITH ORDINALITY AS t(term, n)
)`, `lp AS (
	SELECT p.chunk, qt.n, p.tf, p.dl, count(*) OVER (PARTITION BY qt.n) AS df
	FROM qt JOIN {schema}.postings p ON p.collection_id = `+collParam+` AND p.term = qt.term
)`, `ls AS (
	SELECT lp.chunk AS id,
	       sum(ln(1 + (st.n - lp.df::float8 + 0.5) / (lp.df::float8 + 0.5))
	           * (lp.tf::float8 / (lp.tf::float8 + `+k1+`::float8 * (`+oneMinusB+`::float8 + `+b+`::float8 * lp.dl::float8 / st.avgdl)))
	           ORDER BY lp.n) AS score
	FROM lp CROSS JOIN st
	`+join+`
	GROUP BY lp.chunk
)`, `lr AS (
	SELECT ls.id, ls.score, row_number() OVER (ORDER BY ls.score DESC, c.chunk_id) AS rank
	FROM ls JOIN {schema}.chunks c ON c.id = ls.id
	WHERE ls.score >= (SELECT min(x.score) FROM (SELECT score FROM ls ORDER BY score DESC LIMIT `+nParam+`) x)
)`)
		final = "SELECT id, score FROM lr WHERE rank <= " + nParam
	}

	if q.Mode == ragd.ModeHybrid {
		ctes = append(ctes, `fused AS (
	SELECT u.id, sum(1::float8 / (`+a.add(float64(ragd.RRFK))+`::float8 + u.rank)) AS score
	FROM (SELECT id, rank FROM vr WHERE rank <= `+nParam+`
	      UNION ALL
	      SELECT id, rank FROM lr WHERE rank <= `+nParam+`) u
	GROUP BY u.id
)`)
		final = "SELECT id, score FROM fused WHERE score >= (SELECT min(x.score) FROM (SELECT score FROM fused ORDER BY score DESC LIMIT " + a.add(q.TopK) + ") x)"
	}

	query = "WITH " + strings.Join(ctes, ",\n") + `
SELECT c.chunk_id, c.document_id, d.title, d.source, c.text, c.headings, s.score, c.metadata, c.start_offset, c.end_offset
FROM (` + final + `) s
JOIN {schema}.chunks c ON c.id = s.id
JOIN {schema}.documents d ON d.collection_id = c.collection_id AND d.id = c.document_id
WHERE s.score >= ` + a.add(q.MinScore) + `
ORDER BY s.score DESC, c.chunk_id
LIMIT ` + a.add(q.TopK)
	return db.sql(query), a, false, nil
}
