package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// Write is one record's state to be written to one backend. SetWatched and
// SetProgress say which halves to write; State holds the values.
type Write struct {
	RecordID    uint64
	User        string
	Account     string
	RemoteID    string // "" when the backend never reported the item: resolve by Item's GUIDs
	Item        model.Item
	State       model.State
	SetWatched  bool
	SetProgress bool
}

// WriteResult is a backend's answer for one Write.
type WriteResult struct {
	Err       error // nil: written
	Permanent bool  // with Err: retrying cannot help (item gone, refused)
	// Absent, with Err and Permanent: the write has no remote id and none
	// can be had (a lookup by GUID found nothing, or the backend cannot look
	// items up), so no write is planned to the backend until it reports the
	// item or a day has passed (Record.Absent).
	Absent   bool
	Skipped  bool // the item is playing right now: try again later
	RemoteID string
}

// Writer writes batches of states to one backend. The engine never calls it
// inside a transaction. A returned error fails the whole batch (the backend is
// unreachable); per-item failures go in the results, one per write, in order.
type Writer interface {
	Write(ctx context.Context, backend string, writes []Write) ([]WriteResult, error)
}

// Back-off for failed writes: capped exponential with jitter.
const (
	retryBase     = 2 * time.Second
	retryCap      = 10 * time.Minute
	playingRetry  = 5 * time.Minute
	drainPageSize = 100
)

// DrainResult counts one Drain.
type DrainResult struct {
	Written int
	Failed  int // permanent failures, recorded and dropped
	Retried int
	Dropped int // nothing left to write
	// Err is the last batch-level failure (the backend did not answer); its
	// writes stay queued for a later drain.
	Err error
}

// Drain writes backend's due outbox entries, journaling each write under
// origin (an export run, or the push worker's OriginPush), through w, a page at a time,
// until none are due or ctx ends. Entries of one record coalesce: the record's
// current state is written once. An entry is removed only when its write
// succeeded or failed permanently; a backend that is down keeps its queue.
func (e *Engine) Drain(ctx context.Context, origin model.Origin, backend string, w Writer) (DrainResult, error) {
	var total DrainResult
	for ctx.Err() == nil {
		res, n, err := e.drainPage(ctx, origin, backend, w)
		total.Written += res.Written
		total.Failed += res.Failed
		total.Retried += res.Retried
		total.Dropped += res.Dropped
		if res.Err != nil {
			total.Err = res.Err
		}
		if err != nil || n < drainPageSize {
			return total, err
		}
	}
	return total, ctx.Err()
}

