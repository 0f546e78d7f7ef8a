package host

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBackoff(t *testing.T) {
	const ms = time.Millisecond
	type step struct {
		ready time.Duration // how long the plugin had been ready; 0: its start failed
		want  time.Duration
	}
	tests := []struct {
		name                  string
		min, max, stableAfter time.Duration
		steps                 []step
	}{
		{
			name: "doubles up to the cap", min: 250 * ms, max: 2 * time.Second, stableAfter: time.Minute,
			steps: []step{{0, 250 * ms}, {0, 500 * ms}, {0, time.Second}, {0, 2 * time.Second}, {0, 2 * time.Second}, {0, 2 * time.Second}},
		},
		{
			name: "a cap between two doublings", min: 300 * ms, max: time.Second, stableAfter: time.Minute,
			steps: []step{{0, 300 * ms}, {0, 600 * ms}, {0, time.Second}, {0, time.Second}},
		},
		{
			name: "min equal to max", min: time.Second, max: time.Second, stableAfter: time.Minute,
			steps: []step{{0, time.Second}, {0, time.Second}, {0, time.Second}},
		},
		{
			name: "a short run does not reset", min: 100 * ms, max: time.Second, stableAfter: time.Minute,
			steps: []step{{0, 100 * ms}, {59 * time.Second, 200 * ms}, {time.Second, 400 * ms}},
		},
		{
			name: "a stable run resets to min", min: 100 * ms, max: time.Second, stableAfter: time.Minute,
			steps: []step{
				{0, 100 * ms}, {0, 200 * ms}, {0, 400 * ms}, {0, 800 * ms}, {0, time.Second},
				{time.Minute, 100 * ms}, // ready exactly StableAfter counts as stable
				{0, 200 * ms}, {time.Hour, 100 * ms}, {0, 200 * ms},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackoff(Options{MinBackoff: tt.min, MaxBackoff: tt.max, StableAfter: tt.stableAfter})
			var want, got []time.Duration
			for _, s := range tt.steps {
				want = append(want, s.want)
				got = append(got, b.next(s.ready))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("delays (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBackoffStaysAtTheCapForever(t *testing.T) {
	// A plugin broken for days fails thousands of times in a row; the
	// delay must neither overflow nor drop. From 3 ns, doubling passes
	// MaxInt64 between two steps (3<<61 < MaxInt64 < 3<<62).
	ceiling := time.Duration(math.MaxInt64)
	b := newBackoff(Options{MinBackoff: 3, MaxBackoff: ceiling, StableAfter: time.Minute})
	prev := time.Duration(0)
	for i := range 10_000 {
		d := b.next(0)
		if d < prev || d > ceiling {
			t.Fatalf("failure %d: delay %v after %v; want non-decreasing and at most %v", i, d, prev, ceiling)
		}
		prev = d
	}
	if prev != ceiling {
		t.Errorf("delay %v after 10 000 failures, want the cap %v", prev, ceiling)
	}
}

// TestDefaultBackoff checks the documented defaults: 250 ms doubling to a
// minute.
func TestDefaultBackoff(t *testing.T) {
	var o Options
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	b := newBackoff(o)
	var got []time.Duration
	for range 10 {
		got = append(got, b.next(0))
	}
	ms := time.Millisecond
	want := []time.Duration{250 * ms, 500 * ms, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default delays (-want +got):\n%s", diff)
	}
	if got := b.next(o.StableAfter); got != 250*ms {
		t.Errorf("after a minute ready: %v, want 250ms again", got)
	}
}
