package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

const alice = "alice"

// synced returns an env whose backends all know every item, in agreement.
func synced(t *testing.T, items int, names ...string) *env {
	v := newEnv(t, items, names...)
	v.importFrom(true, names...)
	v.drainAll()
	v.clock.advance(time.Hour)
	return v
}

func TestEchoOfOwnWriteIsNoOp(t *testing.T) {
	for _, stamp := range []bool{false, true} {
		t.Run(map[bool]string{false: "date kept", true: "server stamps its own date"}[stamp], func(t *testing.T) {
			v := synced(t, 4, "a", "b")
			v.backends["b"].stampWrites = stamp
			v.webhook(v.play("a", alice, 2))
			v.clock.advance(time.Second)
			if got := v.drainAll().Written; got != 1 {
				t.Fatalf("writes to b = %d, want 1", got)
			}
			if !v.backends["b"].get(alice, 2).Watched {
				t.Fatal("b did not get the play")
			}
			// b echoes our write back as a webhook and in its next import.
			v.clock.advance(time.Second)
			echo := v.backends["b"].observe(alice, 2)
			res := v.webhook(echo)
			if res.Changed != 0 || res.Created != 0 || res.Queued != 0 {
				t.Errorf("echo webhook: %+v, want no change and nothing queued", res)
			}
			v.clock.advance(time.Minute)
			run := v.importFrom(false, "b")
			if run.Counts["changed"] != 0 || v.queued() != 0 {
				t.Errorf("re-import after echo: counts %v, queued %d", run.Counts, v.queued())
			}
		})
	}
}

func TestUnwatchPropagates(t *testing.T) {
	v := newEnv(t, 4, "a", "b", "c")
	v.backends["a"].set(alice, 0, model.State{Watched: true, PlayedAt: v.clock.now().Add(-time.Hour)})
	v.importFrom(true, "a", "b", "c")
	v.drainAll()
	for _, n := range v.names {
		if !v.backends[n].get(alice, 0).Watched {
			t.Fatalf("setup: %s not watched", n)
		}
	}
	v.clock.advance(time.Hour)
	res := v.webhook(v.unwatch("b", alice, 0))
	if res.Changed != 1 {
		t.Fatalf("unwatch webhook: %+v", res)
	}
	v.drainAll()
	for _, n := range v.names {
		if v.backends[n].get(alice, 0).Watched {
			t.Errorf("%s still watched after the unwatch on b", n)
		}
	}
	if r := v.record(alice, 0); r.Watched {
		t.Errorf("record still watched")
	}
}

func TestNewBackendNeverUnwatches(t *testing.T) {
	v := newEnv(t, 6, "a", "b")
	for _, i := range []int{0, 1, 2} {
		v.backends["a"].set(alice, i, model.State{Watched: true, PlayedAt: v.clock.now()})
	}
	v.importFrom(true, "a", "b")
	v.drainAll()
	v.clock.advance(time.Hour)

	// A fresh server with nothing watched joins.
	cfg := v.e.cfg
	v.addBackend(&cfg, "fresh", 6)
	v.e.cfg = cfg
	run := v.importFrom(true, "fresh")
	if run.Status != store.RunOK {
		t.Fatalf("first import of the fresh server: %s", run.Status)
	}
	for _, i := range []int{0, 1, 2} {
		if r := v.record(alice, i); !r.Watched {
			t.Errorf("item %d unwatched by a fresh server's import", i)
		}
	}
	v.drainAll()
	for _, i := range []int{0, 1, 2} {
		if !v.backends["fresh"].get(alice, i).Watched {
			t.Errorf("fresh server did not receive play of item %d", i)
		}
	}
	if v.backends["a"].writes != 0 || v.backends["b"].writes != 3 {
		t.Errorf("writes a=%d b=%d, want 0 and 3 (the setup's)", v.backends["a"].writes, v.backends["b"].writes)
	}
}

