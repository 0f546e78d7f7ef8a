package tautulli_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keepwatch/keepwatch/backends/tautulli"
	"github.com/keepwatch/keepwatch/backends/tautulli/fake"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

func importAll(t *testing.T, c plugins.Client, req plugins.ImportRequest) ([]plugins.Observation, []int) {
	t.Helper()
	var obs []plugins.Observation
	var pages []int
	err := c.Import(t.Context(), req, func(page []plugins.Observation) error {
		pages = append(pages, len(page))
		obs = append(obs, page...)
		return nil
	})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return obs, pages
}

// expected folds the fake's history of one user the way the backend's doc
// says: per item, watched when any row is (by the rule watched gives, or
// Tautulli's watched_status when nil), PlayedAt the newest watched row's
// stop; movies first, then episodes, each newest play first. With since,
// only rows that ended after it, and only watched items.
func expected(f *fake.Server, user fake.User, since time.Time, watched func(fake.Play) bool) []plugins.Observation {
	if watched == nil {
		watched = func(p fake.Play) bool { return f.WatchedStatus(p) == 1 }
	}
	type fold struct {
		obs    plugins.Observation
		latest fake.Play
		plays  int
	}
	folds := map[int64]*fold{}
	for _, p := range f.History(user.ID) {
		if !since.IsZero() && !p.Stopped.After(since) {
			continue
		}
		it, _ := f.Item(p.RatingKey)
		fo := folds[p.RatingKey]
		if fo == nil {
			fo = &fold{latest: p, obs: itemObservation(it, user)}
			fo.obs.State.WatchedKnown = true
			folds[p.RatingKey] = fo
		}
		if p.Date.After(fo.latest.Date) || p.Date.Equal(fo.latest.Date) && p.RowID > fo.latest.RowID {
			fo.latest = p
		}
		if watched(p) {
			fo.plays++
			fo.obs.State.Watched = true
			if p.Stopped.After(fo.obs.State.PlayedAt) {
				fo.obs.State.PlayedAt = p.Stopped.UTC()
			}
		}
	}
	list := make([]*fold, 0, len(folds))
	for _, fo := range folds {
		if !since.IsZero() && !fo.obs.State.Watched {
			continue
		}
		if since.IsZero() {
			fo.obs.State.PlayCount = fo.plays
		}
		list = append(list, fo)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.obs.LibraryID != b.obs.LibraryID {
			return a.obs.LibraryID < b.obs.LibraryID
		}
		if !a.latest.Date.Equal(b.latest.Date) {
			return a.latest.Date.After(b.latest.Date)
		}
		return a.latest.RowID > b.latest.RowID
	})
	out := make([]plugins.Observation, len(list))
	for i, fo := range list {
		out[i] = fo.obs
	}
	return out
}

// itemObservation is what a history row says of it (no external ids:
// rows carry only the Plex guid).
func itemObservation(it fake.Item, u fake.User) plugins.Observation {
	o := plugins.Observation{AccountID: itoa(u.ID), AccountName: u.Username, ItemID: itoa(it.RatingKey), Title: it.Title}
	legacy := strings.HasPrefix(it.GUID, "com.plexapp.agents.")
	if it.Type == "movie" {
		o.Kind, o.LibraryID, o.LibraryName, o.Year = plugins.KindMovie, "1", "Movies", it.Year
		if legacy {
			o.GUIDs = []string{"imdb:" + it.IMDb}
		} else {
			o.GUIDs = []string{plexGUID(it.GUID)}
		}
		return o
	}
	o.Kind, o.LibraryID, o.LibraryName = plugins.KindEpisode, "2", "TV Shows"
	o.ShowID, o.ShowTitle, o.Season, o.Episode = itoa(it.ShowRatingKey), it.ShowTitle, it.Season, it.Episode
	if legacy {
		o.ShowGUIDs = []string{"tvdb:" + it.TVDb}
	} else {
		o.GUIDs = []string{plexGUID(it.GUID)}
	}
	return o
}

