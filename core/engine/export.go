package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// ExportOptions describe an export run.
type ExportOptions struct {
	User   string // only this user's records; "" for everyone
	DryRun bool   // journal what would be written, write nothing
	// Started is called with the run's id as soon as the run exists.
	Started func(runID uint64)
}

// exportPage is how many records one planning transaction covers.
const exportPage = 500

// Export writes every record whose state differs from a backend's base to
// that backend (DESIGN "Export"): it queues the writes the record-by-record
// plan would have queued, then drains each backend's outbox under the run.
// writers names the backends to export to; backends without export enabled
// are skipped. A backend that does not answer keeps its queue and fails the
// run. (A full export re-reads the backends first: the caller runs a full
// import of them before calling Export.)
func (e *Engine) Export(ctx context.Context, writers map[string]Writer, opts ExportOptions) (*store.Run, error) {
	var targets []string
	for name := range writers {
		if e.cfg.Backends[name].Export {
			targets = append(targets, name)
		}
	}
	slices.Sort(targets)
	run, err := e.StartRun(ctx, RunOptions{Kind: "export", Backends: targets, User: opts.User, DryRun: opts.DryRun})
	if err != nil {
		return nil, err
	}
	if opts.Started != nil {
		opts.Started(run.ID())
	}
	runErr := e.planExport(ctx, run, targets, opts)
	if runErr == nil && !opts.DryRun {
		origin := model.Origin{Kind: model.OriginRun, ID: run.ID()}
		for _, name := range targets {
			res, err := e.Drain(ctx, origin, name, writers[name])
			run.add(Result{Written: res.Written, WriteFailed: res.Failed, Retried: res.Retried})
			if err == nil {
				err = res.Err
			}
			if err != nil {
				runErr = errors.Join(runErr, fmt.Errorf("export to %s: %w", name, err))
			}
		}
	}
	return run.Finish(ctx, runErr)
}

// planExport queues (or, in a dry run, journals) a write for every record
// and target that differ, a page of records per transaction.
func (e *Engine) planExport(ctx context.Context, run *Run, targets []string, opts ExportOptions) error {
	origin := model.Origin{Kind: model.OriginRun, ID: run.ID()}
	var after uint64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := e.store.RecordsAfter(after, exportPage)
		if err != nil {
			return fmt.Errorf("engine: export: read records: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		after = page[len(page)-1].ID
		var res Result
		err = e.store.Update(func(tx *store.Tx) error {
			res = Result{}
			a := &applyTx{e: e, tx: tx, origin: origin, now: e.now()}
			for _, r := range page {
				if opts.User != "" && r.User != opts.User {
					continue
				}
				res.Observed++
				for _, name := range targets {
					if !writable(r, name, e.cfg.Backends[name], a.now) {
						continue
					}
					if _, ok := e.account(r.User, name); !ok {
						continue
					}
					b, hasBase := r.Bases[name]
					if !needsWrite(r, b, hasBase).any() {
						continue
					}
					res.Queued++
					if opts.DryRun {
						after := r.State
						if err := a.journal(model.Event{Kind: model.EventWrite, RecordID: r.ID, User: r.User, Backend: name,
							Before: &b.State, After: &after, Reason: "dry run: would write", DryRun: true}); err != nil {
							return err
						}
						continue
					}
					if err := tx.Enqueue(name, r.ID, r.User, a.now); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("engine: export: plan records after %d: %w", after, err)
		}
		run.add(res)
	}
}
