package jellyfin

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeservertest"
	"github.com/keepwatch/keepwatch/backends/jellyfin/fake"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/guids"
)

// configured builds a backend configured for the fake, in process.
func configured(t testing.TB, s *fake.Server, ts *httptest.Server, opts map[string]string) *Backend {
	t.Helper()
	b := New(plugins.Env{}).(*Backend)
	if err := b.Configure(context.Background(), configFor(s, ts.URL, opts)); err != nil {
		t.Fatal(err)
	}
	return b
}

func importAll(t testing.TB, b *Backend, req plugins.ImportRequest) []plugins.Observation {
	t.Helper()
	var out []plugins.Observation
	if err := b.Import(context.Background(), req, func(p []plugins.Observation) error {
		out = append(out, p...)
		return nil
	}); err != nil {
		t.Fatalf("import: %v", err)
	}
	return out
}

// TestImportFull checks every imported row against the fake's own view of the item and the
// user's data, and that episodes carry their series' GUIDs read in batches, not per episode.
func TestImportFull(t *testing.T) {
	for _, version := range []string{fake.Version10_11, fake.Version12, fake.Version10_8} {
		t.Run(version, func(t *testing.T) {
			o := smallLibrary(version)
			o.Movies, o.Series, o.SeasonsPerSeries, o.EpisodesPerSeason = 30, 4, 2, 5
			s, ts := fake.Start(t, o)
			b := configured(t, s, ts, map[string]string{"page_size": "7"})
			alice := s.UserID("alice")
			got := importAll(t, b, plugins.ImportRequest{AccountID: alice})
			if want := 30 + 4*2*5; len(got) != want {
				t.Fatalf("imported %d items, want %d", len(got), want)
			}
			for _, o := range got {
				it, ok := s.Item(o.ItemID)
				if !ok {
					t.Fatalf("imported unknown item %q", o.ItemID)
				}
				ud, err := s.UserData("alice", o.ItemID)
				if err != nil {
					t.Fatal(err)
				}
				want := plugins.Observation{
					AccountID: alice, ItemID: it.ID, LibraryID: it.LibraryID, Kind: plugins.KindMovie,
					Title: it.Name, Year: it.Year, GUIDs: guids.FromProviderIDs(it.ProviderIDs), Duration: it.RunTime,
					State: plugins.State{WatchedKnown: true, Watched: ud.Played, ProgressKnown: true,
						Progress: client.Duration(ud.PlaybackPositionTicks), PlayCount: ud.PlayCount},
				}
				want.LibraryName = map[string]string{s.LibraryID("movies"): "Movies", s.LibraryID("tvshows"): "Shows"}[it.LibraryID]
				if ud.Played {
					want.State.PlayedAt = ud.LastPlayedDate
				}
				if it.Type == "Episode" {
					series, _ := s.Item(it.SeriesID)
					want.Kind, want.ShowID, want.ShowTitle = plugins.KindEpisode, series.ID, series.Name
					want.ShowGUIDs = guids.FromProviderIDs(series.ProviderIDs)
					want.Season, want.Episode = it.SeasonNumber, it.EpisodeNumber
					want.Year = it.Year
				}
				if diff := cmp.Diff(want, o); diff != "" {
					t.Errorf("item %s (-want +got):\n%s", o.ItemID, diff)
				}
			}
			// 2 libraries: ceil(30/7)=5 movie pages + ceil(40/7)=6 episode pages, plus one
			// Ids= query for the 4 series (they all appear in the first episode pages).
			itemsRequests := s.RequestCount("GET /Items", "GET /Users/{userId}/Items")
			if itemsRequests > 5+6+4 {
				t.Errorf("%d item requests for 70 items in pages of 7: series are read per episode?", itemsRequests)
			}
		})
	}
}

