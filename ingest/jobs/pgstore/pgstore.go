// Package pgstore keeps batch ingest jobs in Postgres (tables ingest_jobs
// and ingest_job_items, migration 0010), as a queue that any number of ragd
// processes work on together: an item is claimed with FOR UPDATE SKIP
// LOCKED under a lease that its worker renews; when a worker dies its lease
// runs out and another process takes the item over. A job's row serializes
// the recording of its outcomes, which get consecutive sequence numbers in
// commit order, so event streams in any process miss none.
//
// JSON goes to the database as text, never as bytes: under the simple
// protocol (PGlite, poolers) bytes would be sent as bytea.
package pgstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/jobs"
)

// sweepBatch caps the expired leases one Claim takes back.
const sweepBatch = 100

// Store is a [jobs.Store] in Postgres.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store over pool. The tables come from migration
// 0010_ingest_jobs.sql, applied by the migrations runner.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// dbError maps a database error: connection trouble is EUnavailable,
// anything else stays internal.
func dbError(err error, what string) error {
	if err == nil {
		return nil
	}
	var re *ragd.Error
	if errors.As(err, &re) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", "53", "57", "40": // connection, resources, shutdown, serialization/deadlock
			return ragd.WrapError(ragd.EUnavailable, err, "the job store is unavailable")
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return ragd.WrapError(ragd.EUnavailable, err, "the job store is unavailable")
}

func notFound(id string) error {
	return ragd.Errorf(ragd.ENotFound, "job %q does not exist", id)
}

func lostLease(t jobs.Task) error {
	return ragd.Errorf(ragd.EConflict, "the lease on item %d of job %s was lost", t.ItemID, t.JobID)
}

// job is a locked job row, as Finish, Cancel and the sweep change it.
type job struct {
	id       string
	sources  []jobs.Source
	status   string
	progress jobs.Progress
	seq      int64
	nextIdx  int64
	groups   map[int]int
	finished *time.Time
}

// lockJob reads and locks a job row.
func lockJob(ctx context.Context, tx pgx.Tx, id string) (*job, error) {
	j := &job{id: id}
	var sources, progress, groups []byte
	err := tx.QueryRow(ctx, `
		SELECT sources, status, progress, seq, next_idx, groups, finished_at
		FROM ingest_jobs WHERE id = $1 FOR UPDATE`, id).
		Scan(&sources, &j.status, &progress, &j.seq, &j.nextIdx, &groups, &j.finished)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(sources, &j.sources); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(progress, &j.progress); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(groups, &j.groups); err != nil {
		return nil, err
	}
	return j, nil
}

// save writes a locked job row back, ending the job when nothing is left.
func (j *job) save(ctx context.Context, tx pgx.Tx) error {
	var running int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM ingest_job_items WHERE job_id = $1 AND status = 'running'`, j.id).Scan(&running); err != nil {
		return err
	}
	finish := false
	switch j.status {
	case jobs.StatusQueued, jobs.StatusRunning:
		if j.progress.Open() == 0 {
			j.status = j.progress.FinalStatus()
			finish = true
		}
	case jobs.StatusCancelled:
		finish = running == 0 && j.finished == nil
	}
	j.progress.Running = 0 // counted live
	progress, err := json.Marshal(j.progress)
	if err != nil {
		return err
	}
	groups, err := json.Marshal(j.groups)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		UPDATE ingest_jobs SET status = $2, progress = $3, seq = $4, next_idx = $5, groups = $6,
			finished_at = CASE WHEN $7 THEN now() ELSE finished_at END, updated_at = now()
		WHERE id = $1`, j.id, j.status, string(progress), j.seq, j.nextIdx, string(groups), finish)
	return err
}

