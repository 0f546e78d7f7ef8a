package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/keepwatch/keepwatch/core/model"
)

// appendEvents journals events in order, a minute apart from at.
func appendEvents(t *testing.T, s *Store, at time.Time, events []model.Event) {
	t.Helper()
	err := s.Update(func(tx *Tx) error {
		for i := range events {
			events[i].At = at.Add(time.Duration(i) * time.Minute)
			if err := tx.AppendJournal(&events[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func seqs(evs []model.Event) []uint64 {
	out := []uint64{}
	for _, ev := range evs {
		out = append(out, ev.Seq)
	}
	return out
}

// TestRecordJournal: a record's history comes from every origin kind, newest
// first, bounded by limit, and pruning removes it from the index too.
func TestRecordJournal(t *testing.T) {
	s := open(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run, delivery, push := model.Origin{Kind: model.OriginRun, ID: 7}, model.Origin{Kind: model.OriginDelivery, ID: 3}, model.Origin{Kind: model.OriginPush}
	appendEvents(t, s, at, []model.Event{
		{Origin: run, Kind: model.EventRecordCreated, RecordID: 1},      // seq 1
		{Origin: run, Kind: model.EventRecordCreated, RecordID: 2},      // 2
		{Origin: delivery, Kind: model.EventRecordChanged, RecordID: 1}, // 3
		{Origin: push, Kind: model.EventWrite, RecordID: 1},             // 4
		{Origin: run, Kind: model.EventConflict},                        // 5: about no record
		{Origin: push, Kind: model.EventWrite, RecordID: 2},             // 6
		{Origin: push, Kind: model.EventWrite, RecordID: 256},           // 7: shares no prefix byte order with 1
	})
	tests := []struct {
		record uint64
		limit  int
		want   []uint64
	}{
		{record: 1, limit: 10, want: []uint64{4, 3, 1}},
		{record: 1, limit: 2, want: []uint64{4, 3}},
		{record: 2, limit: 10, want: []uint64{6, 2}},
		{record: 256, limit: 10, want: []uint64{7}},
		{record: 3, limit: 10, want: []uint64{}},
		{record: 999, limit: 10, want: []uint64{}}, // past the last key
	}
	for _, tt := range tests {
		evs, err := s.RecordJournal(tt.record, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, seqs(evs)); diff != "" {
			t.Errorf("record %d limit %d (-want +got):\n%s", tt.record, tt.limit, diff)
		}
	}

	// Entries before at+2m go (seqs 1 and 2); the index follows.
	if _, err := s.PruneJournal(at.Add(2*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	evs, err := s.RecordJournal(1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{4, 3}, seqs(evs)); diff != "" {
		t.Errorf("after prune (-want +got):\n%s", diff)
	}
	n := 0
	_ = s.View(func(tx *Tx) error { n = tx.bucket(bucketIdxJournal).Stats().KeyN; return nil })
	if n != 4 {
		t.Errorf("index holds %d keys after the prune, want 4 (seqs 3, 4, 6, 7)", n)
	}
}

// TestMigrationIndexesExistingJournal: a schema-1 database (no record index)
// gets its journal indexed when a newer keepwatch opens it.
func TestMigrationIndexesExistingJournal(t *testing.T) {
	s := open(t)
	path := s.Path()
	appendEvents(t, s, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), []model.Event{
		{Origin: model.Origin{Kind: model.OriginRun, ID: 1}, Kind: model.EventRecordCreated, RecordID: 5},
		{Origin: model.Origin{Kind: model.OriginDelivery, ID: 2}, Kind: model.EventRecordChanged, RecordID: 5},
	})
	// Turn the file back into what schema 1 wrote.
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketIdxJournal); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersionOnDisk(); err != nil || v != SchemaVersion {
		t.Errorf("schema after migration: %d %v, want %d", v, err, SchemaVersion)
	}
	evs, err := s.RecordJournal(5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{2, 1}, seqs(evs)); diff != "" {
		t.Errorf("migrated history (-want +got):\n%s", diff)
	}
}