func TestImportMatchesHistory(t *testing.T) {
	// Ten shows: the tenth uses the legacy TheTVDB agent.
	c, f := configured(t, fake.Options{Seed: 5, Users: 2, Movies: 30, Shows: 10, SeasonsPerShow: 1, EpisodesPerSeason: 3, PlaysPerUser: 80})
	for _, u := range f.Users()[1:] {
		t.Run(u.Username, func(t *testing.T) {
			got, _ := importAll(t, c, plugins.ImportRequest{AccountID: itoa(u.ID)})
			want := expected(f, u, time.Time{}, nil)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("import (-want +got):\n%s", diff)
			}
			var watched, partial, legacy int
			for _, o := range got {
				if o.State.Watched {
					watched++
				} else {
					partial++
				}
				if len(o.ShowGUIDs) > 0 {
					legacy++
				}
			}
			if watched == 0 || partial == 0 || legacy == 0 {
				t.Errorf("the fake's history should mix watched (%d), partial-only (%d) and legacy-agent (%d) items", watched, partial, legacy)
			}
		})
	}
}

func TestImportPaging(t *testing.T) {
	opts := fake.Options{Seed: 2, Users: 1, Movies: 50, Shows: 2, PlaysPerUser: 120}
	f := fake.New(opts)
	want := expected(f, f.Owner(), time.Time{}, nil)
	for _, pageSize := range []string{"1", "7", "1000"} {
		t.Run("page_size "+pageSize, func(t *testing.T) {
			f, ts := serve(t, opts)
			c := plugintest.Connect(t, tautulli.New)
			cfg := config(ts, f)
			cfg.Options = map[string]string{"page_size": pageSize}
			if err := c.Configure(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			got, pages := importAll(t, c, plugins.ImportRequest{AccountID: itoa(f.Owner().ID), PageSize: 10})
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("import (-want +got):\n%s", diff)
			}
			for i, n := range pages {
				if n > 10 || n == 0 {
					t.Errorf("page %d holds %d observations; want 1..10", i, n)
				}
			}
			// Two sections (movies, shows), each read in pages of page_size rows.
			if pageSize == "1000" && f.Calls("get_history") != 2 {
				t.Errorf("get_history called %d times for two sections in one page each", f.Calls("get_history"))
			}
		})
	}
}

// TestImportSince imports what changed after since: rows that ended after
// it, watched items only. Paging stops at the first row older than since
// minus a day, so a small page_size reads the window, not the history
// before it that get_history's after= date still lets through.
func TestImportSince(t *testing.T) {
	for _, pageSize := range []int{1000, 2} {
		t.Run(fmt.Sprintf("page_size %d", pageSize), func(t *testing.T) {
			f, ts := serve(t, fake.Options{Seed: 9, Users: 1, Movies: 40, Shows: 2, PlaysPerUser: 400})
			c := plugintest.Connect(t, tautulli.New)
			cfg := config(ts, f)
			cfg.Options = map[string]string{"page_size": strconv.Itoa(pageSize)}
			if err := c.Configure(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			owner := f.Owner()
			var movies []fake.Item
			for _, it := range f.Items() {
				if it.Type == "movie" {
					movies = append(movies, it)
				}
			}
			since := f.Now().Add(2 * time.Hour)
			mustPlay := func(it fake.Item, start time.Time, percent int) {
				t.Helper()
				if _, err := f.AddPlay(owner.ID, it.RatingKey, start, percent); err != nil {
					t.Fatal(err)
				}
			}
			// Before the window, on the local date get_history's after= still
			// lets through (2024-05-31 in the fake's UTC-5): twenty plays
			// from 25 h to about 31 h before since, which only the early
			// stop keeps the import from reading.
			const early = 20
			for i := range early {
				mustPlay(movies[3+i], since.Add(-25*time.Hour-time.Duration(i)*20*time.Minute), 100)
			}
			// New plays after since: one finished, one abandoned, and one that
			// started before since and ended after it.
			mustPlay(movies[0], since.Add(time.Hour), 100)
			mustPlay(movies[1], since.Add(2*time.Hour), 30)
			mustPlay(movies[2], since.Add(-time.Duration(movies[2].Duration.Seconds()/2)*time.Second), 100)

			got, _ := importAll(t, c, plugins.ImportRequest{AccountID: itoa(owner.ID), Since: since})
			want := expected(f, owner, since, nil)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("delta import (-want +got):\n%s", diff)
			}
			if len(got) != 2 {
				t.Errorf("delta import gave %d items; want the 2 finished after since", len(got))
			}

			// Each section reads its rows dated within a day of since (the
			// window), newest first, and stops in the page that holds the
			// first older row: at most window/page_size + 1 calls.
			window := map[string]int{}
			cutoff := since.Add(-24 * time.Hour)
			for _, p := range f.History(owner.ID) {
				if !p.Date.Before(cutoff) {
					it, _ := f.Item(p.RatingKey)
					window[it.Type]++
				}
			}
			bound := window["movie"]/pageSize + 1 + window["episode"]/pageSize + 1
			calls := f.Calls("get_history")
			if calls > bound {
				t.Errorf("delta import made %d get_history calls at page_size %d; want at most %d for the %d movie and %d episode rows in the window",
					calls, pageSize, bound, window["movie"], window["episode"])
			}
			// Reading on through the early plays would take more calls
			// than the bound allows, so the bound holds only by stopping.
			if pageSize < early && (window["movie"]+early)/pageSize <= window["movie"]/pageSize+1 {
				t.Fatalf("test setup: %d early plays do not exceed the bound at page_size %d", early, pageSize)
			}
		})
	}
}