// outcome is what the outcome column holds.
type outcome struct {
	Reason     string `json:"reason,omitempty"`
	Error      string `json:"error,omitempty"`
	DocumentID string `json:"document_id,omitempty"`
	Title      string `json:"title,omitempty"`
	Documents  int    `json:"documents,omitempty"`
	Indexed    int    `json:"indexed,omitempty"`
	Updated    int    `json:"updated,omitempty"`
	Unchanged  int    `json:"unchanged,omitempty"`
	Chunks     int    `json:"chunks,omitempty"`
	Embedded   int    `json:"embedded,omitempty"`
	Truncated  bool   `json:"truncated,omitempty"`
	Bytes      int64  `json:"bytes,omitempty"`
}

func outcomeOf(it jobs.Item) outcome {
	return outcome{it.Reason, it.Error, it.DocumentID, it.Title, it.Documents, it.Indexed, it.Updated,
		it.Unchanged, it.Chunks, it.Embedded, it.Truncated, it.Bytes}
}

// record stores the outcome of item idx (which the caller has locked and
// counted), numbering it unless it is an expanded folder.
func (j *job) record(ctx context.Context, tx pgx.Tx, idx int64, out jobs.Item) error {
	var seq *int64
	if out.Status != jobs.ItemExpanded {
		j.seq++
		s := j.seq
		seq = &s
	}
	data, err := json.Marshal(outcomeOf(out))
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		UPDATE ingest_job_items SET status = $3, seq = $4, outcome = $5, finished_at = now(),
			owner = NULL, lease_until = NULL
		WHERE job_id = $1 AND idx = $2`, j.id, idx, out.Status, seq, string(data))
	return err
}

var cancelledOutcome = jobs.Item{Status: jobs.ItemCancelled, Reason: "cancelled", Error: "The job was cancelled."}

// addItems inserts new items, skipping keys the job has and crawl pages
// over their group's cap; the caller holds the job row's lock.
func (j *job) addItems(ctx context.Context, tx pgx.Tx, items []jobs.NewItem) error {
	if len(items) == 0 {
		return nil
	}
	// Drop duplicates within the batch and keys the job already has.
	type kk struct{ kind, key string }
	seen := make(map[kk]bool, len(items))
	var kinds, hashes []string
	for _, ni := range items {
		k := kk{ni.Kind, ni.Key}
		if !seen[k] {
			seen[k] = true
			kinds = append(kinds, ni.Kind)
			hashes = append(hashes, md5hex(ni.Key))
		}
	}
	rows, err := tx.Query(ctx, `
		SELECT kind, key FROM ingest_job_items
		WHERE job_id = $1 AND (kind, md5(key)) IN (SELECT * FROM unnest($2::text[], $3::text[]))`, j.id, kinds, hashes)
	if err != nil {
		return err
	}
	existing := make(map[kk]bool)
	for rows.Next() {
		var k kk
		if err := rows.Scan(&k.kind, &k.key); err != nil {
			rows.Close()
			return err
		}
		existing[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	var (
		idxs         []int64
		ikinds, keys []string
		depths, grps []int32
		statuses     []string
		seqs         []*int64
		outcomes     []*string
		finished     []bool
		added        = make(map[kk]bool)
	)
	for _, ni := range items {
		k := kk{ni.Kind, ni.Key}
		if existing[k] || added[k] {
			continue
		}
		if ni.Group >= 0 {
			if ni.Group < len(j.sources) && j.sources[ni.Group].Crawl != nil && j.groups[ni.Group] >= j.sources[ni.Group].Crawl.MaxPages {
				continue
			}
			if j.groups == nil {
				j.groups = make(map[int]int)
			}
			j.groups[ni.Group]++
		}
		added[k] = true
		var out *jobs.Item
		switch {
		case ni.Done != nil:
			j.progress.Added(ni.Kind, ni.Done)
			out = ni.Done
		case j.status == jobs.StatusCancelled:
			j.progress.Added(ni.Kind, nil)
			j.progress.Finished(ni.Kind, false, cancelledOutcome)
			out = &cancelledOutcome
		default:
			j.progress.Added(ni.Kind, nil)
		}
		idxs = append(idxs, j.nextIdx)
		j.nextIdx++
		ikinds, keys = append(ikinds, ni.Kind), append(keys, ni.Key)
		depths, grps = append(depths, int32(ni.Depth)), append(grps, int32(ni.Group))
		if out == nil {
			statuses, seqs, outcomes, finished = append(statuses, jobs.ItemPending), append(seqs, nil), append(outcomes, nil), append(finished, false)
			continue
		}
		j.seq++
		s := j.seq
		data, err := json.Marshal(outcomeOf(*out))
		if err != nil {
			return err
		}
		outcome := string(data)
		statuses, seqs, outcomes, finished = append(statuses, out.Status), append(seqs, &s), append(outcomes, &outcome), append(finished, true)
	}
	if len(idxs) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO ingest_job_items (job_id, idx, kind, key, depth, grp, status, seq, outcome, finished_at)
		SELECT $1, u.idx, u.kind, u.key, u.depth, u.grp, u.status, u.seq, u.outcome,
			CASE WHEN u.finished THEN now() END
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::int[], $6::int[], $7::text[], $8::bigint[], $9::jsonb[], $10::bool[])
			AS u(idx, kind, key, depth, grp, status, seq, outcome, finished)`,
		j.id, idxs, ikinds, keys, depths, grps, statuses, seqs, outcomes, finished)
	return err
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// CreateJob implements jobs.Store.
func (s *Store) CreateJob(ctx context.Context, jb jobs.Job, items []jobs.NewItem) error {
	sources, err := json.Marshal(jb.Sources)
	if err != nil {
		return err
	}
	options, err := json.Marshal(jb.Options)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO ingest_jobs (id, collection, sources, options, status, progress, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, '{}', $6, $7) ON CONFLICT (id) DO NOTHING`,
			jb.ID, jb.Collection, string(sources), string(options), jobs.StatusQueued, jb.CreatedAt, jb.UpdatedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ragd.Errorf(ragd.EConflict, "job %q already exists", jb.ID)
		}
		j, err := lockJob(ctx, tx, jb.ID)
		if err != nil {
			return err
		}
		if err := j.addItems(ctx, tx, items); err != nil {
			return err
		}
		return j.save(ctx, tx)
	})
	return dbError(err, "create job")
}

const jobColumns = `j.id, j.collection, j.sources, j.options, j.status, j.progress, j.seq,
	j.created_at, j.started_at, j.finished_at, j.updated_at,
	(SELECT count(*) FROM ingest_job_items r WHERE r.job_id = j.id AND r.status = 'running')`

func scanJob(row pgx.Row) (jobs.Job, error) {
	var j jobs.Job
	var sources, options, progress []byte
	var running int
	if err := row.Scan(&j.ID, &j.Collection, &sources, &options, &j.Status, &progress, &j.Seq,
		&j.CreatedAt, &j.StartedAt, &j.FinishedAt, &j.UpdatedAt, &running); err != nil {
		return j, err
	}
	if err := json.Unmarshal(sources, &j.Sources); err != nil {
		return j, err
	}
	if err := json.Unmarshal(options, &j.Options); err != nil {
		return j, err
	}
	if err := json.Unmarshal(progress, &j.Progress); err != nil {
		return j, err
	}
	j.Progress.Running = running
	return j, nil
}

// Job implements jobs.Store.
func (s *Store) Job(ctx context.Context, id string) (jobs.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM ingest_jobs j WHERE j.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return jobs.Job{}, notFound(id)
	}
	return j, dbError(err, "read job")
}

// Jobs implements jobs.Store.
func (s *Store) Jobs(ctx context.Context, f jobs.Filter) ([]jobs.Job, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	if f.Before != "" {
		if _, err := s.Job(ctx, f.Before); err != nil {
			return nil, err
		}
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+jobColumns+` FROM ingest_jobs j
		WHERE ($1 = '' OR j.collection = $1) AND ($2 = '' OR j.status = $2)
			AND ($3 = '' OR j.position < (SELECT position FROM ingest_jobs WHERE id = $3))
		ORDER BY j.position DESC LIMIT $4`, f.Collection, f.Status, f.Before, f.Limit)
	if err != nil {
		return nil, dbError(err, "list jobs")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (jobs.Job, error) { return scanJob(r) })
	return out, dbError(err, "list jobs")
}

const itemColumns = `idx, kind, key, depth, status, attempts, seq, outcome, finished_at`

func scanItem(row pgx.CollectableRow) (jobs.Item, error) {
	var it jobs.Item
	var idx int64
	var seq *int64
	var data []byte
	if err := row.Scan(&idx, &it.Kind, &it.Source, &it.Depth, &it.Status, &it.Attempts, &seq, &data, &it.FinishedAt); err != nil {
		return it, err
	}
	if seq != nil {
		it.Seq = *seq
	}
	if data != nil {
		var o outcome
		if err := json.Unmarshal(data, &o); err != nil {
			return it, err
		}
		it.Reason, it.Error, it.DocumentID, it.Title = o.Reason, o.Error, o.DocumentID, o.Title
		it.Documents, it.Indexed, it.Updated, it.Unchanged = o.Documents, o.Indexed, o.Updated, o.Unchanged
		it.Chunks, it.Embedded, it.Truncated, it.Bytes = o.Chunks, o.Embedded, o.Truncated, o.Bytes
	}
	return it, nil
}

func (s *Store) items(ctx context.Context, query string, args ...any) ([]jobs.Item, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, dbError(err, "read job items")
	}
	out, err := pgx.CollectRows(rows, scanItem)
	return out, dbError(err, "read job items")
}

// Items implements jobs.Store.
func (s *Store) Items(ctx context.Context, id string, after int64, limit int) ([]jobs.Item, error) {
	return s.items(ctx, `SELECT `+itemColumns+` FROM ingest_job_items
		WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, id, after, limit)
}

