package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OutboxEntry is a pending write of one record's state to one backend. The
// entry names the record, not the state: the push worker reads the record when
// it drains, so several changes to one record coalesce into one write of the
// latest state. Seq changes every time the entry is (re)queued, which tells a
// drain that finished after a newer change not to delete the newer entry.
type OutboxEntry struct {
	Backend   string    `json:"backend"`
	RecordID  uint64    `json:"record_id"`
	User      string    `json:"user"`
	Seq       uint64    `json:"seq"`
	QueuedAt  time.Time `json:"queued_at"`
	Attempts  int       `json:"attempts,omitempty"`
	NextAt    time.Time `json:"next_at,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

func (t *Tx) outbox(backend string, create bool) (*bolt.Bucket, error) {
	root := t.bucket(bucketOutbox)
	if b := root.Bucket([]byte(backend)); b != nil || !create {
		return b, nil
	}
	b, err := root.CreateBucket([]byte(backend))
	if err != nil {
		return nil, fmt.Errorf("store: create outbox for %s: %w", backend, err)
	}
	return b, nil
}

// Enqueue queues a write of record id to backend, or refreshes the pending
// entry for it (one entry per record and backend). A refreshed entry keeps its
// attempt count and back-off so a down server is not hammered by new changes.
func (t *Tx) Enqueue(backend string, recordID uint64, user string, now time.Time) error {
	b, err := t.outbox(backend, true)
	if err != nil {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("store: outbox sequence for %s: %w", backend, err)
	}
	var e OutboxEntry
	if _, err := getJSON(b, u64(recordID), &e); err != nil {
		return err
	}
	if e.RecordID == 0 {
		e = OutboxEntry{Backend: backend, RecordID: recordID, User: user, QueuedAt: now}
	}
	e.Seq = seq
	return putJSON(b, u64(recordID), &e)
}

// Dequeue drops the pending entry for record id on backend, if any: used when
// the record no longer differs from what the backend has.
func (t *Tx) Dequeue(backend string, recordID uint64) error {
	b, err := t.outbox(backend, false)
	if err != nil || b == nil {
		return err
	}
	return b.Delete(u64(recordID))
}

// PendingOutbox returns up to limit entries for backend that are due at now,
// in record order.
func (s *Store) PendingOutbox(backend string, now time.Time, limit int) ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := s.View(func(t *Tx) error {
		b, _ := t.outbox(backend, false)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var e OutboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("store: decode outbox %s/%d: %w", backend, fromU64(k), err)
			}
			if !e.NextAt.After(now) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

// OutboxEntry returns the pending entry for record id on backend.
func (t *Tx) OutboxEntry(backend string, recordID uint64) (OutboxEntry, bool, error) {
	var e OutboxEntry
	b, err := t.outbox(backend, false)
	if err != nil || b == nil {
		return e, false, err
	}
	ok, err := getJSON(b, u64(recordID), &e)
	return e, ok, err
}

// CompleteOutbox removes the entry for record id when it is still the one
// (seq) the drain wrote; a newer entry stays queued. It reports whether the
// entry was removed.
func (t *Tx) CompleteOutbox(backend string, recordID, seq uint64) (bool, error) {
	e, ok, err := t.OutboxEntry(backend, recordID)
	if err != nil || !ok || e.Seq != seq {
		return false, err
	}
	b, _ := t.outbox(backend, false)
	return true, b.Delete(u64(recordID))
}

// RetryOutbox records a failed attempt and when to try again.
func (t *Tx) RetryOutbox(backend string, recordID uint64, nextAt time.Time, lastErr string) error {
	e, ok, err := t.OutboxEntry(backend, recordID)
	if err != nil || !ok {
		return err
	}
	e.Attempts++
	e.NextAt = nextAt
	e.LastError = lastErr
	b, _ := t.outbox(backend, false)
	return putJSON(b, u64(recordID), &e)
}

// OutboxDepths returns the number of pending entries per backend.
func (s *Store) OutboxDepths() (map[string]int, error) {
	out := map[string]int{}
	err := s.View(func(t *Tx) error {
		return t.bucket(bucketOutbox).ForEachBucket(func(k []byte) error {
			out[string(k)] = t.bucket(bucketOutbox).Bucket(k).Stats().KeyN
			return nil
		})
	})
	return out, err
}
