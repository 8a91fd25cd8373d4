// Package boltstore keeps batch ingest jobs in a local bbolt file, the job
// store of the embedded default. Every state change is one fsynced
// transaction, so a job survives a crash; only one process opens the file at
// a time, so items a crashed process held are simply pending again when the
// file is reopened.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/jobs"
)

// Buckets. Job IDs are fixed-length (32 hex characters), so "id + number"
// keys sort by job, then number.
var (
	bucketJobs     = []byte("jobs")     // id -> jobRec
	bucketOrder    = []byte("order")    // order -> id
	bucketItems    = []byte("items")    // id + idx -> itemRec
	bucketKeys     = []byte("keys")     // id + kind + 0 + key -> idx
	bucketQueue    = []byte("queue")    // order + idx -> id: pending items of runnable jobs
	bucketRunning  = []byte("running")  // id + idx -> nil
	bucketDone     = []byte("done")     // id + seq -> idx: finished items
	bucketFailures = []byte("failures") // id + seq -> idx: failed and skipped items
)

// Options configure [Open].
type Options struct {
	// Now is the clock for timestamps and leases [time.Now].
	Now func() time.Time
	// LockTimeout is how long Open waits for another process to release
	// the file [1 s].
	LockTimeout time.Duration
}

// Store is a [jobs.Store] in a bbolt file.
type Store struct {
	db  *bolt.DB
	now func() time.Time
}

// Open opens (creating if needed) the job store at path. Items left running
// by a process that died are pending again (an item claimed MaxAttempts
// times is failed by the Claim that would take it next). Returns
// EUnavailable when another process has the file open.
func Open(path string, opt Options) (*Store, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, ragd.WrapError(ragd.EUnavailable, err, "the job store is in use by another ragd process")
	}
	if err != nil {
		return nil, fmt.Errorf("open job store: %w", err)
	}
	s := &Store{db: db, now: opt.Now}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketJobs, bucketOrder, bucketItems, bucketKeys, bucketQueue, bucketRunning, bucketDone, bucketFailures} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return s.expireAll(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open job store: %w", err)
	}
	return s, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// jobRec is a stored job.
type jobRec struct {
	jobs.Job
	Order   uint64      `json:"order"`
	NextIdx int64       `json:"next_idx"`
	Groups  map[int]int `json:"groups,omitempty"` // crawl group -> items
}