func TestImportLibraries(t *testing.T) {
	s, ts := fake.Start(t, smallLibrary(""))
	b := configured(t, s, ts, nil)
	alice := s.UserID("alice")
	count := func(f plugins.LibraryFilter) map[plugins.ItemKind]int {
		n := map[plugins.ItemKind]int{}
		for _, o := range importAll(t, b, plugins.ImportRequest{AccountID: alice, Libraries: f}) {
			n[o.Kind]++
		}
		return n
	}
	for name, tc := range map[string]struct {
		f    plugins.LibraryFilter
		want map[plugins.ItemKind]int
	}{
		"all":                {plugins.LibraryFilter{}, map[plugins.ItemKind]int{plugins.KindMovie: 6, plugins.KindEpisode: 12}},
		"include by name":    {plugins.LibraryFilter{Include: []string{"movies"}}, map[plugins.ItemKind]int{plugins.KindMovie: 6}},
		"include by id":      {plugins.LibraryFilter{Include: []string{s.LibraryID("tvshows")}}, map[plugins.ItemKind]int{plugins.KindEpisode: 12}},
		"exclude wins":       {plugins.LibraryFilter{Include: []string{"Movies", "Shows"}, Exclude: []string{"Shows"}}, map[plugins.ItemKind]int{plugins.KindMovie: 6}},
		"music never counts": {plugins.LibraryFilter{Include: []string{"Music"}}, map[plugins.ItemKind]int{}},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, count(tc.f)); diff != "" {
				t.Errorf("kinds imported (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeltaImportReadsWhatChanged: after 10 plays and 3 progress changes in a 4,000-item
// library, a delta import finds exactly those items and reads a few dozen items, not the
// library (the fake counts the items its answers carried).
func TestDeltaImportReadsWhatChanged(t *testing.T) {
	clock := fakeservertest.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	s, ts := fake.Start(t, fake.Options{Seed: 3, Movies: 2000, Series: 20, SeasonsPerSeries: 4, EpisodesPerSeason: 24,
		PlayedFraction: 0.3, Users: []fake.User{{Name: "admin", Admin: true}, {Name: "alice"}}, Now: clock.Now})
	b := configured(t, s, ts, nil)
	alice := s.UserID("alice")
	since := clock.Now()
	clock.Advance(time.Hour)

	changed := map[string]bool{}
	for i := 0; i < 10; i++ {
		id := s.MovieID(100 + i*37)
		if i%2 == 1 {
			id = s.EpisodeID(i, 2, 5)
		}
		if err := s.TogglePlayed("alice", id, true); err != nil {
			t.Fatal(err)
		}
		changed[id] = true
		clock.Advance(time.Minute)
	}
	for i := 0; i < 3; i++ {
		id := s.MovieID(1500 + i)
		ud, _ := s.UserData("alice", id)
		if ud.Played {
			id = s.MovieID(1600 + i)
		}
		p, err := s.StartPlayback("alice", id, fake.PlaybackOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Stop(20 * time.Minute); err != nil {
			t.Fatal(err)
		}
		changed[id] = true
	}
	s.ResetStats()

	got := importAll(t, b, plugins.ImportRequest{AccountID: alice, Since: since})
	gotIDs := map[string]bool{}
	for _, o := range got {
		gotIDs[o.ItemID] = true
	}
	if diff := cmp.Diff(changed, gotIDs); diff != "" {
		t.Errorf("delta import items (-changed +imported):\n%s", diff)
	}
	read := s.ItemsReturned()
	t.Logf("delta import: %d observations, %d items read in %d requests (library: %d items)", len(got), read, s.RequestCount(), s.ItemCount())
	if read > 60 {
		t.Errorf("delta import read %d items for 13 changes: it reads the library, not what changed", read)
	}
	for _, r := range s.Requests() {
		if strings.Contains(strings.ToLower(r.URL), "mindatelastsaved") {
			t.Errorf("delta import relies on MinDateLastSaved*: %s", r.URL)
		}
	}
}

func TestImportHonoursCancelAndErrors(t *testing.T) {
	s, ts := fake.Start(t, smallLibrary(""))
	b := configured(t, s, ts, map[string]string{"retries": "0"})
	s.InjectFault(fake.Fault{Route: "GET /Items", Status: 500, Times: 1})
	err := b.Import(context.Background(), plugins.ImportRequest{AccountID: s.UserID("alice")}, func([]plugins.Observation) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "jellyfin: import library") || !strings.Contains(err.Error(), "500") {
		t.Errorf("import with a failing page: %v, want an error naming the library and the status", err)
	}
}
