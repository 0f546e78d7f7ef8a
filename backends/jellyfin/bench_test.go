package jellyfin

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/mbbackend"
	"github.com/keepwatch/keepwatch/backends/jellyfin/fake"
	"github.com/keepwatch/keepwatch/plugins"
)

// BenchmarkJellyfinImport imports a 100,000-item library (20,000 movies and 80,000 episodes
// of 400 series) from the fake and, in the same iteration, merely fetches and decodes the
// same pages with the same client (the floor). It reports the time and allocations of each
// per run, import/floor (time: the backend's own cost over reading the pages, goal ≤ 1.3)
// and import-allocs/floor. The fake serves in process, so its serving time and its
// allocations (runtime.MemStats.Mallocs counts the whole process) are in both figures of
// each pair; the ratios compare like with like. Run with -benchtime=3x.
func BenchmarkJellyfinImport(b *testing.B) {
	s, ts := fake.Start(b, fake.Options{Seed: 5, Movies: 20_000, Series: 400, SeasonsPerSeries: 4, EpisodesPerSeason: 50,
		PlayedFraction: 0.3, ResumeFraction: 0.1, DisableRecording: true,
		Users: []fake.User{{Name: "admin", Admin: true}, {Name: "alice"}}})
	be := configured(b, s, ts, nil)
	c, err := be.Client()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	alice := s.UserID("alice")

	floor := func() int {
		views, err := c.Views(ctx, alice)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, lib := range mbbackend.Libraries(views, plugins.LibraryFilter{}) {
			q := client.Query{ParentID: lib.ID, Types: []string{"Movie", "Episode"}, Fields: []string{"ProviderIds", "Path"}, Limit: mbbackend.DefaultPageSize}
			if err := c.EachPage(ctx, alice, q, func(p client.Page) (bool, error) {
				n += len(p.Items)
				return false, nil
			}); err != nil {
				b.Fatal(err)
			}
		}
		return n
	}
	imp := func() int {
		n := 0
		if err := be.Import(ctx, plugins.ImportRequest{AccountID: alice}, func(p []plugins.Observation) error {
			n += len(p)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		return n
	}
	measure := func(fn func() int) (time.Duration, uint64, int) {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		start := time.Now()
		n := fn()
		d := time.Since(start)
		runtime.ReadMemStats(&m1)
		return d, m1.Mallocs - m0.Mallocs, n
	}
	if n := imp(); n != 100_000 {
		b.Fatalf("import gave %d observations, want 100000", n)
	}
	b.ResetTimer()
	var floorT, importT time.Duration
	var floorAllocs, importAllocs uint64
	runFloor := func() {
		d, a, _ := measure(floor)
		floorT, floorAllocs = floorT+d, floorAllocs+a
	}
	runImport := func() {
		d, a, _ := measure(imp)
		importT, importAllocs = importT+d, importAllocs+a
	}
	for i := 0; i < b.N; i++ {
		// Alternate which runs first so warm-up and background load fall on both.
		if i%2 == 0 {
			runFloor()
			runImport()
		} else {
			runImport()
			runFloor()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(importT.Nanoseconds())/float64(b.N), "import-ns/op")
	b.ReportMetric(float64(floorT.Nanoseconds())/float64(b.N), "floor-ns/op")
	b.ReportMetric(float64(importAllocs)/float64(b.N), "import-allocs/op")
	b.ReportMetric(float64(floorAllocs)/float64(b.N), "floor-allocs/op")
	b.ReportMetric(float64(importT)/float64(floorT), "import/floor")
	b.ReportMetric(float64(importAllocs)/float64(floorAllocs), "import-allocs/floor")
}
