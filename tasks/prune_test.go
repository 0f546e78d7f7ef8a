package tasks

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// history is what the prune tests start from: journal entries and delivery
// outcomes around the 30-day retention, a held run and a pending delivery.
type history struct {
	heldRun, okRun uint64
	deliveries     []uint64 // old finished, recent finished
}

func seedHistory(t *testing.T, st *store.Store, now time.Time) history {
	t.Helper()
	old, recent := now.AddDate(0, 0, -40), now.AddDate(0, 0, -10)
	held := &store.Run{Kind: "import", Status: store.RunHeld, StartedAt: old}
	done := &store.Run{Kind: "import", Status: store.RunOK, StartedAt: old}
	for _, r := range []*store.Run{held, done} {
		if err := st.CreateRun(r); err != nil {
			t.Fatal(err)
		}
	}
	h := history{heldRun: held.ID, okRun: done.ID}
	err := st.Update(func(tx *store.Tx) error {
		for _, ev := range []model.Event{
			{Origin: model.Origin{Kind: model.OriginRun, ID: held.ID}, At: old, Kind: model.EventRecordChanged},
			{Origin: model.Origin{Kind: model.OriginRun, ID: done.ID}, At: old, Kind: model.EventRecordChanged},
			{Origin: model.Origin{Kind: model.OriginRun, ID: done.ID}, At: recent, Kind: model.EventRecordChanged},
			{Origin: model.Origin{Kind: model.OriginDelivery, ID: 1}, At: old, Kind: model.EventRecordChanged},
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
	for _, at := range []time.Time{old, recent, {}} {
		d := &store.Delivery{User: "alice", Backend: "plex", ReceivedAt: now}
		if err := st.AddDeliveries(d); err != nil {
			t.Fatal(err)
		}
		if at.IsZero() {
			continue // stays pending
		}
		if err := st.Update(func(tx *store.Tx) error { return tx.FinishDelivery(d, store.DeliveryApplied, "", 0, at) }); err != nil {
			t.Fatal(err)
		}
		h.deliveries = append(h.deliveries, d.ID)
	}
	return h
}

// journalSizes counts the journal entries of the held run, the ok run and
// delivery 1.
func journalSizes(t *testing.T, st *store.Store, h history) []int {
	t.Helper()
	var sizes []int
	for _, o := range []model.Origin{{Kind: model.OriginRun, ID: h.heldRun}, {Kind: model.OriginRun, ID: h.okRun}, {Kind: model.OriginDelivery, ID: 1}} {
		evs, err := st.Journal(o)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(evs))
	}
	return sizes
}

func finishedDeliveries(t *testing.T, st *store.Store) []uint64 {
	t.Helper()
	ds, err := st.ListDeliveries("", 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestPrune(t *testing.T) {
	now := time.Date(2025, 6, 1, 5, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name           string
		dryRun         bool
		wantJournal    []int // entries left of: held run, ok run, delivery 1
		keptDeliveries func(h history) []uint64
	}{
		{"prune", false, []int{1, 1, 0}, func(h history) []uint64 { return h.deliveries[1:] }},
		{"dry run", true, []int{1, 2, 1}, func(h history) []uint64 { return []uint64{h.deliveries[1], h.deliveries[0]} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{"prune": {Schedule: "@daily", Enabled: true, KeepDays: 30}}
			f := newFixture(t, cfg, func() time.Time { return now })
			h := seedHistory(t, f.st, now)

			run := f.runAndWait(t, "prune", Request{DryRun: tc.dryRun})
			wantCounts := map[string]int{"journal": 2, "deliveries": 1}
			if run.Kind != "prune" || run.Status != store.RunOK || run.DryRun != tc.dryRun {
				t.Errorf("prune run: %+v", run)
			}
			if diff := cmp.Diff(wantCounts, run.Counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantJournal, journalSizes(t, f.st, h)); diff != "" {
				t.Errorf("journal left (-want +got):\n%s", diff)
			}
			// ListDeliveries is newest first.
			if diff := cmp.Diff(tc.keptDeliveries(h), finishedDeliveries(t, f.st)); diff != "" {
				t.Errorf("deliveries left (-want +got):\n%s", diff)
			}
			if depth, err := f.st.InboxDepth(); err != nil || depth != 1 {
				t.Errorf("inbox depth %d, %v: the pending delivery must stay", depth, err)
			}
		})
	}
}