// markAbsent notes that backend has no copy of the item of w's record (a
// lookup by w's GUIDs found none, or the backend cannot look items up), so
// that planning leaves it alone until the backend reports the item.
func markAbsent(tx *store.Tx, w Write, backend string, now time.Time) error {
	r, err := tx.Record(w.RecordID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok := r.Refs[backend]; ok {
		return nil // reported meanwhile: the next write needs no lookup
	}
	if !slices.Equal(r.Item.GUIDs, w.Item.GUIDs) || !slices.Equal(r.Item.ShowGUIDs, w.Item.ShowGUIDs) {
		return nil // the record gained GUIDs meanwhile: a new lookup may find it
	}
	if r.Absent == nil {
		r.Absent = map[string]time.Time{}
	}
	r.Absent[backend] = now
	return tx.PutRecord(r)
}

type pendingWrite struct {
	entry store.OutboxEntry
	write Write
	base  model.Base
}

func (e *Engine) drainPage(ctx context.Context, origin model.Origin, backend string, w Writer) (DrainResult, int, error) {
	var res DrainResult
	entries, err := e.store.PendingOutbox(backend, e.now(), drainPageSize)
	if err != nil || len(entries) == 0 {
		return res, 0, err
	}
	// Read the records' current state; nothing is held open during the writes.
	var pending []pendingWrite
	var noop []store.OutboxEntry
	err = e.store.View(func(tx *store.Tx) error {
		for _, en := range entries {
			r, err := tx.Record(en.RecordID)
			if errors.Is(err, store.ErrNotFound) {
				noop = append(noop, en)
				continue
			}
			if err != nil {
				return err
			}
			b, hasBase := r.Bases[backend]
			n := needsWrite(r, b, hasBase)
			account, ok := e.account(r.User, backend)
			if !n.any() || !ok {
				noop = append(noop, en)
				continue
			}
			pending = append(pending, pendingWrite{entry: en, base: b, write: Write{
				RecordID: r.ID, User: r.User, Account: account, RemoteID: r.Refs[backend].RemoteID,
				Item: r.Item, State: r.State, SetWatched: n.Watched, SetProgress: n.Progress,
			}})
		}
		return nil
	})
	if err != nil {
		return res, len(entries), fmt.Errorf("engine: drain %s: %w", backend, err)
	}
	if len(noop) > 0 {
		err := e.store.Update(func(tx *store.Tx) error {
			for _, en := range noop {
				if _, err := tx.CompleteOutbox(backend, en.RecordID, en.Seq); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return res, len(entries), err
		}
		res.Dropped = len(noop)
	}
	if len(pending) == 0 {
		return res, len(entries), nil
	}

	writes := make([]Write, len(pending))
	for i, p := range pending {
		writes[i] = p.write
	}
	results, werr := w.Write(ctx, backend, writes)
	if werr == nil && len(results) != len(writes) {
		werr = fmt.Errorf("backend answered %d results for %d writes", len(results), len(writes))
	}
	now := e.now()
	err = e.store.Update(func(tx *store.Tx) error {
		a := &applyTx{e: e, tx: tx, origin: origin, now: now}
		for i, p := range pending {
			r := WriteResult{Err: werr}
			if werr == nil {
				r = results[i]
			}
			switch {
			case r.Err == nil && !r.Skipped:
				if err := e.recordWrite(a, backend, p, r.RemoteID); err != nil {
					return err
				}
				res.Written++
			case r.Skipped:
				if err := tx.RetryOutbox(backend, p.entry.RecordID, now.Add(playingRetry), "item is playing"); err != nil {
					return err
				}
				res.Retried++
			case r.Permanent:
				after := p.write.State
				if err := a.journal(model.Event{Kind: model.EventWriteFailed, RecordID: p.write.RecordID, User: p.write.User,
					Backend: backend, Before: &p.base.State, After: &after, Reason: r.Err.Error()}); err != nil {
					return err
				}
				if r.Absent {
					if err := markAbsent(tx, p.write, backend, now); err != nil {
						return err
					}
				}
				if err := tx.Dequeue(backend, p.entry.RecordID); err != nil {
					return err
				}
				res.Failed++
			default:
				next := now.Add(e.backoff(p.entry.Attempts))
				if err := tx.RetryOutbox(backend, p.entry.RecordID, next, r.Err.Error()); err != nil {
					return err
				}
				res.Retried++
			}
		}
		return nil
	})
	if err != nil {
		return res, len(entries), fmt.Errorf("engine: record writes to %s: %w", backend, err)
	}
	if werr != nil {
		e.log.Warn().Str("backend", backend).Err(werr).Int("writes", len(writes)).Msg("write batch failed; will retry")
		res.Err = werr
		return res, 0, nil // stop this drain: the backend is not answering
	}
	return res, len(entries), nil
}

// recordWrite sets the backend's base to the state written (rule 4, "after a
// successful write, R.base[C] = the state written"), journals the write and
// removes the outbox entry unless the record was queued again meanwhile.
func (e *Engine) recordWrite(a *applyTx, backend string, p pendingWrite, remoteID string) error {
	r, err := a.tx.Record(p.write.RecordID)
	if err != nil {
		return err
	}
	b := r.Bases[backend]
	before := b.State
	if p.write.SetWatched {
		b.Watched, b.PlayedAt, b.WatchedKnown = p.write.State.Watched, p.write.State.PlayedAt, true
		if !p.write.SetProgress {
			b.Progress = 0 // a mark (un)played resets the position on every server
		}
	}
	if p.write.SetProgress {
		b.Progress, b.ProgressKnown = p.write.State.Progress, true
	}
	b.SeenAt, b.Written = a.now, true
	if r.Bases == nil {
		r.Bases = map[string]model.Base{}
	}
	r.Bases[backend] = b
	if remoteID != "" && r.Refs[backend].RemoteID != remoteID {
		r.SetRef(backend, model.Ref{RemoteID: remoteID, Library: r.Refs[backend].Library})
	}
	if err := a.tx.PutRecord(r); err != nil {
		return err
	}
	after := b.State
	if err := a.journal(model.Event{Kind: model.EventWrite, RecordID: r.ID, User: r.User, Backend: backend,
		Before: &before, After: &after}); err != nil {
		return err
	}
	_, err = a.tx.CompleteOutbox(backend, p.entry.RecordID, p.entry.Seq)
	return err
}

// backoff returns the delay before retry number attempts+1: 2 s doubling up to
// 10 min, with ±20 % jitter so many queued writes do not retry in lock-step.
func (e *Engine) backoff(attempts int) time.Duration {
	d := retryBase << min(attempts, 20)
	if d > retryCap || d <= 0 {
		d = retryCap
	}
	e.mu.Lock()
	// xorshift64: cheap, and good enough to spread retries.
	x := e.nextRand
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	e.nextRand = x
	e.mu.Unlock()
	jitter := time.Duration(x%401) - 200 // -200..200 per mille
	return d + d*jitter/1000
}