func TestFirstSyncOfThreeIsUnionOfPlays(t *testing.T) {
	v := newEnv(t, 8, "a", "b", "c")
	plays := map[string][]int{"a": {0, 1}, "b": {2, 3}, "c": {4, 1}}
	for n, items := range plays {
		for _, i := range items {
			v.backends[n].set(alice, i, model.State{Watched: true, PlayedAt: v.clock.now().Add(-time.Duration(i) * time.Hour)})
		}
	}
	v.backends["b"].set(alice, 5, model.State{Progress: 20 * time.Minute})
	v.importFrom(true, "a", "b", "c")
	v.drainAll()
	want := map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true}
	for _, n := range v.names {
		for i := range 8 {
			if got := v.backends[n].get(alice, i).Watched; got != want[i] {
				t.Errorf("%s item %d watched = %v, want %v", n, i, got, want[i])
			}
		}
		if got := v.backends[n].get(alice, 5).Progress; got != 20*time.Minute {
			t.Errorf("%s item 5 progress = %v, want 20m", n, got)
		}
	}
}

func TestConcurrentImportUnwatchLosesToPlay(t *testing.T) {
	v := newEnv(t, 2, "a", "b")
	v.backends["a"].set(alice, 0, model.State{Watched: true, PlayedAt: v.clock.now()})
	v.importFrom(true, "a", "b")
	v.drainAll()
	v.clock.advance(time.Hour)

	// On a, someone unwatches (no webhook: found by the next import, no date);
	// meanwhile b reports a new play.
	v.backends["a"].set(alice, 0, model.State{})
	v.webhook(v.play("b", alice, 0))
	v.clock.advance(time.Minute)
	v.importFrom(true, "a")
	if r := v.record(alice, 0); !r.Watched {
		t.Fatal("an undated unwatch beat a play")
	}
	v.drainAll()
	if !v.backends["a"].get(alice, 0).Watched {
		t.Error("a was not given the play back")
	}
}

func TestConcurrentPlaysKeepLaterTime(t *testing.T) {
	for _, order := range []string{"earlier first", "later first"} {
		t.Run(order, func(t *testing.T) {
			v := synced(t, 2, "a", "b")
			t1 := v.clock.now()
			v.backends["a"].set(alice, 0, model.State{Watched: true, PlayedAt: t1})
			t2 := t1.Add(10 * time.Minute)
			v.backends["b"].set(alice, 0, model.State{Watched: true, PlayedAt: t2})
			v.clock.advance(20 * time.Minute)
			first, second := "a", "b"
			if order == "later first" {
				first, second = "b", "a"
			}
			v.importFrom(false, first)
			v.clock.advance(time.Minute)
			v.importFrom(false, second)
			r := v.record(alice, 0)
			if !r.Watched || !r.PlayedAt.Equal(t2) {
				t.Errorf("record %v played %v, want watched at %v", r.Watched, r.PlayedAt, t2)
			}
		})
	}
}

