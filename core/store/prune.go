package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keepwatch/keepwatch/core/model"
)

// pruneChunk bounds how many keys one prune transaction deletes, so pruning a
// large history never holds the writer lock (and a growing dirty page set)
// for long while webhooks wait to be committed. A variable so tests can
// cross chunk boundaries with a few entries.
var pruneChunk = 5000

// finished is the part of a Delivery that pruning reads; decoding only these
// fields skips the bodies kept for rejected deliveries.
type finished struct {
	Status     string    `json:"status"`
	FinishedAt time.Time `json:"finished_at"`
}

// prunableDelivery says whether a stored delivery finished before before.
// Pending deliveries live in the inbox, not in the outcome log, but one found
// here with no outcome yet is never pruned either.
func prunableDelivery(k, v []byte, before time.Time) (bool, error) {
	var d finished
	if err := json.Unmarshal(v, &d); err != nil {
		return false, fmt.Errorf("store: decode delivery %d: %w", fromU64(k), err)
	}
	return d.Status != DeliveryPending && !d.FinishedAt.IsZero() && d.FinishedAt.Before(before), nil
}

// PruneDeliveries deletes the outcomes of deliveries that finished before
// before and returns how many it removed. Pending deliveries (the inbox) are
// never touched. It works in chunks of its own transactions, so a prune
// interrupted midway has removed a prefix and can simply run again.
func (s *Store) PruneDeliveries(before time.Time) (int, error) {
	total := 0
	var after []byte
	for {
		n, last, err := s.pruneDeliveryChunk(before, after)
		total += n
		if err != nil || last == nil {
			return total, err
		}
		after = last
	}
}

// pruneDeliveryChunk deletes up to pruneChunk prunable deliveries with keys
// after after (nil: from the start) and returns the key to continue after,
// nil when the bucket has been walked to its end.
func (s *Store) pruneDeliveryChunk(before time.Time, after []byte) (int, []byte, error) {
	var doomed [][]byte
	var last []byte
	err := s.Update(func(t *Tx) error {
		b := t.bucket(bucketDeliveries)
		c := b.Cursor()
		k, v := seekAfter(c, after)
		for ; k != nil; k, v = c.Next() {
			ok, err := prunableDelivery(k, v, before)
			if err != nil {
				return err
			}
			if ok {
				doomed = append(doomed, append([]byte(nil), k...))
			}
			if len(doomed) == pruneChunk {
				last = append([]byte(nil), k...)
				break
			}
		}
		// Deleting under a live bbolt cursor skips entries: delete after the walk.
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("store: prune delivery %d: %w", fromU64(k), err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("store: prune deliveries: %w", err)
	}
	return len(doomed), last, nil
}

// seekAfter positions c on the first key after after, or on the first key
// when after is nil.
func seekAfter(c *bolt.Cursor, after []byte) ([]byte, []byte) {
	if after == nil {
		return c.First()
	}
	k, v := c.Seek(after)
	if k != nil && string(k) == string(after) {
		return c.Next()
	}
	return k, v
}

// CountPrunableDeliveries returns how many deliveries PruneDeliveries(before)
// would delete, deleting nothing: a dry-run prune reports it.
func (s *Store) CountPrunableDeliveries(before time.Time) (int, error) {
	n := 0
	err := s.View(func(t *Tx) error {
		return t.bucket(bucketDeliveries).ForEach(func(k, v []byte) error {
			ok, err := prunableDelivery(k, v, before)
			if ok {
				n++
			}
			return err
		})
	})
	return n, err
}

// CountPrunableJournal returns how many entries PruneJournal(before, keep)
// would delete, deleting nothing.
func (s *Store) CountPrunableJournal(before time.Time, keep func(model.Origin) bool) (int, error) {
	n := 0
	err := s.View(func(t *Tx) error {
		c := t.bucket(bucketJournal).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var ev struct {
				Origin model.Origin `json:"origin"`
				At     time.Time    `json:"at"`
			}
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("store: decode journal %x: %w", k, err)
			}
			if ev.At.Before(before) && (keep == nil || !keep(ev.Origin)) {
				n++
			}
		}
		return nil
	})
	return n, err
}

// RunIDsWithStatus returns the ids of every run whose status is status, such
// as the runs held by the guard whose journal a prune must keep.
func (s *Store) RunIDsWithStatus(status string) (map[uint64]bool, error) {
	ids := map[uint64]bool{}
	err := s.View(func(t *Tx) error {
		return t.bucket(bucketRuns).ForEach(func(k, v []byte) error {
			var r struct {
				Status string `json:"status"`
			}
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: decode run %d: %w", fromU64(k), err)
			}
			if r.Status == status {
				ids[fromU64(k)] = true
			}
			return nil
		})
	})
	return ids, err
}

// FailInterruptedRuns marks every run still "running" that started before
// startedBefore as failed with reason, ended at now, and returns their ids.
// A daemon that crashed or was killed leaves its runs running forever
// otherwise; the next start calls this before it begins new runs, and the
// startedBefore bound spares runs this process began in the meantime.
func (s *Store) FailInterruptedRuns(startedBefore, now time.Time, reason string) ([]uint64, error) {
	var ids []uint64
	err := s.Update(func(t *Tx) error {
		var stale []*Run
		err := t.bucket(bucketRuns).ForEach(func(k, v []byte) error {
			var r Run
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: decode run %d: %w", fromU64(k), err)
			}
			if r.Status == RunRunning && r.StartedAt.Before(startedBefore) {
				stale = append(stale, &r)
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Putting while ForEach walks the bucket is not allowed: write after.
		for _, r := range stale {
			r.Status, r.Error, r.EndedAt = RunFailed, reason, now
			if err := t.PutRun(r); err != nil {
				return fmt.Errorf("store: fail interrupted run %d: %w", r.ID, err)
			}
			ids = append(ids, r.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}
