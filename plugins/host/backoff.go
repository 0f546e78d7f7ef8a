package host

import "time"

// backoff is the delay before each restart of a plugin: min after the
// first failure, doubling with each failure in a row up to max. A plugin
// that stayed ready for stableAfter before it died starts again from min,
// so a crash a day does not end up waiting the maximum.
type backoff struct {
	min, max, stableAfter time.Duration
	failures              int // in a row
}

func newBackoff(o Options) *backoff {
	return &backoff{min: o.MinBackoff, max: o.MaxBackoff, stableAfter: o.StableAfter}
}

// next counts a failure and answers the delay before the next start. ready
// is how long the plugin had been ready before it died; zero when it failed
// to start.
func (b *backoff) next(ready time.Duration) time.Duration {
	if ready > 0 && ready >= b.stableAfter {
		b.failures = 0
	}
	d := b.min
	for range b.failures {
		if d > b.max/2 { // doubling would pass the cap (or overflow)
			d = b.max
			break
		}
		d *= 2
	}
	b.failures++
	return min(d, b.max)
}