// Failures implements jobs.Store.
func (s *Store) Failures(ctx context.Context, id string, limit int) ([]jobs.Item, error) {
	return s.items(ctx, `SELECT `+itemColumns+` FROM ingest_job_items
		WHERE job_id = $1 AND status IN ('failed', 'skipped') ORDER BY seq LIMIT $2`, id, limit)
}

// Running implements jobs.Store.
func (s *Store) Running(ctx context.Context, id string, limit int) ([]jobs.Item, error) {
	return s.items(ctx, `SELECT `+itemColumns+` FROM ingest_job_items
		WHERE job_id = $1 AND status = 'running' ORDER BY idx LIMIT $2`, id, limit)
}

// Claim implements jobs.Store. The item is taken in one statement that
// locks only the item (SKIP LOCKED), never the job row, so claims do not
// queue behind each other or deadlock with Finish and Cancel.
func (s *Store) Claim(ctx context.Context, c jobs.Claim) (jobs.Task, bool, error) {
	if err := s.sweep(ctx, c.MaxAttempts); err != nil {
		return jobs.Task{}, false, err
	}
	var t jobs.Task
	var sources, options []byte
	var jobStatus string
	err := s.pool.QueryRow(ctx, `
		UPDATE ingest_job_items i
		SET status = 'running', owner = $1, lease_until = now() + $2 * interval '1 millisecond', attempts = i.attempts + 1
		FROM (
			SELECT p.job_id, p.idx FROM ingest_jobs oj
			CROSS JOIN LATERAL (
				SELECT job_id, idx FROM ingest_job_items
				WHERE job_id = oj.id AND status = 'pending'
				ORDER BY idx LIMIT 1
				FOR UPDATE SKIP LOCKED
			) p
			WHERE oj.status IN ('queued', 'running')
			ORDER BY oj.position LIMIT 1
		) c, ingest_jobs j
		WHERE i.job_id = c.job_id AND i.idx = c.idx AND j.id = i.job_id
		RETURNING i.job_id, i.idx, i.kind, i.key, i.depth, i.grp, i.attempts, j.collection, j.options, j.sources, j.status`,
		c.Owner, c.Lease.Milliseconds()).
		Scan(&t.JobID, &t.ItemID, &t.Kind, &t.Key, &t.Depth, &t.Group, &t.Attempt, &t.Collection, &options, &sources, &jobStatus)
	if errors.Is(err, pgx.ErrNoRows) {
		return jobs.Task{}, false, nil
	}
	if err != nil {
		return jobs.Task{}, false, dbError(err, "claim job item")
	}
	t.Owner = c.Owner
	if err := json.Unmarshal(options, &t.Options); err != nil {
		return jobs.Task{}, false, err
	}
	var srcs []jobs.Source
	if err := json.Unmarshal(sources, &srcs); err != nil {
		return jobs.Task{}, false, err
	}
	if t.Group >= 0 && t.Group < len(srcs) {
		t.Crawl = srcs[t.Group].Crawl
	}
	if jobStatus == jobs.StatusQueued {
		// A separate statement: the claim above must not wait on the
		// job row.
		if _, err := s.pool.Exec(ctx, `
			UPDATE ingest_jobs SET status = 'running', started_at = now(), updated_at = now()
			WHERE id = $1 AND status = 'queued'`, t.JobID); err != nil {
			return jobs.Task{}, false, dbError(err, "start job")
		}
	}
	return t, true, nil
}

