package plex

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/plugins"
)

// clock is a settable clock for the fake, in epoch seconds.
type clock struct{ sec atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.sec.Store(1_750_000_000)
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(c.sec.Load(), 0) }
func (c *clock) Advance(d time.Duration) { c.sec.Add(int64(d / time.Second)) }

func libOpts(clk *clock) fake.Options {
	return fake.Options{Seed: 11, Movies: 12, Shows: 3, SeasonsPerShow: 2, EpisodesPerSeason: 4, LegacyFraction: 0.4, Now: clk.Now,
		Users: []fake.User{
			{Kind: fake.Owner, Username: "admin", Email: "admin@example.com"},
			{Kind: fake.HomeUser, Username: "alice", Email: "alice@example.com"},
			{Kind: fake.ManagedUser, Title: "kid", PIN: "1234", Restricted: true},
			{Kind: fake.ManagedUser, Title: "teen"},
			{Kind: fake.SharedUser, Username: "bob", Email: "bob@example.com", Sections: []string{"1"}},
		}}
}

// TestImportMatchesServer compares every account's import with the fake's
// state for that account, item by item.
func TestImportMatchesServer(t *testing.T) {
	clk := newClock()
	e := newEnv(t, libOpts(clk), map[string]string{optPageSize: "7"})
	ctx := context.Background()
	accounts, err := e.b.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range accounts {
		names = append(names, a.Name)
		if a.Admin != (a.Name == "admin") {
			t.Errorf("account %+v: only the owner is admin", a)
		}
	}
	if want := []string{"admin", "alice", "kid", "teen", "bob"}; !slices.Equal(names, want) {
		t.Fatalf("accounts %v, want %v (owner first)", names, want)
	}
	for i, a := range accounts {
		if u, _ := e.srv.User(a.Name); a.ID != itoa(int64(u.ID)) {
			t.Errorf("account %s has id %s, want its plex.tv id %d", a.Name, a.ID, u.ID)
		}
		if _, _, err := e.srv.SeedWatched(a.Name, 0.3, 0.3, int64(i)); err != nil {
			t.Fatal(err)
		}
	}

	shows := map[string]fake.Item{}
	for _, s := range e.srv.Items("show") {
		shows[s.RatingKey] = s
	}
	for _, a := range accounts {
		t.Run(a.Name, func(t *testing.T) {
			obs := importAll(t, e.b, plugins.ImportRequest{AccountID: a.ID})
			got := byItem(obs)
			if len(got) != len(obs) {
				t.Errorf("%d observations for %d items: an item was imported twice", len(obs), len(got))
			}
			want := 0
			for _, it := range e.srv.Items("") {
				if it.Type != "movie" && it.Type != "episode" {
					continue
				}
				if a.Name == "bob" && it.Section != "1" {
					if _, ok := got[it.RatingKey]; ok {
						t.Errorf("bob sees item %s of section %s, which is not shared with him", it.RatingKey, it.Section)
					}
					continue
				}
				want++
				o, ok := got[it.RatingKey]
				if !ok {
					t.Errorf("item %s (%s) missing from the import", it.RatingKey, it.Title)
					continue
				}
				checkRow(t, e.srv, a, it, shows[it.ShowRatingKey], o)
			}
			if len(got) != want {
				t.Errorf("imported %d items, want %d", len(got), want)
			}
		})
	}
	if ig := e.srv.IgnoredParams(); len(ig) > 0 {
		t.Errorf("PMS would ignore these parameters: %v", ig)
	}
}

func normalized(plexIDs []string) []string {
	var out []string
	for _, g := range plexIDs {
		out = append(out, strings.Replace(g, "://", ":", 1))
	}
	slices.Sort(out)
	return out
}

