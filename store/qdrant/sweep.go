package qdrant

import (
	"context"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/ragd/ragd"
)

// SweepStats reports what a sweep did.
type SweepStats struct {
	// Collections is the number of collections swept.
	Collections int
	// Intents is the number of interrupted writes resolved.
	Intents int
	// Versions is the number of stale versions whose points were deleted.
	Versions int
}

// Sweep finishes what interrupted document writes left: for every intent
// record older than Options.SweepGrace, it deletes the points of the versions
// the intent names that are not the document's current version, then the
// intent. It is idempotent and safe to run in any number of processes at
// once; writes younger than the grace period are left to their writer.
func (s *Store) Sweep(ctx context.Context) (SweepStats, error) {
	var st SweepStats
	names, err := s.names(ctx)
	if err != nil {
		return st, err
	}
	for _, name := range names {
		info, err := s.collection(ctx, name)
		if ragd.ErrorCode(err) == ragd.ENotFound {
			continue // deleted meanwhile, or not a ragd collection
		}
		if err != nil {
			return st, err
		}
		if err := s.sweepCollection(ctx, info, &st); err != nil {
			if ragd.ErrorCode(err) == ragd.ENotFound {
				continue // deleted while we swept it
			}
			return st, err
		}
		st.Collections++
	}
	return st, nil
}

type intent struct {
	id       *qdrant.PointId
	docID    string
	versions []string
}

func (s *Store) sweepCollection(ctx context.Context, info *collectionInfo, st *SweepStats) error {
	cutoff := float64(s.opts.Now().Add(-s.opts.SweepGrace).UnixMilli())
	filter := &qdrant.Filter{Must: []*qdrant.Condition{
		qdrant.NewMatchKeyword(keyKind, kindIntent),
		qdrant.NewRange(keyStartedMS, &qdrant.Range{Lt: &cutoff}),
	}}
	var intents []intent
	err := s.scroll(ctx, info, filter, nil, false, func(p *qdrant.RetrievedPoint) error {
		pl := p.GetPayload()
		in := intent{id: p.GetId(), docID: strPayload(pl, keyDocID)}
		for _, k := range []string{keyNewVersion, keyOldVersion} {
			if v := strPayload(pl, k); v != "" {
				in.versions = append(in.versions, v)
			}
		}
		intents = append(intents, in)
		return nil
	})
	if err != nil {
		return err
	}
	for _, in := range intents {
		rec, found, err := s.readRecord(ctx, info, in.docID, []string{})
		if err != nil {
			return err
		}
		for _, v := range in.versions {
			if found && rec.version == v {
				continue
			}
			if err := s.deleteVersion(ctx, info, in.docID, v); err != nil {
				return err
			}
			st.Versions++
		}
		if err := s.deletePoints(ctx, info, qdrant.NewPointsSelector(in.id)); err != nil {
			return err
		}
		st.Intents++
	}
	if len(intents) > 0 {
		s.log.Info("swept interrupted writes", "collection", info.c.Name, "intents", len(intents))
	}
	return nil
}

// Run sweeps once at once, then every Options.SweepInterval, until ctx is
// done or the store is closed. Failed sweeps are logged and retried at the
// next tick. It returns nil after Close and ctx.Err() when ctx ends.
func (s *Store) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.SweepInterval)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			select {
			case <-s.closed:
				return nil
			default:
			}
			s.log.Warn("sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return nil
		case <-t.C:
		}
	}
}
