package plex

import (
	"context"
	"testing"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/plugins"
)

// TestResolve resolves items of one fake on another fake holding "the same
// media" (same catalog, other ratingKeys, other agents per item): what a
// second Plex server sees when keepwatch pushes to it.
func TestResolve(t *testing.T) {
	sizes := fake.Options{Movies: 8, Shows: 3, SeasonsPerShow: 2, EpisodesPerSeason: 3, LegacyFraction: 0.5}
	from, to := sizes, sizes
	from.Seed, to.Seed, to.RatingKeyBase = 1, 2, 50_000
	src := newEnv(t, from, nil)
	dst := newEnv(t, to, nil)
	ctx := context.Background()

	obs := importAll(t, src.b, plugins.ImportRequest{})
	var queries []plugins.ResolveQuery
	for _, o := range obs {
		queries = append(queries, plugins.ResolveQuery{Kind: o.Kind, GUIDs: o.GUIDs, ShowGUIDs: o.ShowGUIDs, Season: o.Season, Episode: o.Episode, Title: o.Title})
	}
	queries = append(queries,
		plugins.ResolveQuery{Kind: plugins.KindMovie, GUIDs: []string{"imdb:tt0000001"}},
		plugins.ResolveQuery{Kind: plugins.KindEpisode, ShowGUIDs: []string{"tvdb:1"}, Season: 1, Episode: 1},
	)
	got, err := dst.b.Resolve(ctx, plugins.ResolveRequest{Queries: queries})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(queries) {
		t.Fatalf("%d resolutions for %d queries", len(got), len(queries))
	}
	// The same catalog position on the other server: same title, season, episode.
	want := map[string]fake.Item{}
	for _, it := range dst.srv.Items("") {
		want[it.Type+"|"+it.Title+"|"+itoa(int64(it.Season))+"|"+itoa(int64(it.Episode))] = it
	}
	for i, o := range obs {
		// Legacy and new-agent items of one title still share an external
		// id (legacy movies carry imdb or tmdb, new ones both; shows tvdb).
		w := want[string(o.Kind)+"|"+o.Title+"|"+itoa(int64(o.Season))+"|"+itoa(int64(o.Episode))]
		switch {
		case got[i].ItemID != w.RatingKey:
			t.Errorf("%s %q (%v / %v S%dE%d): resolved to %q, want %s", o.Kind, o.Title, o.GUIDs, o.ShowGUIDs, o.Season, o.Episode, got[i].ItemID, w.RatingKey)
		case got[i].Found() && got[i].LibraryID != w.Section:
			t.Errorf("%q resolved in library %q, want %q", o.Title, got[i].LibraryID, w.Section)
		}
	}
	for _, r := range got[len(obs):] {
		if r.Found() {
			t.Errorf("an unknown item resolved to %+v", r)
		}
	}
	// The index is built once, not per query.
	if n := dst.requests(fake.RouteSectionAll); n > 2 {
		t.Errorf("%d listings for one Resolve, want one sweep per section", n)
	}
}
