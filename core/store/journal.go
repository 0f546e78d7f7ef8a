package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/keepwatch/keepwatch/core/model"
)

func originPrefix(o model.Origin) []byte {
	p := make([]byte, 0, 17)
	switch o.Kind {
	case model.OriginRun:
		p = append(p, 'r')
	case model.OriginPush:
		p = append(p, 'p')
	default:
		p = append(p, 'd')
	}
	return append(p, u64(o.ID)...)
}

// AppendJournal stores ev under its origin, assigning ev.Seq.
func (t *Tx) AppendJournal(ev *model.Event) error {
	b := t.bucket(bucketJournal)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("store: journal sequence: %w", err)
	}
	ev.Seq = seq
	key := append(originPrefix(ev.Origin), u64(seq)...)
	if err := putJSON(b, key, ev); err != nil {
		return fmt.Errorf("store: append journal: %w", err)
	}
	if ev.RecordID != 0 {
		if err := t.bucket(bucketIdxJournal).Put(journalIndexKey(ev.RecordID, seq), key); err != nil {
			return fmt.Errorf("store: index journal: %w", err)
		}
	}
	return nil
}

// journalIndexKey is record id | seq: seqs grow with time, so a record's
// entries sort oldest first.
func journalIndexKey(recordID, seq uint64) []byte {
	return append(u64(recordID), u64(seq)...)
}