// sweep takes back items whose lease ran out: pending again, or failed
// when they used up their attempts, or cancelled when their job was.
func (s *Store) sweep(ctx context.Context, maxAttempts int) error {
	rows, err := s.pool.Query(ctx, `
		SELECT job_id, idx FROM ingest_job_items
		WHERE status = 'running' AND lease_until < now() LIMIT $1`, sweepBatch)
	if err != nil {
		return dbError(err, "find expired leases")
	}
	type ref struct {
		job string
		idx int64
	}
	expired, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ref, error) {
		var x ref
		return x, r.Scan(&x.job, &x.idx)
	})
	if err != nil {
		return dbError(err, "find expired leases")
	}
	for _, x := range expired {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			j, err := lockJob(ctx, tx, x.job)
			if err != nil {
				return err
			}
			var kind string
			var attempts int
			err = tx.QueryRow(ctx, `
				SELECT kind, attempts FROM ingest_job_items
				WHERE job_id = $1 AND idx = $2 AND status = 'running' AND lease_until < now()
				FOR UPDATE SKIP LOCKED`, x.job, x.idx).Scan(&kind, &attempts)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // renewed, finished or swept meanwhile
			}
			if err != nil {
				return err
			}
			var out *jobs.Item
			switch {
			case j.status == jobs.StatusCancelled:
				out = &cancelledOutcome
			case maxAttempts > 0 && attempts >= maxAttempts:
				out = &jobs.Item{Status: ragd.StatusFailed, Reason: jobs.ReasonAttemptsExhausted,
					Error: "Processing stopped " + strconv.Itoa(attempts) + " times without an outcome; the item was given up."}
			}
			if out == nil {
				_, err := tx.Exec(ctx, `
					UPDATE ingest_job_items SET status = 'pending', owner = NULL, lease_until = NULL
					WHERE job_id = $1 AND idx = $2`, x.job, x.idx)
				return err
			}
			j.progress.Finished(kind, false, *out)
			if err := j.record(ctx, tx, x.idx, *out); err != nil {
				return err
			}
			return j.save(ctx, tx)
		})
		if err != nil && ragd.ErrorCode(err) != ragd.ENotFound {
			return dbError(err, "take back an expired lease")
		}
	}
	return nil
}

