package store

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/core/model"
)

var pruneNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// addFinished stores one delivery per finish time (zero: left pending in the
// inbox) and returns their ids in order.
func addFinished(t *testing.T, s *Store, finishes ...time.Time) []uint64 {
	t.Helper()
	var ids []uint64
	for _, at := range finishes {
		d := &Delivery{User: "alice", Backend: "plex", ReceivedAt: at, Body: []byte(`{}`)}
		if err := s.AddDeliveries(d); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
		if at.IsZero() {
			continue
		}
		if err := s.Update(func(tx *Tx) error { return tx.FinishDelivery(d, DeliveryApplied, "", 1, at) }); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func deliveryIDs(t *testing.T, s *Store) []uint64 {
	t.Helper()
	ds, err := s.ListDeliveries("", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestPruneDeliveries(t *testing.T) {
	old, recent := pruneNow.AddDate(0, 0, -100), pruneNow.AddDate(0, 0, -1)
	before := pruneNow.AddDate(0, 0, -90)
	for _, tc := range []struct {
		name     string
		chunk    int
		finishes []time.Time // zero: pending
		wantKept []int       // indexes into finishes of finished deliveries kept
	}{
		{"nothing old", 5000, []time.Time{recent, recent}, []int{0, 1}},
		{"old and recent mixed", 5000, []time.Time{old, recent, old, recent}, []int{1, 3}},
		{"pending never pruned", 5000, []time.Time{old, {}, old}, nil},
		{"across chunks", 2, []time.Time{old, old, recent, old, old, old, recent}, []int{2, 6}},
		{"chunk ends on the last key", 2, []time.Time{old, old}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(n int) { pruneChunk = n }(pruneChunk)
			pruneChunk = tc.chunk
			s := open(t)
			ids := addFinished(t, s, tc.finishes...)
			var want []uint64
			for _, i := range tc.wantKept {
				want = append(want, ids[i])
			}
			pending := 0
			for _, at := range tc.finishes {
				if at.IsZero() {
					pending++
				}
			}
			wantGone := len(tc.finishes) - pending - len(tc.wantKept)

			counted, err := s.CountPrunableDeliveries(before)
			if err != nil || counted != wantGone {
				t.Fatalf("CountPrunableDeliveries = %d, %v; want %d", counted, err, wantGone)
			}
			n, err := s.PruneDeliveries(before)
			if err != nil || n != wantGone {
				t.Fatalf("PruneDeliveries = %d, %v; want %d", n, err, wantGone)
			}
			if diff := cmp.Diff(want, deliveryIDs(t, s)); diff != "" {
				t.Errorf("kept deliveries (-want +got):\n%s", diff)
			}
			if depth, err := s.InboxDepth(); err != nil || depth != pending {
				t.Errorf("inbox depth %d, %v; want %d", depth, err, pending)
			}
		})
	}
}

func TestCountPrunableJournalMatchesPruneJournal(t *testing.T) {
	s := open(t)
	old, recent := pruneNow.AddDate(0, 0, -100), pruneNow.AddDate(0, 0, -1)
	held := model.Origin{Kind: model.OriginRun, ID: 1}
	done := model.Origin{Kind: model.OriginRun, ID: 2}
	delivery := model.Origin{Kind: model.OriginDelivery, ID: 1}
	err := s.Update(func(tx *Tx) error {
		for _, ev := range []model.Event{
			{Origin: held, At: old}, {Origin: done, At: old}, {Origin: done, At: recent},
			{Origin: delivery, At: old}, {Origin: held, At: recent},
		} {
			if err := tx.AppendJournal(&ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	keep := func(o model.Origin) bool { return o == held }
	before := pruneNow.AddDate(0, 0, -90)
	counted, err := s.CountPrunableJournal(before, keep)
	if err != nil || counted != 2 {
		t.Fatalf("CountPrunableJournal = %d, %v; want 2", counted, err)
	}
	if n, err := s.PruneJournal(before, keep); err != nil || n != counted {
		t.Fatalf("PruneJournal = %d, %v; want %d", n, err, counted)
	}
	for _, tc := range []struct {
		origin model.Origin
		want   int
	}{{held, 2}, {done, 1}, {delivery, 0}} {
		evs, err := s.Journal(tc.origin)
		if err != nil || len(evs) != tc.want {
			t.Errorf("journal of %+v: %d entries, %v; want %d", tc.origin, len(evs), err, tc.want)
		}
	}
}

func TestRunIDsWithStatusAndFailInterruptedRuns(t *testing.T) {
	s := open(t)
	boot := pruneNow
	runs := []*Run{
		{Kind: "import", Status: RunRunning, StartedAt: boot.Add(-time.Hour)}, // left by a crash
		{Kind: "import", Status: RunHeld, StartedAt: boot.Add(-2 * time.Hour)},
		{Kind: "export", Status: RunRunning, StartedAt: boot.Add(time.Second)}, // begun by this process
		{Kind: "backup", Status: RunOK, StartedAt: boot.Add(-time.Hour)},
		{Kind: "import", Status: RunHeld, StartedAt: boot.Add(-time.Minute)},
	}
	for _, r := range runs {
		if err := s.CreateRun(r); err != nil {
			t.Fatal(err)
		}
	}
	heldIDs, err := s.RunIDsWithStatus(RunHeld)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[uint64]bool{runs[1].ID: true, runs[4].ID: true}, heldIDs); diff != "" {
		t.Errorf("held runs (-want +got):\n%s", diff)
	}

	ids, err := s.FailInterruptedRuns(boot, boot, "interrupted: daemon stopped")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{runs[0].ID}, ids); diff != "" {
		t.Errorf("failed runs (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		run        *Run
		wantStatus string
		wantError  string
	}{
		{runs[0], RunFailed, "interrupted: daemon stopped"},
		{runs[1], RunHeld, ""},
		{runs[2], RunRunning, ""},
		{runs[3], RunOK, ""},
	} {
		got, err := s.Run(tc.run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tc.wantStatus || got.Error != tc.wantError {
			t.Errorf("run %d: status %q error %q; want %q %q", got.ID, got.Status, got.Error, tc.wantStatus, tc.wantError)
		}
		if tc.wantStatus == RunFailed && !got.EndedAt.Equal(boot) {
			t.Errorf("run %d ended at %v, want %v", got.ID, got.EndedAt, boot)
		}
	}
}