// itemRec is a stored item.
type itemRec struct {
	jobs.Item
	Idx        int64     `json:"idx"`
	Group      int       `json:"group"`
	Owner      string    `json:"owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

func idKey(id string, n int64) []byte { return append([]byte(id), u64(uint64(n))...) }

func get[T any](b *bolt.Bucket, k []byte) (*T, error) {
	v := b.Get(k)
	if v == nil {
		return nil, nil
	}
	var t T
	if err := json.Unmarshal(v, &t); err != nil {
		return nil, fmt.Errorf("decode %s: %w", k, err)
	}
	return &t, nil
}

func put(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

func notFound(id string) error {
	return ragd.Errorf(ragd.ENotFound, "job %q does not exist", id)
}

func (s *Store) loadJob(tx *bolt.Tx, id string) (*jobRec, error) {
	if len(id) != 32 {
		return nil, notFound(id)
	}
	j, err := get[jobRec](tx.Bucket(bucketJobs), []byte(id))
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, notFound(id)
	}
	return j, nil
}

func (s *Store) saveJob(tx *bolt.Tx, j *jobRec) error {
	j.UpdatedAt = s.now().UTC()
	return put(tx.Bucket(bucketJobs), []byte(j.ID), j)
}

// CreateJob implements jobs.Store.
func (s *Store) CreateJob(ctx context.Context, j jobs.Job, items []jobs.NewItem) error {
	if len(j.ID) != 32 {
		return ragd.Errorf(ragd.EInvalid, "job IDs are 32 hex characters")
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketJobs).Get([]byte(j.ID)) != nil {
			return ragd.Errorf(ragd.EConflict, "job %q already exists", j.ID)
		}
		order, err := tx.Bucket(bucketOrder).NextSequence()
		if err != nil {
			return err
		}
		j.Progress = jobs.Progress{}
		j.Failures = nil
		rec := &jobRec{Job: j, Order: order}
		if err := tx.Bucket(bucketOrder).Put(u64(order), []byte(j.ID)); err != nil {
			return err
		}
		if err := s.addItems(tx, rec, items); err != nil {
			return err
		}
		return s.saveJob(tx, rec)
	})
}

// addItems adds new items to j, skipping keys it has and crawl pages over
// their group's cap.
func (s *Store) addItems(tx *bolt.Tx, j *jobRec, items []jobs.NewItem) error {
	keys := tx.Bucket(bucketKeys)
	for _, ni := range items {
		k := append(append([]byte(j.ID), ni.Kind...), 0)
		k = append(k, ni.Key...)
		if keys.Get(k) != nil {
			continue
		}
		if ni.Group >= 0 {
			if ni.Group < len(j.Sources) && j.Sources[ni.Group].Crawl != nil &&
				j.Groups[ni.Group] >= j.Sources[ni.Group].Crawl.MaxPages {
				continue
			}
			if j.Groups == nil {
				j.Groups = make(map[int]int)
			}
			j.Groups[ni.Group]++
		}
		idx := j.NextIdx
		j.NextIdx++
		if err := keys.Put(k, u64(uint64(idx))); err != nil {
			return err
		}
		it := &itemRec{Item: jobs.Item{Source: ni.Key, Kind: ni.Kind, Depth: ni.Depth, Status: jobs.ItemPending}, Idx: idx, Group: ni.Group}
		switch {
		case ni.Done != nil:
			j.Progress.Added(ni.Kind, ni.Done)
			if err := s.record(tx, j, it, *ni.Done); err != nil {
				return err
			}
			continue
		case j.Status == jobs.StatusCancelled:
			j.Progress.Added(ni.Kind, nil)
			out := jobs.Item{Status: jobs.ItemCancelled, Reason: "cancelled", Error: "The job was cancelled."}
			j.Progress.Finished(ni.Kind, false, out)
			if err := s.record(tx, j, it, out); err != nil {
				return err
			}
			continue
		}
		j.Progress.Added(ni.Kind, nil)
		if err := put(tx.Bucket(bucketItems), idKey(j.ID, idx), it); err != nil {
			return err
		}
		if err := tx.Bucket(bucketQueue).Put(append(u64(j.Order), u64(uint64(idx))...), []byte(j.ID)); err != nil {
			return err
		}
	}
	return nil
}

// record stores an item's outcome and indexes it; the caller has counted
// it.
func (s *Store) record(tx *bolt.Tx, j *jobRec, it *itemRec, out jobs.Item) error {
	now := s.now().UTC()
	it.Status, it.Reason, it.Error = out.Status, out.Reason, out.Error
	it.DocumentID, it.Title = out.DocumentID, out.Title
	it.Documents, it.Indexed, it.Updated, it.Unchanged = out.Documents, out.Indexed, out.Updated, out.Unchanged
	it.Chunks, it.Embedded, it.Truncated, it.Bytes = out.Chunks, out.Embedded, out.Truncated, out.Bytes
	it.FinishedAt = &now
	it.Owner, it.LeaseUntil = "", time.Time{}
	if out.Status != jobs.ItemExpanded {
		j.Seq++
		it.Seq = j.Seq
		if err := tx.Bucket(bucketDone).Put(idKey(j.ID, it.Seq), u64(uint64(it.Idx))); err != nil {
			return err
		}
		if out.Status == ragd.StatusFailed || out.Status == ragd.StatusSkipped {
			if err := tx.Bucket(bucketFailures).Put(idKey(j.ID, it.Seq), u64(uint64(it.Idx))); err != nil {
				return err
			}
		}
	}
	return put(tx.Bucket(bucketItems), idKey(j.ID, it.Idx), it)
}

// settle ends j when nothing is left to do.
func (s *Store) settle(j *jobRec) {
	now := s.now().UTC()
	switch j.Status {
	case jobs.StatusQueued, jobs.StatusRunning:
		if j.Progress.Open() == 0 {
			j.Status = j.Progress.FinalStatus()
			j.FinishedAt = &now
		}
	case jobs.StatusCancelled:
		if j.Progress.Running == 0 && j.FinishedAt == nil {
			j.FinishedAt = &now
		}
	}
}

// Job implements jobs.Store.
func (s *Store) Job(ctx context.Context, id string) (jobs.Job, error) {
	var out jobs.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		j, err := s.loadJob(tx, id)
		if err != nil {
			return err
		}
		out = j.Job
		return nil
	})
	return out, err
}

// Jobs implements jobs.Store.
func (s *Store) Jobs(ctx context.Context, f jobs.Filter) ([]jobs.Job, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	var out []jobs.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOrder).Cursor()
		k, v := c.Last()
		if f.Before != "" {
			b, err := s.loadJob(tx, f.Before)
			if err != nil {
				return err
			}
			c.Seek(u64(b.Order))
			k, v = c.Prev()
		}
		for ; k != nil && len(out) < f.Limit; k, v = c.Prev() {
			j, err := s.loadJob(tx, string(v))
			if err != nil {
				return err
			}
			if (f.Collection == "" || j.Collection == f.Collection) && (f.Status == "" || j.Status == f.Status) {
				out = append(out, j.Job)
			}
		}
		return nil
	})
	return out, err
}

// Items implements jobs.Store.
func (s *Store) Items(ctx context.Context, id string, after int64, limit int) ([]jobs.Item, error) {
	return s.scan(id, bucketDone, after, limit)
}

// Failures implements jobs.Store.
func (s *Store) Failures(ctx context.Context, id string, limit int) ([]jobs.Item, error) {
	return s.scan(id, bucketFailures, 0, limit)
}

func (s *Store) scan(id string, bucket []byte, after int64, limit int) ([]jobs.Item, error) {
	var out []jobs.Item
	err := s.db.View(func(tx *bolt.Tx) error {
		items := tx.Bucket(bucketItems)
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Seek(idKey(id, after+1)); k != nil && bytes.HasPrefix(k, []byte(id)) && len(out) < limit; k, v = c.Next() {
			it, err := get[itemRec](items, idKey(id, int64(binary.BigEndian.Uint64(v))))
			if err != nil {
				return err
			}
			if it != nil {
				out = append(out, it.Item)
			}
		}
		return nil
	})
	return out, err
}

// Running implements jobs.Store.
func (s *Store) Running(ctx context.Context, id string, limit int) ([]jobs.Item, error) {
	var out []jobs.Item
	err := s.db.View(func(tx *bolt.Tx) error {
		items := tx.Bucket(bucketItems)
		c := tx.Bucket(bucketRunning).Cursor()
		for k, _ := c.Seek([]byte(id)); k != nil && bytes.HasPrefix(k, []byte(id)) && len(out) < limit; k, _ = c.Next() {
			it, err := get[itemRec](items, k)
			if err != nil {
				return err
			}
			if it != nil {
				out = append(out, it.Item)
			}
		}
		return nil
	})
	return out, err
}

// Claim implements jobs.Store.
func (s *Store) Claim(ctx context.Context, c jobs.Claim) (jobs.Task, bool, error) {
	var t jobs.Task
	var ok bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := s.expire(tx); err != nil {
			return err
		}
		q := tx.Bucket(bucketQueue)
		var (
			id string
			j  *jobRec
			it *itemRec
		)
		for {
			k, v := q.Cursor().First()
			if k == nil {
				return nil
			}
			id = string(v)
			idx := int64(binary.BigEndian.Uint64(k[8:]))
			if err := q.Delete(k); err != nil {
				return err
			}
			var err error
			if j, err = s.loadJob(tx, id); err != nil {
				return err
			}
			if it, err = get[itemRec](tx.Bucket(bucketItems), idKey(id, idx)); err != nil {
				return err
			}
			if it == nil {
				return fmt.Errorf("queued item %d of job %s is missing", idx, id)
			}
			if c.MaxAttempts <= 0 || it.Attempts < c.MaxAttempts {
				break
			}
			// Workers died on it MaxAttempts times: give it up.
			out := jobs.Item{Status: ragd.StatusFailed, Reason: jobs.ReasonAttemptsExhausted,
				Error: fmt.Sprintf("Processing stopped %d times without an outcome; the item was given up.", it.Attempts)}
			j.Progress.Finished(it.Kind, false, out)
			if err := s.record(tx, j, it, out); err != nil {
				return err
			}
			s.settle(j)
			if err := s.saveJob(tx, j); err != nil {
				return err
			}
		}
		idx := it.Idx
		now := s.now().UTC()
		it.Status, it.Owner, it.LeaseUntil = jobs.ItemRunning, c.Owner, now.Add(c.Lease)
		it.Attempts++
		if err := put(tx.Bucket(bucketItems), idKey(id, idx), it); err != nil {
			return err
		}
		if err := tx.Bucket(bucketRunning).Put(idKey(id, idx), nil); err != nil {
			return err
		}
		if j.Status == jobs.StatusQueued {
			j.Status = jobs.StatusRunning
			j.StartedAt = &now
		}
		j.Progress.Claimed()
		if err := s.saveJob(tx, j); err != nil {
			return err
		}
		t = jobs.Task{
			JobID: id, ItemID: idx, Kind: it.Kind, Key: it.Source, Depth: it.Depth, Group: it.Group,
			Collection: j.Collection, Options: j.Options, Owner: c.Owner, Attempt: it.Attempts,
		}
		if it.Group >= 0 && it.Group < len(j.Sources) {
			t.Crawl = j.Sources[it.Group].Crawl
		}
		ok = true
		return nil
	})
	return t, ok, err
}

// expire returns items whose lease ran out to the queue (or, for a
// cancelled job, finishes them as cancelled).
func (s *Store) expire(tx *bolt.Tx) error {
	now := s.now()
	var expired [][]byte
	err := tx.Bucket(bucketRunning).ForEach(func(k, _ []byte) error {
		it, err := get[itemRec](tx.Bucket(bucketItems), k)
		if err != nil {
			return err
		}
		if it == nil || now.After(it.LeaseUntil) {
			expired = append(expired, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range expired {
		if err := s.reclaim(tx, k); err != nil {
			return err
		}
	}
	return nil
}

// expireAll expires every running item: at Open, no other process can hold
// one.
func (s *Store) expireAll(tx *bolt.Tx) error {
	var keys [][]byte
	tx.Bucket(bucketRunning).ForEach(func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	for _, k := range keys {
		if err := s.reclaim(tx, k); err != nil {
			return err
		}
	}
	return nil
}

// reclaim takes a running item back from its (dead or stopping) owner:
// pending again, or cancelled if its job was.
func (s *Store) reclaim(tx *bolt.Tx, k []byte) error {
	if err := tx.Bucket(bucketRunning).Delete(k); err != nil {
		return err
	}
	it, err := get[itemRec](tx.Bucket(bucketItems), k)
	if err != nil || it == nil {
		return err
	}
	j, err := s.loadJob(tx, string(k[:32]))
	if err != nil {
		return err
	}
	if j.Status == jobs.StatusCancelled {
		out := jobs.Item{Status: jobs.ItemCancelled, Reason: "cancelled", Error: "The job was cancelled."}
		j.Progress.Finished(it.Kind, true, out)
		if err := s.record(tx, j, it, out); err != nil {
			return err
		}
		s.settle(j)
		return s.saveJob(tx, j)
	}
	j.Progress.Released()
	it.Status, it.Owner, it.LeaseUntil = jobs.ItemPending, "", time.Time{}
	if err := put(tx.Bucket(bucketItems), k, it); err != nil {
		return err
	}
	if err := tx.Bucket(bucketQueue).Put(append(u64(j.Order), u64(uint64(it.Idx))...), []byte(j.ID)); err != nil {
		return err
	}
	return s.saveJob(tx, j)
}

// leased loads t's item and checks that t still holds it.
func (s *Store) leased(tx *bolt.Tx, t jobs.Task) (*itemRec, error) {
	it, err := get[itemRec](tx.Bucket(bucketItems), idKey(t.JobID, t.ItemID))
	if err != nil {
		return nil, err
	}
	if it == nil || it.Status != jobs.ItemRunning || it.Owner != t.Owner || it.Attempts != t.Attempt {
		return nil, ragd.Errorf(ragd.EConflict, "the lease on item %d of job %s was lost", t.ItemID, t.JobID)
	}
	return it, nil
}

// Extend implements jobs.Store.
func (s *Store) Extend(ctx context.Context, t jobs.Task, lease time.Duration) (bool, error) {
	var cancelled bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		it, err := s.leased(tx, t)
		if err != nil {
			return err
		}
		j, err := s.loadJob(tx, t.JobID)
		if err != nil {
			return err
		}
		cancelled = j.Status == jobs.StatusCancelled
		it.LeaseUntil = s.now().UTC().Add(lease)
		return put(tx.Bucket(bucketItems), idKey(t.JobID, t.ItemID), it)
	})
	return cancelled, err
}

// Finish implements jobs.Store.
func (s *Store) Finish(ctx context.Context, t jobs.Task, out jobs.Item, children []jobs.NewItem) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		it, err := s.leased(tx, t)
		if err != nil {
			return err
		}
		j, err := s.loadJob(tx, t.JobID)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketRunning).Delete(idKey(t.JobID, t.ItemID)); err != nil {
			return err
		}
		j.Progress.Finished(it.Kind, true, out)
		if err := s.record(tx, j, it, out); err != nil {
			return err
		}
		if err := s.addItems(tx, j, children); err != nil {
			return err
		}
		s.settle(j)
		return s.saveJob(tx, j)
	})
}

// Release implements jobs.Store.
func (s *Store) Release(ctx context.Context, t jobs.Task) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		it, err := s.leased(tx, t)
		if err != nil {
			return err
		}
		it.Attempts--
		if err := put(tx.Bucket(bucketItems), idKey(t.JobID, t.ItemID), it); err != nil {
			return err
		}
		return s.reclaim(tx, idKey(t.JobID, t.ItemID))
	})
}

// Cancel implements jobs.Store.
func (s *Store) Cancel(ctx context.Context, id string) (jobs.Job, error) {
	var out jobs.Job
	err := s.db.Update(func(tx *bolt.Tx) error {
		j, err := s.loadJob(tx, id)
		if err != nil {
			return err
		}
		switch j.Status {
		case jobs.StatusCancelled:
			out = j.Job
			return nil
		case jobs.StatusSucceeded, jobs.StatusFailed:
			return ragd.Errorf(ragd.EConflict, "job %q already %s", id, j.Status)
		}
		j.Status = jobs.StatusCancelled
		q := tx.Bucket(bucketQueue)
		c := q.Cursor()
		prefix := u64(j.Order)
		var keys [][]byte
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		cancelled := jobs.Item{Status: jobs.ItemCancelled, Reason: "cancelled", Error: "The job was cancelled."}
		for _, k := range keys {
			if err := q.Delete(k); err != nil {
				return err
			}
			ik := idKey(id, int64(binary.BigEndian.Uint64(k[8:])))
			it, err := get[itemRec](tx.Bucket(bucketItems), ik)
			if err != nil {
				return err
			}
			if it == nil {
				continue
			}
			j.Progress.Finished(it.Kind, false, cancelled)
			if err := s.record(tx, j, it, cancelled); err != nil {
				return err
			}
		}
		s.settle(j)
		out = j.Job
		return s.saveJob(tx, j)
	})
	return out, err
}
