package engine

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/core/model"
)

// TestConvergenceProperty: three backends, random user actions on random
// backends, webhooks delivered at once, late, twice or never, imports and
// drains interleaved at random. After each backend is imported once more and
// the outboxes are drained, every backend agrees with the records, and
// re-applying any observation ever made writes nothing.
func TestConvergenceProperty(t *testing.T) {
	// 100 seeds take about a minute under -race on the CI machine; set
	// KEEPWATCH_PROPERTY_SEEDS for a longer hunt.
	seeds := 100
	if n, err := strconv.Atoi(os.Getenv("KEEPWATCH_PROPERTY_SEEDS")); err == nil && n > 0 {
		seeds = n
	} else if testing.Short() {
		seeds = 20
	}
	for seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			runConvergence(t, uint64(seed))
		})
	}
}

func runConvergence(t *testing.T, seed uint64) {
	const items, steps = 12, 120
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	v := newEnv(t, items, "a", "b", "c")
	v.users = []string{"alice", "bob"}
	v.backends["b"].stampWrites = true // Plex-like
	var all []model.Observation        // every observation ever made, for the re-apply check
	var late []model.Observation       // captured, not yet delivered

	deliver := func(o model.Observation) {
		switch rng.IntN(10) {
		case 0, 1: // lost
		case 2, 3:
			late = append(late, o)
		case 4:
			v.webhook(o)
			v.webhook(o) // twice
		default:
			v.webhook(o)
		}
	}
	for range steps {
		v.clock.advance(time.Duration(1+rng.IntN(30)) * time.Minute)
		user := v.users[rng.IntN(len(v.users))]
		b := v.names[rng.IntN(len(v.names))]
		i := rng.IntN(items)
		var o model.Observation
		switch rng.IntN(9) {
		case 0, 1, 2:
			o = v.play(b, user, i)
		case 3, 4:
			o = v.unwatch(b, user, i)
		case 5, 6:
			o = v.progress(b, user, i, time.Duration(rng.IntN(40))*time.Minute)
		case 7:
			v.importFrom(rng.IntN(2) == 0, b)
			continue
		default:
			if _, err := v.e.Drain(v.ctx, model.Origin{Kind: model.OriginPush}, b, v.backends[b]); err != nil {
				t.Fatal(err)
			}
			continue
		}
		all = append(all, o)
		deliver(o)
		if len(late) > 0 && rng.IntN(4) == 0 {
			k := rng.IntN(len(late))
			v.webhook(late[k])
			late = append(late[:k], late[k+1:]...)
		}
	}
	for _, o := range late {
		v.webhook(o)
	}

	// Each backend imported once more, then the outboxes drained.
	for _, b := range v.names {
		v.clock.advance(time.Minute)
		v.importFrom(true, b)
	}
	v.clock.advance(time.Minute)
	v.drainAll()
	if q := v.queued(); q != 0 {
		t.Fatalf("%d writes still queued after draining", q)
	}

	check := func(when string) {
		t.Helper()
		for _, user := range v.users {
			for i := range items {
				r := v.record(user, i)
				if r == nil {
					t.Fatalf("%s: %s item %d has no record after imports", when, user, i)
				}
				for _, b := range v.names {
					s := v.backends[b].get(user, i)
					if s.Watched != r.Watched {
						t.Errorf("%s: %s item %d: %s watched=%v, record watched=%v", when, user, i, b, s.Watched, r.Watched)
						continue
					}
					p := s.Progress
					if p < v.e.cfg.MinProgress {
						p = 0
					}
					if !r.Watched && absDur(p-r.Progress) > ProgressTolerance {
						t.Errorf("%s: %s item %d: %s progress %v, record %v", when, user, i, b, p, r.Progress)
					}
				}
			}
		}
	}
	check("after final sync")

	// Re-applying any observation changes nothing and queues nothing.
	for k, o := range all {
		res := v.webhook(o)
		if res.Changed+res.Created != 0 || v.queued() != 0 {
			t.Fatalf("re-applying observation %d (%s %s item %s watched=%v progress=%v) changed %+v, queued %d",
				k, o.Backend, o.User, o.RemoteID, o.Watched, o.Progress, res, v.queued())
		}
	}
	check("after re-applying")
}
