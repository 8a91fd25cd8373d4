package jobs

import (
	"context"
	"time"

	"github.com/ragd/ragd"
)

// eventBatch caps the items read from the store per round.
const eventBatch = 256

// runningListed caps Event.Running.
const runningListed = 8

// Events streams a job's progress: a "progress" snapshot first, then an
// "item" event for every item that finishes (in finishing order, whichever
// process ran it), a "progress" event when counters change otherwise, and
// finally one "done" event with the final job, after which the channel is
// closed. The channel is also closed when ctx ends or the Manager closes.
// A slow reader delays only its own stream. Returns ENotFound for an unknown
// job and EUnavailable once the Manager is closing.
func (m *Manager) Events(ctx context.Context, id string) (<-chan Event, error) {
	j, err := m.cfg.Store.Job(ctx, id)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	select {
	case <-m.closing:
		m.mu.Unlock()
		return nil, ragd.Errorf(ragd.EUnavailable, "the job manager is shutting down")
	default:
	}
	m.streams.Add(1) // under mu, so never concurrently with Close's Wait
	m.mu.Unlock()
	ch := make(chan Event, 16)
	go func() {
		defer m.streams.Done()
		defer close(ch)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-m.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		m.stream(ctx, j, ch)
	}()
	return ch, nil
}

func (m *Manager) stream(ctx context.Context, j Job, ch chan<- Event) {
	send := func(ev Event) bool {
		select {
		case ch <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	seq := j.Seq
	running, _ := m.cfg.Store.Running(ctx, j.ID, runningListed)
	j.Progress.derive(j.StartedAt, j.FinishedAt, m.cfg.Now())
	if !send(m.event(EventProgress, j, seq, nil, running)) {
		return
	}
	last := j
	for {
		wake := m.changes()
		if !last.Ended() {
			timer := time.NewTimer(m.cfg.PollInterval)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-wake:
			case <-timer.C:
			}
			timer.Stop()
		}

		// Items first, then the job: the job's counters then include every
		// item read. Items finish with consecutive Seqs, committed in
		// order, so none is skipped.
		var items []Item
		for {
			batch, err := m.cfg.Store.Items(ctx, j.ID, seq, eventBatch)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				m.logger.Warn("reading job items failed", logKeyJobID, j.ID, logKeyError, err)
				sleep(ctx, m.cfg.PollInterval)
				break
			}
			items = append(items, batch...)
			if len(batch) > 0 {
				seq = batch[len(batch)-1].Seq
			}
			if len(batch) < eventBatch {
				break
			}
		}
		next, err := m.cfg.Store.Job(ctx, j.ID)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.logger.Warn("reading job progress failed", logKeyJobID, j.ID, logKeyError, err)
			continue
		}
		next.Progress.derive(next.StartedAt, next.FinishedAt, m.cfg.Now())
		running, _ = m.cfg.Store.Running(ctx, j.ID, runningListed)
		for i := range items {
			if !send(m.event(EventItem, next, items[i].Seq, &items[i], running)) {
				return
			}
		}
		if next.Ended() && seq >= next.Seq {
			final, err := m.Job(ctx, j.ID)
			if err != nil {
				return
			}
			send(Event{Type: EventDone, JobID: final.ID, Status: final.Status, Seq: seq, Progress: final.Progress, Job: &final})
			return
		}
		if len(items) == 0 && (next.Progress.counters() != last.Progress.counters() || next.Status != last.Status) {
			if !send(m.event(EventProgress, next, seq, nil, running)) {
				return
			}
		}
		last = next
	}
}

func (m *Manager) event(typ string, j Job, seq int64, it *Item, running []Item) Event {
	ev := Event{Type: typ, JobID: j.ID, Status: j.Status, Seq: seq, Progress: j.Progress, Item: it}
	for _, r := range running {
		ev.Running = append(ev.Running, r.Source)
	}
	return ev
}

// counters is the part of a Progress that changes only when items do.
type counters struct {
	total, done, failed, skipped, cancelled, running, listing int
	chunks                                                    int
}

func (p Progress) counters() counters {
	return counters{p.Total, p.Done, p.Failed, p.Skipped, p.Cancelled, p.Running, p.Listing, p.Chunks}
}