// leased locks t's item and checks that t still holds it; the caller holds
// the job row's lock.
func leased(ctx context.Context, tx pgx.Tx, t jobs.Task) (string, error) {
	var kind string
	err := tx.QueryRow(ctx, `
		SELECT kind FROM ingest_job_items
		WHERE job_id = $1 AND idx = $2 AND status = 'running' AND owner = $3 AND attempts = $4
		FOR UPDATE`, t.JobID, t.ItemID, t.Owner, t.Attempt).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", lostLease(t)
	}
	return kind, err
}

// Extend implements jobs.Store.
func (s *Store) Extend(ctx context.Context, t jobs.Task, lease time.Duration) (bool, error) {
	var status string
	err := s.pool.QueryRow(ctx, `
		UPDATE ingest_job_items i SET lease_until = now() + $5 * interval '1 millisecond'
		FROM ingest_jobs j
		WHERE i.job_id = $1 AND i.idx = $2 AND i.status = 'running' AND i.owner = $3 AND i.attempts = $4
			AND j.id = i.job_id
		RETURNING j.status`, t.JobID, t.ItemID, t.Owner, t.Attempt, lease.Milliseconds()).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, lostLease(t)
	}
	if err != nil {
		return false, dbError(err, "extend lease")
	}
	return status == jobs.StatusCancelled, nil
}

