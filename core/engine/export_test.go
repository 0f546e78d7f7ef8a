package engine

import (
	"testing"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

func TestExport(t *testing.T) {
	tests := []struct {
		name        string
		dryRun      bool
		down        bool
		wantStatus  string
		wantWritten int
		wantQueued  int // left in b's outbox afterwards
	}{
		{name: "writes what differs", wantStatus: store.RunOK, wantWritten: 3},
		{name: "dry run writes nothing", dryRun: true, wantStatus: store.RunOK, wantQueued: 3},
		{name: "down backend keeps its queue", down: true, wantStatus: store.RunFailed, wantQueued: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, 6, "a", "b")
			for _, i := range []int{0, 2, 4} {
				v.backends["a"].set("alice", i, model.State{Watched: true, PlayedAt: v.clock.now()})
			}
			// The first import of both queues a's plays for b; nothing drains them.
			v.importFrom(true, "a", "b")
			if v.queued() != 3 {
				t.Fatalf("queued after import = %d, want 3", v.queued())
			}
			v.backends["b"].down = tt.down
			var started uint64
			run, err := v.e.Export(v.ctx, map[string]Writer{"a": v.backends["a"], "b": v.backends["b"]},
				ExportOptions{DryRun: tt.dryRun, Started: func(id uint64) { started = id }})
			if err != nil {
				t.Fatal(err)
			}
			if started == 0 || started != run.ID {
				t.Errorf("Started got run %d, run is %d", started, run.ID)
			}
			if run.Status != tt.wantStatus {
				t.Errorf("status = %s (%s), want %s", run.Status, run.Error, tt.wantStatus)
			}
			if run.Counts["written"] != tt.wantWritten || run.Counts["queued"] != 3 {
				t.Errorf("counts = %v, want written %d, queued 3", run.Counts, tt.wantWritten)
			}
			if got := v.queued(); got != tt.wantQueued {
				t.Errorf("queued afterwards = %d, want %d", got, tt.wantQueued)
			}
			for _, i := range []int{0, 2, 4} {
				if got := v.backends["b"].get("alice", i).Watched; got != (tt.wantWritten > 0) {
					t.Errorf("item %d watched on b = %v", i, got)
				}
			}
			if tt.dryRun {
				events, err := v.st.Journal(model.Origin{Kind: model.OriginRun, ID: run.ID})
				if err != nil {
					t.Fatal(err)
				}
				if len(events) != 3 || !events[0].DryRun || events[0].Backend != "b" {
					t.Errorf("dry-run journal = %+v, want 3 dry-run writes to b", events)
				}
			}
		})
	}
}

func TestMarkByHandQueuesAndUndoes(t *testing.T) {
	v := newEnv(t, 2, "a", "b")
	v.backends["a"].set("alice", 0, model.State{Watched: true, PlayedAt: v.clock.now()})
	v.importFrom(true, "a", "b")
	v.drainAll()
	r := v.record("alice", 0)
	got, run, err := v.e.Mark(v.ctx, r.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Watched || run.Kind != "manual" || run.Status != store.RunOK {
		t.Fatalf("after mark: watched=%v run=%+v", got.Watched, run)
	}
	if v.queued() != 2 {
		t.Errorf("queued = %d, want a write to each backend", v.queued())
	}
	v.drainAll()
	if v.backends["a"].get("alice", 0).Watched || v.backends["b"].get("alice", 0).Watched {
		t.Error("the unwatch did not reach both backends")
	}
	if _, err := v.e.Undo(v.ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if !v.record("alice", 0).Watched {
		t.Error("undo did not restore watched")
	}
}