func checkRow(t *testing.T, srv *fake.Server, a plugins.Account, it, show fake.Item, o plugins.Observation) {
	t.Helper()
	st, err := srv.State(a.Name, it.RatingKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := plugins.CheckObservation(o); err != nil {
		t.Error(err)
	}
	s := o.State
	if o.AccountID != a.ID || o.AccountName != a.Name {
		t.Errorf("item %s: account %s (%s), want %s (%s)", it.RatingKey, o.AccountID, o.AccountName, a.ID, a.Name)
	}
	if !s.WatchedKnown || !s.ProgressKnown || s.Watched != (st.ViewCount > 0) || s.PlayCount != st.ViewCount ||
		s.Progress != time.Duration(st.ViewOffsetMS)*time.Millisecond || o.Duration != time.Duration(it.DurationMS)*time.Millisecond {
		t.Errorf("item %s: state %+v duration %v, server says %+v duration %dms", it.RatingKey, s, o.Duration, st, it.DurationMS)
	}
	if wantAt := st.LastViewedAt; (st.ViewCount > 0 && s.PlayedAt.Unix() != wantAt) || (st.ViewCount == 0 && !s.PlayedAt.IsZero()) {
		t.Errorf("item %s: played at %v, server says viewCount %d lastViewedAt %d", it.RatingKey, s.PlayedAt, st.ViewCount, wantAt)
	}
	checkItem(t, it, show, o)
}

// checkItem compares the item fields of o with the fake's item it (and its
// show, for an episode).
func checkItem(t *testing.T, it, show fake.Item, o plugins.Observation) {
	t.Helper()
	if o.ItemID != it.RatingKey || o.LibraryID != it.Section || o.Title != it.Title || o.Year != it.Year {
		t.Errorf("item %s: identity %+v, want section %s, %q (%d)", it.RatingKey, o, it.Section, it.Title, it.Year)
	}
	own := normalized(it.GUIDs)
	if !it.Legacy {
		own = append(own, strings.Replace(it.GUID, "plex://", "plex:", 1))
		slices.Sort(own)
	} else if it.Type == "movie" {
		own = []string{legacyGUID(it.GUID)}
	}
	if !slices.Equal(o.GUIDs, own) {
		t.Errorf("item %s: GUIDs %v, want %v", it.RatingKey, o.GUIDs, own)
	}
	if it.Type != "episode" {
		return
	}
	wantShow := normalized(show.GUIDs)
	if show.Legacy {
		wantShow = []string{legacyGUID(show.GUID)}
	} else {
		wantShow = append(wantShow, strings.Replace(show.GUID, "plex://", "plex:", 1))
		slices.Sort(wantShow)
	}
	if o.Kind != plugins.KindEpisode || o.ShowID != it.ShowRatingKey || o.ShowTitle != show.Title || o.Season != it.Season || o.Episode != it.Episode || !slices.Equal(o.ShowGUIDs, wantShow) {
		t.Errorf("episode %s: show %s %q %v S%dE%d, want %s %q %v S%dE%d", it.RatingKey, o.ShowID, o.ShowTitle, o.ShowGUIDs, o.Season, o.Episode,
			it.ShowRatingKey, show.Title, wantShow, it.Season, it.Episode)
	}
}

// legacyGUID normalises a legacy movie or show agent string by hand.
func legacyGUID(s string) string {
	s = strings.TrimPrefix(s, "com.plexapp.agents.")
	s, _, _ = strings.Cut(s, "?")
	src, id, _ := strings.Cut(s, "://")
	switch src {
	case "themoviedb":
		src = "tmdb"
	case "thetvdb":
		src = "tvdb"
	}
	return src + ":" + id
}

// TestImportShowsSweptOnce: a full import reads the shows of a section in one
// type=2 sweep (not one lookup per episode), and pages by page_size.
func TestImportShowsSweptOnce(t *testing.T) {
	e := newEnv(t, fake.Options{Seed: 2, Movies: 10, Shows: 4, SeasonsPerShow: 2, EpisodesPerSeason: 5}, map[string]string{optPageSize: "4"})
	e.resetRequests()
	obs := importAll(t, e.b, plugins.ImportRequest{})
	if len(obs) != 50 {
		t.Fatalf("imported %d items, want 50", len(obs))
	}
	if n := e.requests(fake.RouteMetadata); n != 0 {
		t.Errorf("%d /library/metadata lookups during a full import, want 0 (shows come from the type=2 sweep)", n)
	}
	// movies: 10/4 → 3 pages; shows: 4/4 → 1 page (totalSize says it is the
	// last); episodes 40/4 → 10 pages.
	if n := e.requests(fake.RouteSectionAll); n != 3+1+10 {
		t.Errorf("%d listing requests, want 14 (pages of 4)", n)
	}
}

// TestImportDelta: with Since only plays, progress and updates after it are
// asked for; the engine's "absent = 0" rows never appear for untouched items.
func TestImportDelta(t *testing.T) {
	clk := newClock()
	e := newEnv(t, libOpts(clk), nil)
	if _, _, err := e.srv.SeedWatched("alice", 0.5, 0.2, 3); err != nil {
		t.Fatal(err)
	}
	since := clk.Now()
	clk.Advance(time.Hour)
	movies, eps := e.srv.Items("movie"), e.srv.Items("episode")
	if err := e.srv.MarkWatched("alice", movies[1].RatingKey, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetProgress("alice", eps[5].RatingKey, 5*time.Minute, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Touch(movies[7].RatingKey, clk.Now()); err != nil {
		t.Fatal(err)
	}
	alice, _ := e.srv.User("alice")
	e.srv.ResetStats()
	obs := importAll(t, e.b, plugins.ImportRequest{AccountID: itoa(int64(alice.ID)), Since: since})
	var keys []string
	for _, o := range obs {
		keys = append(keys, o.ItemID)
	}
	slices.Sort(keys)
	want := []string{movies[1].RatingKey, movies[7].RatingKey, eps[5].RatingKey}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("delta imported %v, want %v", keys, want)
	}
	got := byItem(obs)
	if o := got[eps[5].RatingKey]; o.State.Progress != 5*time.Minute || len(o.ShowGUIDs) == 0 {
		t.Errorf("delta episode: progress %v, show GUIDs %v; want 5m and the show's GUIDs", o.State.Progress, o.ShowGUIDs)
	}
	if o := got[movies[1].RatingKey]; !o.State.Watched || o.State.PlayedAt.Unix() != clk.Now().Unix() {
		t.Errorf("delta movie: %+v, want watched at %v", o.State, clk.Now())
	}
	if ig := e.srv.IgnoredParams(); len(ig) > 0 {
		t.Errorf("PMS would ignore the delta filter %v and answer the whole library", ig)
	}
	if n := e.srv.ItemsServed(fake.RouteSectionAll); n != 3 {
		t.Errorf("the delta made the server list %d items, want 3", n)
	}
}

func TestImportLibraries(t *testing.T) {
	e := newEnv(t, fake.Options{Seed: 4, Movies: 3, Shows: 1, SeasonsPerShow: 1, EpisodesPerSeason: 2}, nil)
	count := func(f plugins.LibraryFilter) (movies, episodes int) {
		for _, o := range importAll(t, e.b, plugins.ImportRequest{Libraries: f}) {
			if o.Kind == plugins.KindMovie {
				movies++
			} else {
				episodes++
			}
		}
		return
	}
	for _, tc := range []struct {
		name             string
		f                plugins.LibraryFilter
		movies, episodes int
	}{
		{"all", plugins.LibraryFilter{}, 3, 2},
		{"include by title", plugins.LibraryFilter{Include: []string{"tv shows"}}, 0, 2},
		{"include by key", plugins.LibraryFilter{Include: []string{"1"}}, 3, 0},
		{"exclude wins", plugins.LibraryFilter{Include: []string{"1", "2"}, Exclude: []string{"Movies"}}, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if m, ep := count(tc.f); m != tc.movies || ep != tc.episodes {
				t.Errorf("%+v: %d movies, %d episodes; want %d, %d", tc.f, m, ep, tc.movies, tc.episodes)
			}
		})
	}
}

// TestTokensRefreshOn401: a rotated server token (user unshared and reshared,
// owner token reset) is fetched again from plex.tv on PMS's 401.
func TestTokensRefreshOn401(t *testing.T) {
	e := newEnv(t, fake.Options{Seed: 8, Movies: 3}, nil)
	ctx := context.Background()
	for _, user := range []string{"alice", "bob", "teen", "admin"} {
		u, _ := e.srv.User(user)
		id := itoa(int64(u.ID))
		if len(importAll(t, e.b, plugins.ImportRequest{AccountID: id})) == 0 {
			t.Fatalf("%s: empty import", user)
		}
		if _, err := e.srv.RotateServerToken(user); err != nil {
			t.Fatal(err)
		}
		if len(importAll(t, e.b, plugins.ImportRequest{AccountID: id})) == 0 {
			t.Fatalf("%s: empty import after the token was rotated", user)
		}
	}
	// A PIN-protected managed user: the switch needs the PIN; without it the
	// token comes from shared_servers; with a wrong one, likewise.
	kid, _ := e.srv.User("kid")
	for _, pins := range []string{"", "kid=1234", "kid=9999"} {
		opts := map[string]string{}
		if pins != "" {
			opts[optHomePINs] = pins
		}
		e2 := newEnvOn(t, e.srv, e.ts, opts)
		if err := e.srv.MarkWatched("kid", e.srv.Items("movie")[0].RatingKey, time.Unix(1_700_000_000, 0)); err != nil {
			t.Fatal(err)
		}
		obs := importAll(t, e2.b, plugins.ImportRequest{AccountID: itoa(int64(kid.ID))})
		if !byItem(obs)[e.srv.Items("movie")[0].RatingKey].State.Watched {
			t.Errorf("pins %q: kid's import does not show kid's state", pins)
		}
	}
	// A wrong owner token is an authentication error naming the backend.
	bad := fakeConfig(e.srv, e.ts.URL)
	bad.Token = "wrong"
	b := New(plugins.Env{}).(*Backend)
	if err := b.Configure(ctx, bad); err != nil {
		t.Fatal(err)
	}
	err := b.Import(ctx, plugins.ImportRequest{}, func([]plugins.Observation) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "plex-test: authentication failed") {
		t.Errorf("import with a wrong token: %v; want an authentication error naming plex-test", err)
	}
	if errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("a refused token is not a server that may come back: %v", err)
	}
}

// TestAccountsSurvivePlexTVOutage: with plex.tv down, the accounts already
// known keep importing with their cached tokens.
func TestAccountsSurvivePlexTVOutage(t *testing.T) {
	e := newEnv(t, fake.Options{Seed: 21, Movies: 3}, nil)
	alice := userID(t, e.srv, "alice")
	importAll(t, e.b, plugins.ImportRequest{AccountID: alice})
	e.srv.Fail(fake.RouteAllPlexTV, fake.Failure{Status: http.StatusServiceUnavailable})
	e.b.st.dir.mu.Lock()
	e.b.st.dir.loadedAt = time.Time{} // the list is due for a refresh
	e.b.st.dir.mu.Unlock()
	if got := importAll(t, e.b, plugins.ImportRequest{AccountID: alice}); len(got) != 3 {
		t.Errorf("import during a plex.tv outage gave %d items, want 3", len(got))
	}
	if _, err := e.b.ListAccounts(context.Background()); err != nil {
		t.Errorf("ListAccounts during a plex.tv outage: %v", err)
	}
}
