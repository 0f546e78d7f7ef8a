package plex

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/plugins"
)

// BenchmarkPlexImport imports a fake library of 10k and 100k movies and
// episodes (half each; shows of 5 seasons × 20 episodes) through Import, and
// reports:
//
//   - ns/op, B/op, allocs/op of the import;
//   - floor-ns/op: merely fetching and decoding the same pages (the same
//     requests, the same JSON types, the same HTTP server), measured in the
//     same run between import iterations, and x-floor = import ÷ floor
//     (goal ≤ 1.3);
//   - peak-heap-MB: the most heap the import added over the heap before it
//     (the fake server's library included in that baseline), sampled every
//     100 µs from runtime/metrics /memory/classes/heap/objects:bytes while one
//     import runs with GOGC=10, so garbage does not hide what is live. Flat
//     memory means this stays the same for 10k and 100k items.
func BenchmarkPlexImport(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) { benchImport(b, n) })
	}
}

func benchImport(b *testing.B, n int) {
	const perShow = 5 * 20
	e := newEnv(b, fake.Options{Seed: 1, Sections: []fake.SectionSpec{
		{Key: "1", Title: "Movies", Type: "movie", Movies: n / 2},
		{Key: "2", Title: "TV Shows", Type: "show", Shows: n / 2 / perShow, SeasonsPerShow: 5, EpisodesPerSeason: 20},
	}}, nil)
	if _, _, err := e.srv.SeedWatched("admin", 0.3, 0.1, 1); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var items atomic.Int64
	run := func() {
		err := e.b.Import(ctx, plugins.ImportRequest{}, func(p []plugins.Observation) error {
			items.Add(int64(len(p)))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	floor := func() { fetchAndDecode(b, e) }
	// Warm up: the fake caches its sorted listings, the backend its accounts.
	run()
	floor()
	if got := items.Swap(0); got != int64(n) {
		b.Fatalf("imported %d items, want %d", got, n)
	}

	var floorTotal time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
		b.StopTimer()
		t0 := time.Now()
		floor()
		floorTotal += time.Since(t0)
		b.StartTimer()
	}
	b.StopTimer()
	elapsed := b.Elapsed()
	floorNs := float64(floorTotal.Nanoseconds()) / float64(b.N)
	b.ReportMetric(floorNs, "floor-ns/op")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N)/floorNs, "x-floor")
	b.ReportMetric(peakHeapMB(run), "peak-heap-MB")
}

// fetchAndDecode is the floor: the requests Import makes, decoded into the
// same types, and nothing else.
func fetchAndDecode(b *testing.B, e *env) {
	ctx := context.Background()
	st := e.b.st
	tok := st.s.token
	var secs container
	if err := st.c.get(ctx, tok, "/library/sections", nil, &secs); err != nil {
		b.Fatal(err)
	}
	for _, d := range secs.MediaContainer.Directory {
		types := []string{typeMovie}
		if d.Type == "show" {
			types = []string{typeShow, typeEpisode}
		}
		for _, typ := range types {
			q := url.Values{"type": {typ}, "includeGuids": {"1"}}
			for start := 0; ; {
				var mc container
				if err := st.c.getPage(ctx, tok, "/library/sections/"+d.Key+"/all", q, "", start, st.s.pageSize, &mc); err != nil {
					b.Fatal(err)
				}
				start += len(mc.MediaContainer.Metadata)
				if len(mc.MediaContainer.Metadata) == 0 || start >= mc.MediaContainer.TotalSize {
					break
				}
			}
		}
	}
}

// peakHeapMB runs fn once and answers the most heap it added, in MB.
func peakHeapMB(fn func()) float64 {
	old := debug.SetGCPercent(10)
	defer debug.SetGCPercent(old)
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	if p := peak.Load(); p > base {
		return float64(p-base) / (1 << 20)
	}
	return 0
}