func TestServerResetIsHeld(t *testing.T) {
	const n = 5000
	v := newEnv(t, n, "a", "b")
	for i := range n {
		v.backends["a"].set(alice, i, model.State{Watched: true, PlayedAt: v.clock.now()})
	}
	v.importFrom(true, "a", "b")
	v.drainAll()
	v.clock.advance(time.Hour)
	writesBefore := v.backends["b"].writes

	v.backends["a"].state = map[string]map[int]model.State{} // a's database was reset
	run := v.importFrom(true, "a")
	if run.Status != store.RunHeld {
		t.Fatalf("run status %s, want held; guard %+v", run.Status, run.Guard)
	}
	if g := run.Guard["a"]; !g.Held || g.ToUnwatch != n {
		t.Errorf("guard count %+v, want %d held unwatches", g, n)
	}
	if q := v.queued(); q != 0 {
		t.Fatalf("%d writes queued by a held run", q)
	}
	for _, i := range []int{0, 1, n - 1} {
		if !v.record(alice, i).Watched {
			t.Fatalf("record %d unwatched by a held run", i)
		}
	}
	if _, err := v.e.Approve(v.ctx, 999); err == nil {
		t.Error("approving a missing run succeeded")
	}

	// Discarding writes the household's state back to the reset server.
	if _, err := v.e.Discard(v.ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	v.drainAll()
	if v.backends["b"].writes != writesBefore {
		t.Error("b was written to")
	}
	if !v.backends["a"].get(alice, 7).Watched {
		t.Error("discard did not restore a")
	}
	if _, err := v.e.Discard(v.ctx, run.ID); !errors.Is(err, ErrNotHeld) {
		t.Errorf("second discard: %v, want ErrNotHeld", err)
	}
}

func TestApproveHeldRunPropagates(t *testing.T) {
	const n = 100
	v := newEnv(t, n, "a", "b")
	for i := range n {
		v.backends["a"].set(alice, i, model.State{Watched: true, PlayedAt: v.clock.now()})
	}
	v.importFrom(true, "a", "b")
	v.drainAll()
	v.clock.advance(time.Hour)
	for i := range 50 {
		v.backends["a"].set(alice, i, model.State{}) // a person really unwatched half
	}
	run := v.importFrom(true, "a")
	if run.Status != store.RunHeld {
		t.Fatalf("status %s", run.Status)
	}
	if _, err := v.e.Approve(v.ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	v.drainAll()
	for i := range n {
		if got := v.backends["b"].get(alice, i).Watched; got != (i >= 50) {
			t.Fatalf("b item %d watched=%v after approve", i, got)
		}
	}
}

func TestUndoRestoresRunExactly(t *testing.T) {
	v := newEnv(t, 40, "a", "b")
	for i := range 40 {
		v.backends["a"].set(alice, i, model.State{Watched: i%3 == 0, PlayedAt: v.clock.now(), Progress: time.Duration(i%3) * 10 * time.Minute})
	}
	v.importFrom(true, "a", "b")
	v.drainAll()
	v.clock.advance(time.Hour)
	snapshot := map[int]model.State{}
	for i := range 40 {
		snapshot[i] = v.record(alice, i).State
	}

	// A small run (under the guard's threshold) changes a few items.
	for i := range 5 {
		s := v.backends["b"].get(alice, i)
		s.Watched, s.PlayedAt, s.Progress = !s.Watched, v.clock.now(), 0
		v.backends["b"].set(alice, i, s)
	}
	v.backends["b"].set(alice, 10, model.State{Progress: 33 * time.Minute})
	run := v.importFrom(true, "b")
	if run.Status != store.RunOK || run.Counts["changed"] != 6 {
		t.Fatalf("run %s counts %v", run.Status, run.Counts)
	}
	v.clock.advance(time.Minute)
	undo, err := v.e.Undo(v.ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if undo.Counts["changed"] != 6 {
		t.Errorf("undo restored %d, want 6", undo.Counts["changed"])
	}
	got := map[int]model.State{}
	for i := range 40 {
		got[i] = v.record(alice, i).State
	}
	if diff := cmp.Diff(snapshot, got); diff != "" {
		t.Errorf("records after undo differ from before the run (-before +after):\n%s", diff)
	}
	if r, _ := v.st.Run(run.ID); r.Status != store.RunUndone {
		t.Errorf("undone run status %s", r.Status)
	}
	// The restored state is pushed back to b.
	v.drainAll()
	for i := range 5 {
		if got, want := v.backends["b"].get(alice, i).Watched, snapshot[i].Watched; got != want {
			t.Errorf("b item %d watched=%v after undo, want %v", i, got, want)
		}
	}
}

func TestProgressUnderMinimumIgnored(t *testing.T) {
	v := synced(t, 2, "a", "b")
	res := v.webhook(v.progress("a", alice, 0, 30*time.Second))
	if res.Changed != 0 || res.Queued != 0 {
		t.Errorf("30 s of progress: %+v", res)
	}
	if r := v.record(alice, 0); r.Progress != 0 {
		t.Errorf("record progress %v", r.Progress)
	}
	res = v.webhook(v.progress("a", alice, 0, 5*time.Minute))
	if res.Changed != 1 || res.Queued != 1 {
		t.Errorf("5 min of progress: %+v", res)
	}
}

func TestRewatchKeepsWatched(t *testing.T) {
	v := synced(t, 2, "a", "b")
	v.webhook(v.play("a", alice, 0))
	v.drainAll()
	v.clock.advance(time.Hour)
	res := v.webhook(v.progress("b", alice, 0, 20*time.Minute))
	if r := v.record(alice, 0); !r.Watched {
		t.Fatal("re-watch progress unwatched the record")
	}
	if res.Queued != 0 {
		t.Errorf("re-watch queued writes: %+v", res)
	}

	t.Run("rewatch_resets", func(t *testing.T) {
		v := newEnvWith(t, 2, func(c *Config) { c.RewatchResets = true }, "a", "b")
		v.importFrom(true, "a", "b")
		v.webhook(v.play("a", alice, 0))
		v.clock.advance(time.Hour)
		v.webhook(v.progress("b", alice, 0, 20*time.Minute))
		if r := v.record(alice, 0); r.Watched || r.Progress != 20*time.Minute {
			t.Errorf("with rewatch_resets: watched=%v progress=%v", r.Watched, r.Progress)
		}
	})
}

func TestGUIDConflictChangesNothing(t *testing.T) {
	v := newEnv(t, 4, "a", "b")
	v.backends["a"].set(alice, 0, model.State{Watched: true, PlayedAt: v.clock.now()})
	v.backends["a"].set(alice, 2, model.State{Watched: true, PlayedAt: v.clock.now()})
	v.importFrom(true, "a")
	// b has one item claiming both movies' ids.
	o := model.Observation{Backend: "b", User: alice, RemoteID: "b-x", Item: model.Item{Kind: model.KindMovie,
		GUIDs: append(catalogueItem(0).GUIDs, catalogueItem(2).GUIDs...)}, HasWatched: true}
	res := v.webhook(o)
	if res.Conflicts != 1 || res.Changed+res.Created != 0 {
		t.Fatalf("conflict webhook: %+v", res)
	}
	for _, i := range []int{0, 2} {
		if r := v.record(alice, i); !r.Watched {
			t.Errorf("record %d changed by a conflicting observation", i)
		}
	}
	stats, _ := v.st.Stats()
	if stats["b"].Conflicts != 1 {
		t.Errorf("conflicts counted for b: %+v", stats["b"])
	}
}

func TestUnmatchableCountedPerBackend(t *testing.T) {
	v := newEnv(t, 2, "a", "b")
	o := model.Observation{Backend: "b", User: alice, RemoteID: "b-home-video",
		Item: model.Item{Kind: model.KindMovie, Title: "Home video"}, HasWatched: true, Watched: true}
	res := v.webhook(o)
	if res.Unmatched != 1 {
		t.Fatalf("result %+v", res)
	}
	stats, _ := v.st.Stats()
	if stats["b"].Unmatched != 1 || stats["a"].Unmatched != 0 {
		t.Errorf("stats %+v", stats)
	}
	list, err := v.st.ListUnmatched("b", 10)
	if err != nil || len(list) != 1 || list[0].RemoteID != "b-home-video" {
		t.Errorf("unmatched list %+v %v", list, err)
	}
	ds, _ := v.st.ListDeliveries("b", 10)
	if len(ds) != 1 || ds[0].Status != store.DeliveryUnmatched {
		t.Errorf("delivery outcome %+v", ds)
	}
}

func TestFailingBackendKeepsQueue(t *testing.T) {
	v := synced(t, 3, "a", "b")
	v.backends["b"].down = true
	v.webhook(v.play("a", alice, 1))
	res, err := v.e.Drain(v.ctx, model.Origin{Kind: model.OriginPush}, "b", v.backends["b"])
	if err != nil || res.Retried != 1 || v.queued() != 1 {
		t.Fatalf("drain of a down backend: %+v err %v queued %d", res, err, v.queued())
	}
	// Not due yet: a second drain does nothing.
	res, _ = v.e.Drain(v.ctx, model.Origin{Kind: model.OriginPush}, "b", v.backends["b"])
	if res.Retried != 0 {
		t.Errorf("retried before back-off: %+v", res)
	}
	v.backends["b"].down = false
	v.clock.advance(time.Hour)
	v.drainAll()
	if !v.backends["b"].get(alice, 1).Watched || v.queued() != 0 {
		t.Error("queued write not delivered after recovery")
	}

	t.Run("permanent failure recorded and dropped", func(t *testing.T) {
		v.backends["b"].failItems[2] = true
		d := &store.Delivery{Backend: "a", User: alice}
		_ = v.st.AddDeliveries(d)
		_, _ = v.e.ApplyDelivery(v.ctx, d, []model.Observation{v.play("a", alice, 2)}, nil)
		res := v.drainAll()
		if res.Failed != 1 || v.queued() != 0 {
			t.Fatalf("drain %+v queued %d", res, v.queued())
		}
		ev, _ := v.st.Journal(model.Origin{Kind: model.OriginPush})
		if last := ev[len(ev)-1]; last.Kind != model.EventWriteFailed || last.Reason == "" {
			t.Errorf("last push journal entry %+v", last)
		}
	})
}

func TestStaleObservationIgnored(t *testing.T) {
	v := synced(t, 2, "a", "b")
	late := v.unwatch("a", alice, 0) // captured now, delivered after a newer import
	v.backends["a"].set(alice, 0, model.State{Watched: true, PlayedAt: v.clock.now()})
	v.clock.advance(time.Minute)
	v.importFrom(false, "a")
	res := v.webhook(late)
	if res.Stale != 1 || !v.record(alice, 0).Watched {
		t.Errorf("late webhook: %+v", res)
	}
}

func TestDeliveryFinishedInSameTransaction(t *testing.T) {
	v := synced(t, 2, "a", "b")
	d := &store.Delivery{Backend: "a", User: alice, Body: []byte("{}")}
	if err := v.st.AddDeliveries(d); err != nil {
		t.Fatal(err)
	}
	if n, _ := v.st.InboxDepth(); n != 1 {
		t.Fatalf("inbox depth %d", n)
	}
	if _, err := v.e.ApplyDelivery(v.ctx, d, []model.Observation{v.play("a", alice, 0)}, nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := v.st.InboxDepth(); n != 0 {
		t.Errorf("inbox depth after apply %d", n)
	}
	ds, _ := v.st.ListDeliveries("", 10)
	if len(ds) != 1 || ds[0].Status != store.DeliveryApplied || ds[0].Changes != 1 || ds[0].Body != nil {
		t.Errorf("finished delivery %+v", ds)
	}
}

func TestEpisodeMatchesByRelativeGUID(t *testing.T) {
	v := synced(t, 4, "a", "b")
	// b reports episode 1 with its own episode id as well: it must land on the
	// same record (matched by show + season/episode) and enrich it.
	o := v.play("b", alice, 1)
	o.Item.GUIDs = []model.GUID{"tvdb:555001"}
	o.RemoteID = "b-other-id"
	res := v.webhook(o)
	if res.Created != 0 || res.Changed != 1 {
		t.Fatalf("%+v", res)
	}
	r := v.record(alice, 1)
	if len(r.Item.GUIDs) != 1 || r.Item.GUIDs[0] != "tvdb:555001" || r.Refs["b"].RemoteID != "b-other-id" {
		t.Errorf("record not enriched: %+v refs %+v", r.Item, r.Refs)
	}
}

func TestInferCompletion(t *testing.T) {
	v := synced(t, 2, "a", "b")
	o := v.progress("a", alice, 0, 95*time.Minute) // of 100
	o.InferCompletion = true
	v.webhook(o)
	if r := v.record(alice, 0); !r.Watched || r.Progress != 0 {
		t.Errorf("95%% without a completion signal: watched=%v progress=%v", r.Watched, r.Progress)
	}
}
