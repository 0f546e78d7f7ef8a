package tasks

import (
	"context"
	"fmt"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// prune deletes journal entries and delivery outcomes older than keepDays.
// The journal of runs still held by the guard is kept whatever its age:
// approving or undoing such a run needs it. A dry run only counts.
func (s *Scheduler) prune(ctx context.Context, req Request, started func(uint64), keepDays int) (*store.Run, error) {
	return s.recordRun(TaskPrune, req, started, func(counts map[string]int) error {
		before := s.now().AddDate(0, 0, -keepDays)
		held, err := s.store.RunIDsWithStatus(store.RunHeld)
		if err != nil {
			return fmt.Errorf("prune: find held runs: %w", err)
		}
		keep := func(o model.Origin) bool { return o.Kind == model.OriginRun && held[o.ID] }

		pruneJournal, pruneDeliveries := s.store.PruneJournal, s.store.PruneDeliveries
		if req.DryRun {
			pruneJournal, pruneDeliveries = s.store.CountPrunableJournal, s.store.CountPrunableDeliveries
		}
		if counts["journal"], err = pruneJournal(before, keep); err != nil {
			return fmt.Errorf("prune: journal before %s: %w", before.Format("2006-01-02"), err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		if counts["deliveries"], err = pruneDeliveries(before); err != nil {
			return fmt.Errorf("prune: deliveries before %s: %w", before.Format("2006-01-02"), err)
		}
		return nil
	})
}
