package engine

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// itemAdded delivers "item i appeared on backend as remoteID" for every user,
// as the pipeline does for a library.new, and returns the result and the
// delivery's outcome.
func (v *env) itemAdded(backend, remoteID string, it model.Item) (Result, *store.Delivery) {
	v.t.Helper()
	d := &store.Delivery{Backend: backend, User: "*", ReceivedAt: v.clock.now()}
	if err := v.st.AddDeliveries(d); err != nil {
		v.t.Fatal(err)
	}
	var added []model.Observation
	for _, u := range v.users {
		added = append(added, model.Observation{Backend: backend, User: u, RemoteID: remoteID, Library: "1",
			Item: it, ObservedAt: v.clock.now()})
	}
	res, err := v.e.ApplyDelivery(v.ctx, d, nil, added)
	if err != nil {
		v.t.Fatal(err)
	}
	return res, d
}

// TestItemAddedWritesStateToTheNewCopy: a play on a reaches b only once b
// has the item. Before, the write resolved by GUID fails permanently; the
// library.new links the record and queues the write again, for the user who
// played it and nobody else.
func TestItemAddedWritesStateToTheNewCopy(t *testing.T) {
	v := newEnvWith(t, 4, func(c *Config) {
		p := c.Backends["b"]
		p.Resolve = true
		c.Backends["b"] = p
	}, "a", "b")
	v.users = []string{"alice", "bob"}
	b := v.backends["b"]
	b.items = []int{0, 1, 3} // item 2 is not on b yet

	v.webhook(v.play("a", "alice", 2))
	if got := v.drainAll(); got.Failed != 1 || got.Written != 0 {
		t.Fatalf("write of an item b lacks: %+v, want one permanent failure", got)
	}
	if r := v.record("alice", 2); r.Absent["b"].IsZero() {
		t.Errorf("b lacks the item, but the record does not say so: absent %v", r.Absent)
	}
	// Imports see the record again every hour: they must not queue the
	// write, and the drain look it up on b, again and again while b lacks it.
	v.clock.advance(time.Minute)
	if res := v.webhook(v.play("a", "alice", 2)); res.Queued != 0 {
		t.Errorf("a seen again while b lacks the item: %+v, want nothing queued", res)
	}
	if q := v.queued(); q != 0 {
		t.Errorf("%d writes queued to a backend that lacks the item", q)
	}
	// A GUID the record did not have may find what the others did not (a
	// Tautulli play known by its Plex guid, then by its IMDb id): look again.
	o := v.play("a", "alice", 2)
	o.Item.GUIDs = append(o.Item.GUIDs, "tmdb:990002")
	if res := v.webhook(o); res.Queued != 1 {
		t.Errorf("a new GUID while b lacks the item: %+v, want the write queued to look b up again", res)
	}
	if got := v.drainAll(); got.Failed != 1 {
		t.Fatalf("look-up with the new GUID: %+v, want one permanent failure (b still lacks it)", got)
	}
	// A day later keepwatch looks again, once: b may have the item without
	// having said so (no webhook, no full import yet).
	v.clock.advance(absentRecheck)
	if res := v.webhook(v.play("a", "alice", 2)); res.Queued != 1 {
		t.Errorf("a seen again a day later: %+v, want the write queued to look b up again", res)
	}
	if got := v.drainAll(); got.Failed != 1 {
		t.Fatalf("second look-up on b: %+v, want one permanent failure", got)
	}

	b.items = append(b.items, 2)
	v.clock.advance(time.Minute)
	res, d := v.itemAdded("b", b.remoteID(2), catalogueItem(2))
	if res.Linked != 1 || res.Queued != 1 || res.Changes() != 0 {
		t.Errorf("item added: %+v, want alice's record linked and queued, no state changed", res)
	}
	if d.Status != store.DeliveryApplied || d.Reason != "item added: 1 record(s) linked, 1 write(s) queued" {
		t.Errorf("delivery outcome %s %q", d.Status, d.Reason)
	}
	if r := v.record("bob", 2); r != nil {
		t.Errorf("an addition created a record for bob, who never played it: %+v", r)
	}
	if got := v.drainAll(); got.Written != 1 {
		t.Fatalf("drain after the addition: %+v, want one write", got)
	}
	if s := b.get("alice", 2); !s.Watched {
		t.Errorf("alice's play did not reach b's new copy: %+v", s)
	}
	if s := b.get("bob", 2); s.Watched {
		t.Errorf("bob got alice's play: %+v", s)
	}
	r := v.record("alice", 2)
	if diff := cmp.Diff(model.Ref{RemoteID: b.remoteID(2), Library: "1"}, r.Refs["b"]); diff != "" {
		t.Errorf("ref on b (-want +got):\n%s", diff)
	}
	if r.Absent != nil {
		t.Errorf("b has the item now, the record still says absent: %v", r.Absent)
	}

	t.Run("resent", func(t *testing.T) {
		// Jellyfin re-sends ItemAdded after rescans: nothing to do.
		res, d := v.itemAdded("b", b.remoteID(2), catalogueItem(2))
		if res.Linked != 0 || res.Queued != 0 {
			t.Errorf("resent addition: %+v, want nothing", res)
		}
		if d.Reason != "item added: no record needs writing to it" {
			t.Errorf("delivery reason %q", d.Reason)
		}
	})
	t.Run("replaced copy", func(t *testing.T) {
		// The item was deleted and added again under a new id: what we
		// wrote to the old copy says nothing about the new one.
		res, _ := v.itemAdded("b", "b-new-2", catalogueItem(2))
		if res.Linked != 1 || res.Queued != 1 {
			t.Errorf("re-added under a new id: %+v, want linked and queued", res)
		}
		r := v.record("alice", 2)
		if _, ok := r.Bases["b"]; ok || r.Refs["b"].RemoteID != "b-new-2" {
			t.Errorf("record after the copy was replaced: refs %v bases %v", r.Refs, r.Bases)
		}
	})
	t.Run("no guid", func(t *testing.T) {
		res, d := v.itemAdded("b", "b-77", model.Item{Kind: model.KindMovie, Title: "Home video"})
		if res.Unmatched != 2 || res.Linked != 0 {
			t.Errorf("addition without guids: %+v", res)
		}
		if d.Status != store.DeliveryIgnored {
			t.Errorf("delivery %s %q, want ignored", d.Status, d.Reason)
		}
	})
}