// Finish implements jobs.Store.
func (s *Store) Finish(ctx context.Context, t jobs.Task, out jobs.Item, children []jobs.NewItem) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		j, err := lockJob(ctx, tx, t.JobID)
		if err != nil {
			return err
		}
		kind, err := leased(ctx, tx, t)
		if err != nil {
			return err
		}
		j.progress.Finished(kind, false, out)
		if err := j.record(ctx, tx, t.ItemID, out); err != nil {
			return err
		}
		if err := j.addItems(ctx, tx, children); err != nil {
			return err
		}
		return j.save(ctx, tx)
	})
	return dbError(err, "finish job item")
}

// Release implements jobs.Store.
func (s *Store) Release(ctx context.Context, t jobs.Task) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		j, err := lockJob(ctx, tx, t.JobID)
		if err != nil {
			return err
		}
		kind, err := leased(ctx, tx, t)
		if err != nil {
			return err
		}
		if j.status == jobs.StatusCancelled {
			j.progress.Finished(kind, false, cancelledOutcome)
			if err := j.record(ctx, tx, t.ItemID, cancelledOutcome); err != nil {
				return err
			}
			return j.save(ctx, tx)
		}
		_, err = tx.Exec(ctx, `
			UPDATE ingest_job_items SET status = 'pending', owner = NULL, lease_until = NULL, attempts = attempts - 1
			WHERE job_id = $1 AND idx = $2`, t.JobID, t.ItemID)
		return err
	})
	return dbError(err, "release job item")
}

// Cancel implements jobs.Store.
func (s *Store) Cancel(ctx context.Context, id string) (jobs.Job, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		j, err := lockJob(ctx, tx, id)
		if err != nil {
			return err
		}
		switch j.status {
		case jobs.StatusCancelled:
			return nil
		case jobs.StatusSucceeded, jobs.StatusFailed:
			return ragd.Errorf(ragd.EConflict, "job %q already %s", id, j.status)
		}
		j.status = jobs.StatusCancelled
		rows, err := tx.Query(ctx, `
			SELECT idx, kind FROM ingest_job_items WHERE job_id = $1 AND status = 'pending'
			ORDER BY idx FOR UPDATE`, id)
		if err != nil {
			return err
		}
		type pending struct {
			idx  int64
			kind string
		}
		ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pending, error) {
			var p pending
			return p, r.Scan(&p.idx, &p.kind)
		})
		if err != nil {
			return err
		}
		idxs := make([]int64, len(ps))
		seqs := make([]int64, len(ps))
		for i, p := range ps {
			j.progress.Finished(p.kind, false, cancelledOutcome)
			j.seq++
			idxs[i], seqs[i] = p.idx, j.seq
		}
		data, err := json.Marshal(outcomeOf(cancelledOutcome))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE ingest_job_items i SET status = 'cancelled', seq = u.seq, outcome = $4, finished_at = now()
			FROM unnest($2::bigint[], $3::bigint[]) AS u(idx, seq)
			WHERE i.job_id = $1 AND i.idx = u.idx`, id, idxs, seqs, string(data)); err != nil {
			return err
		}
		return j.save(ctx, tx)
	})
	if err != nil {
		return jobs.Job{}, dbError(err, "cancel job")
	}
	return s.Job(ctx, id)
}
