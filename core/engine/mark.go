package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// Mark sets a record's watched flag by hand (the API's "mark watched"), as
// its own run of kind "manual" so it can be undone, and queues the writes to
// every backend that differs. Marking watched stamps the play with now;
// marking unwatched clears the play date and the position.
func (e *Engine) Mark(ctx context.Context, recordID uint64, watched bool) (*model.Record, *store.Run, error) {
	run, err := e.StartRun(ctx, RunOptions{Kind: "manual"})
	if err != nil {
		return nil, nil, err
	}
	var out *model.Record
	var res Result
	now := e.now()
	err = e.store.Update(func(tx *store.Tx) error {
		r, err := tx.Record(recordID)
		if err != nil {
			return err
		}
		a := &applyTx{e: e, tx: tx, origin: model.Origin{Kind: model.OriginRun, ID: run.ID()}, now: now}
		before := r.State
		if watched {
			r.Watched, r.PlayedAt, r.Progress = true, now, 0
		} else {
			r.Watched, r.PlayedAt, r.Progress = false, time.Time{}, 0
		}
		r.UpdatedAt, r.ChangedAt, r.ChangedBy = now, now, "manual"
		r.ProgressAt, r.ProgressChangedAt, r.ProgressBy = now, now, "manual"
		if err := tx.PutRecord(r); err != nil {
			return err
		}
		after := r.State
		if err := a.journal(model.Event{Kind: model.EventRecordChanged, RecordID: r.ID, User: r.User,
			Before: &before, After: &after, Reason: "marked by hand"}); err != nil {
			return err
		}
		if err := a.plan(r); err != nil {
			return err
		}
		a.res.Observed, a.res.Changed = 1, 1
		res, out = a.res, r
		return nil
	})
	if err != nil {
		_, _ = run.Finish(ctx, fmt.Errorf("mark record %d: %w", recordID, err))
		return nil, nil, fmt.Errorf("engine: mark record %d: %w", recordID, err)
	}
	run.add(res)
	fin, err := run.Finish(ctx, nil)
	return out, fin, err
}