// TestImportWithoutWatchedStatus imports a history whose rows lack
// watched_status: completion falls back on percent_complete ≥
// options.watched_percent (default 90), not on Tautulli's own threshold.
func TestImportWithoutWatchedStatus(t *testing.T) {
	opts := fake.Options{Seed: 6, Users: 1, Movies: 30, Shows: 3, PlaysPerUser: 150, OmitWatchedStatus: true}
	for _, percent := range []string{"", "95"} {
		t.Run("watched_percent "+percent, func(t *testing.T) {
			f, ts := serve(t, opts)
			c := plugintest.Connect(t, tautulli.New)
			cfg := config(ts, f)
			threshold := tautulli.DefaultWatchedPercent
			if percent != "" {
				cfg.Options = map[string]string{"watched_percent": percent}
				threshold, _ = strconv.Atoi(percent)
			}
			if err := c.Configure(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			owner := f.Owner()
			byPercent := func(p fake.Play) bool { return p.PercentComplete >= threshold }
			got, _ := importAll(t, c, plugins.ImportRequest{AccountID: itoa(owner.ID)})
			want := expected(f, owner, time.Time{}, byPercent)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("import (-want +got):\n%s", diff)
			}
			// The history must hold plays the two rules judge apart
			// (Tautulli's 85 and this threshold), or the test shows nothing.
			apart := 0
			for _, p := range f.History(owner.ID) {
				if byPercent(p) != (f.WatchedStatus(p) == 1) {
					apart++
				}
			}
			if apart == 0 {
				t.Fatalf("test setup: no play between Tautulli's threshold and %d%%", threshold)
			}
		})
	}
}

func TestImportLibraryFilter(t *testing.T) {
	c, f := configured(t, fake.Options{Seed: 4, Users: 1})
	acct := itoa(f.Owner().ID)
	kinds := func(obs []plugins.Observation) map[plugins.ItemKind]int {
		m := map[plugins.ItemKind]int{}
		for _, o := range obs {
			m[o.Kind]++
		}
		return m
	}
	tests := []struct {
		name     string
		filter   plugins.LibraryFilter
		movies   bool
		episodes bool
	}{
		{"all", plugins.LibraryFilter{}, true, true},
		{"include by name", plugins.LibraryFilter{Include: []string{"Movies"}}, true, false},
		{"include by id", plugins.LibraryFilter{Include: []string{"2"}}, false, true},
		{"exclude wins", plugins.LibraryFilter{Include: []string{"1", "2"}, Exclude: []string{"TV Shows"}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := importAll(t, c, plugins.ImportRequest{AccountID: acct, Libraries: tt.filter})
			k := kinds(got)
			if (k[plugins.KindMovie] > 0) != tt.movies || (k[plugins.KindEpisode] > 0) != tt.episodes {
				t.Errorf("filter %+v imported %v", tt.filter, k)
			}
		})
	}
}

func TestImportErrors(t *testing.T) {
	c, f := configured(t, fake.Options{})
	err := c.Import(t.Context(), plugins.ImportRequest{AccountID: "alice"}, func([]plugins.Observation) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `"alice" is not a Tautulli user id`) {
		t.Errorf("import of a non-numeric account: %v", err)
	}
	f.Fail("get_history", 400, -1)
	err = c.Import(t.Context(), plugins.ImportRequest{AccountID: itoa(f.Owner().ID)}, func([]plugins.Observation) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "Check the logs for errors") {
		t.Errorf("import against a failing get_history: %v; want Tautulli's message", err)
	}
}