// RecordJournal returns the newest limit journal entries about one record,
// newest first, whatever run or delivery wrote them.
func (s *Store) RecordJournal(recordID uint64, limit int) ([]model.Event, error) {
	var out []model.Event
	err := s.View(func(t *Tx) error {
		journal := t.bucket(bucketJournal)
		prefix := u64(recordID)
		c := t.bucket(bucketIdxJournal).Cursor()
		// Start past the record's last entry and walk back.
		k, v := c.Seek(u64(recordID + 1))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && hasPrefix(k, prefix) && len(out) < limit; k, v = c.Prev() {
			raw := journal.Get(v)
			if raw == nil {
				continue // an index entry without its entry: skip it rather than fail the read
			}
			var ev model.Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				return fmt.Errorf("store: decode journal %x: %w", v, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// Journal returns every entry of one origin in the order they were written.
func (t *Tx) Journal(o model.Origin) ([]model.Event, error) {
	var out []model.Event
	prefix := originPrefix(o)
	c := t.bucket(bucketJournal).Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		var ev model.Event
		if err := json.Unmarshal(v, &ev); err != nil {
			return nil, fmt.Errorf("store: decode journal %x: %w", k, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// Journal returns every entry of one origin.
func (s *Store) Journal(o model.Origin) ([]model.Event, error) {
	var out []model.Event
	err := s.View(func(t *Tx) error {
		var err error
		out, err = t.Journal(o)
		return err
	})
	return out, err
}

// PruneJournal deletes journal entries older than before and returns how many
// it removed. Entries of runs still held by the guard are kept: approving or
// undoing them needs their history.
func (s *Store) PruneJournal(before time.Time, keep func(model.Origin) bool) (int, error) {
	n := 0
	err := s.Update(func(t *Tx) error {
		b := t.bucket(bucketJournal)
		var doomed, doomedIdx [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var ev model.Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("store: decode journal %x: %w", k, err)
			}
			if ev.At.Before(before) && (keep == nil || !keep(ev.Origin)) {
				doomed = append(doomed, append([]byte(nil), k...))
				if ev.RecordID != 0 {
					doomedIdx = append(doomedIdx, journalIndexKey(ev.RecordID, ev.Seq))
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Deleting while iterating a bbolt cursor skips entries; delete after.
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		idx := t.bucket(bucketIdxJournal)
		for _, k := range doomedIdx {
			if err := idx.Delete(k); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	return n, err
}

func hasPrefix(k, p []byte) bool {
	return len(k) >= len(p) && string(k[:len(p)]) == string(p)
}

// --- runs ---

// Run statuses.
const (
	RunRunning   = "running"
	RunOK        = "ok"
	RunFailed    = "failed"
	RunHeld      = "held"
	RunApproved  = "approved"
	RunDiscarded = "discarded"
	RunUndone    = "undone"
)

// Run is one execution of a task (import, export, backup, prune, undo …).
type Run struct {
	ID        uint64         `json:"id"`
	Kind      string         `json:"kind"`
	Backends  []string       `json:"backends,omitempty"`
	User      string         `json:"user,omitempty"`
	Full      bool           `json:"full,omitempty"`
	DryRun    bool           `json:"dry_run,omitempty"`
	Status    string         `json:"status"`
	StartedAt time.Time      `json:"started_at"`
	EndedAt   time.Time      `json:"ended_at,omitzero"`
	Counts    map[string]int `json:"counts,omitempty"`
	Error     string         `json:"error,omitempty"`
	// Guard holds, per backend, the flip counts the guard judged.
	Guard map[string]GuardCount `json:"guard,omitempty"`
}

// GuardCount is what the guard counted for one backend in one run.
type GuardCount struct {
	Observed   int  `json:"observed"`
	ToWatched  int  `json:"to_watched"`
	ToUnwatch  int  `json:"to_unwatched"`
	First      bool `json:"first,omitempty"` // the backend's first import: never held
	Held       bool `json:"held,omitempty"`
	HeldChange int  `json:"held_changes,omitempty"`
}

// CreateRun stores a new run, assigning its id.
func (s *Store) CreateRun(r *Run) error {
	return s.Update(func(t *Tx) error { return t.CreateRun(r) })
}

// CreateRun stores a new run, assigning its id.
func (t *Tx) CreateRun(r *Run) error {
	b := t.bucket(bucketRuns)
	id, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("store: next run id: %w", err)
	}
	r.ID = id
	return putJSON(b, u64(id), r)
}

// PutRun overwrites a run.
func (t *Tx) PutRun(r *Run) error { return putJSON(t.bucket(bucketRuns), u64(r.ID), r) }

// PutRun overwrites a run.
func (s *Store) PutRun(r *Run) error { return s.Update(func(t *Tx) error { return t.PutRun(r) }) }

// Run returns run id or ErrNotFound.
func (t *Tx) Run(id uint64) (*Run, error) {
	var r Run
	ok, err := getJSON(t.bucket(bucketRuns), u64(id), &r)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("store: run %d: %w", id, ErrNotFound)
	}
	return &r, nil
}

// Run returns run id or ErrNotFound.
func (s *Store) Run(id uint64) (*Run, error) {
	var r *Run
	err := s.View(func(t *Tx) error {
		var err error
		r, err = t.Run(id)
		return err
	})
	return r, err
}

// ListRuns returns up to limit runs, newest first.
func (s *Store) ListRuns(limit int) ([]*Run, error) {
	var out []*Run
	err := s.View(func(t *Tx) error {
		c := t.bucket(bucketRuns).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var r Run
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: decode run %d: %w", fromU64(k), err)
			}
			out = append(out, &r)
		}
		return nil
	})
	return out, err
}

// --- changes held by the guard ---

// HeldChange is one observation the guard kept from being applied.
type HeldChange struct {
	RunID       uint64            `json:"run_id"`
	Observation model.Observation `json:"observation"`
}

func heldPrefix(runID uint64, backend string) []byte {
	p := append(u64(runID), backend...)
	if backend != "" {
		p = append(p, 0)
	}
	return p
}

// PutHeld stores a held change under its run and backend.
func (t *Tx) PutHeld(h *HeldChange) error {
	b := t.bucket(bucketHeld)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	return putJSON(b, append(heldPrefix(h.RunID, h.Observation.Backend), u64(seq)...), h)
}

// HeldPage returns up to limit held changes of run for backend ("" for every
// backend) whose keys follow after (nil = from the start), and the key to pass
// as after for the next page (nil when done). Work on a page happens outside
// this transaction.
func (s *Store) HeldPage(runID uint64, backend string, after []byte, limit int) ([]HeldChange, []byte, error) {
	var out []HeldChange
	var last []byte
	err := s.View(func(t *Tx) error {
		prefix := heldPrefix(runID, backend)
		c := t.bucket(bucketHeld).Cursor()
		k, v := c.Seek(prefix)
		if after != nil {
			k, v = c.Seek(after)
			if k != nil && string(k) == string(after) {
				k, v = c.Next()
			}
		}
		for ; k != nil && hasPrefix(k, prefix) && len(out) < limit; k, v = c.Next() {
			var h HeldChange
			if err := json.Unmarshal(v, &h); err != nil {
				return fmt.Errorf("store: decode held %x: %w", k, err)
			}
			out = append(out, h)
			last = append([]byte(nil), k...)
		}
		return nil
	})
	if len(out) < limit {
		last = nil
	}
	return out, last, err
}

// CountHeld returns the number of held changes of run for backend ("" = all).
func (s *Store) CountHeld(runID uint64, backend string) (int, error) {
	n := 0
	err := s.View(func(t *Tx) error {
		prefix := heldPrefix(runID, backend)
		c := t.bucket(bucketHeld).Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// DeleteHeld removes the held changes of run for backend ("" = every backend)
// and returns how many there were.
func (s *Store) DeleteHeld(runID uint64, backend string) (int, error) {
	n := 0
	err := s.Update(func(t *Tx) error {
		prefix := heldPrefix(runID, backend)
		b := t.bucket(bucketHeld)
		c := b.Cursor()
		var keys [][]byte
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, append([]byte(nil), k...))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	return n, err
}

// --- meta ---

// Meta returns the value stored under key in the meta bucket (a copy), or nil.
func (t *Tx) Meta(key string) []byte {
	v := t.bucket(bucketMeta).Get([]byte(key))
	if v == nil {
		return nil
	}
	return append([]byte(nil), v...)
}

// PutMeta stores val under key in the meta bucket.
func (t *Tx) PutMeta(key string, val []byte) error {
	return t.bucket(bucketMeta).Put([]byte(key), val)
}
