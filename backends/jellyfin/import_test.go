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
	fakeservertest.CheckLibraryFilter(t, s, configured(t, s, ts, nil), s.UserID("alice"))
}

// TestDeltaImportReadsWhatChanged: after 10 plays and 5 progress changes in a 4,000-item
// library where a tenth of the items are resumable, a delta import finds exactly those items
// and reads a few dozen items, not the library nor its resumable set (the fake counts the
// items its answers carried). Two of the sessions started before since: a paused one that
// stopped part-way after it, and one that played to the end after it.
func TestDeltaImportReadsWhatChanged(t *testing.T) {
	clock := fakeservertest.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	s, ts := fake.Start(t, fake.Options{Seed: 3, Movies: 2000, Series: 20, SeasonsPerSeries: 4, EpisodesPerSeason: 24,
		PlayedFraction: 0.3, ResumeFraction: 0.1, Users: []fake.User{{Name: "admin", Admin: true}, {Name: "alice"}}, Now: clock.Now})
	b := configured(t, s, ts, nil)
	alice := s.UserID("alice")
	changed := map[string]bool{}
	unplayed := func(i int) string {
		id := s.MovieID(i)
		if err := s.SetUserData("alice", id, fake.UserData{}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Sessions that span since: LastPlayedDate moves when playback starts, not when it stops.
	paused, finished := unplayed(1700), unplayed(1701)
	early := make([]*fake.Playback, 2)
	for i, id := range []string{paused, finished} {
		p, err := s.StartPlayback("alice", id, fake.PlaybackOptions{})
		if err != nil {
			t.Fatal(err)
		}
		early[i] = p
		changed[id] = true
	}
	clock.Advance(2 * time.Hour)
	since := clock.Now()
	clock.Advance(time.Hour)
	if _, err := early[0].Stop(20 * time.Minute); err != nil {
		t.Fatal(err)
	}
	movie, _ := s.Item(finished)
	if _, err := early[1].Stop(movie.RunTime); err != nil {
		t.Fatal(err)
	}

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
		id := unplayed(1500 + i)
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
		ud, _ := s.UserData("alice", o.ItemID)
		if o.State.Watched != ud.Played || o.State.Progress != client.Duration(ud.PlaybackPositionTicks) {
			t.Errorf("item %s: imported %+v, server has %+v", o.ItemID, o.State, ud)
		}
	}
	if diff := cmp.Diff(changed, gotIDs); diff != "" {
		t.Errorf("delta import items (-changed +imported):\n%s", diff)
	}
	read := s.ItemsReturned()
	t.Logf("delta import: %d observations, %d items read in %d requests (library: %d items)", len(got), read, s.RequestCount(), s.ItemCount())
	if read > 60 {
		t.Errorf("delta import read %d items for 15 changes: it reads the library or its resumable set, not what changed", read)
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
