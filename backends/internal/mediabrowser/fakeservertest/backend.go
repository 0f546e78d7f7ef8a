package fakeservertest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/backends/internal/httpx"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeserver"
	"github.com/keepwatch/keepwatch/plugins"
)

// Backend is what the backend scenarios below drive: a Jellyfin or Emby backend.
type Backend interface {
	plugins.Backend
	plugins.Importer
	plugins.Exporter
}

// CheckLibraryFilter imports account's items through b (configured for srv) with library
// filters by name (any case) and by id, and checks that an include selects, an exclude wins
// over an include, and a library that holds neither movies nor shows (Music) never counts.
func CheckLibraryFilter(t *testing.T, srv *fakeserver.Server, b plugins.Importer, account string) {
	t.Helper()
	count := func(t *testing.T, f plugins.LibraryFilter) map[plugins.ItemKind]int {
		t.Helper()
		n := map[plugins.ItemKind]int{}
		if err := b.Import(context.Background(), plugins.ImportRequest{AccountID: account, Libraries: f}, func(p []plugins.Observation) error {
			for _, o := range p {
				n[o.Kind]++
			}
			return nil
		}); err != nil {
			t.Fatalf("import with libraries %+v: %v", f, err)
		}
		return n
	}
	all := count(t, plugins.LibraryFilter{})
	movies, episodes := all[plugins.KindMovie], all[plugins.KindEpisode]
	if movies == 0 || episodes == 0 || len(all) != 2 {
		t.Fatalf("unfiltered import: %v, want movies and episodes (the fake needs both)", all)
	}
	onlyMovies, onlyEpisodes := map[plugins.ItemKind]int{plugins.KindMovie: movies}, map[plugins.ItemKind]int{plugins.KindEpisode: episodes}
	for name, tc := range map[string]struct {
		f    plugins.LibraryFilter
		want map[plugins.ItemKind]int
	}{
		"include by name":    {plugins.LibraryFilter{Include: []string{"movies"}}, onlyMovies},
		"include by id":      {plugins.LibraryFilter{Include: []string{srv.LibraryID("tvshows")}}, onlyEpisodes},
		"exclude by id":      {plugins.LibraryFilter{Exclude: []string{srv.LibraryID("movies")}}, onlyEpisodes},
		"exclude wins":       {plugins.LibraryFilter{Include: []string{"Movies", "Shows"}, Exclude: []string{"Shows"}}, onlyMovies},
		"music never counts": {plugins.LibraryFilter{Include: []string{"Music"}}, map[plugins.ItemKind]int{}},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, count(t, tc.f)); diff != "" {
				t.Errorf("kinds imported (-want +got):\n%s", diff)
			}
		})
	}
}

// CheckRetried applies w through b (configured for srv with retries) while srv answers the
// next request on readRoute with 503 and the next one on writeRoute with 429 (Retry-After: 0),
// and checks that both faults were met and that the write is done all the same.
func CheckRetried(t *testing.T, srv *fakeserver.Server, b plugins.Exporter, w plugins.Write, readRoute, writeRoute string) {
	t.Helper()
	before := srv.Stats()
	srv.InjectFault(fakeserver.Fault{Route: writeRoute, Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"0"}}, Times: 1})
	srv.InjectFault(fakeserver.Fault{Route: readRoute, Status: http.StatusServiceUnavailable, Times: 1})
	out, err := b.Apply(context.Background(), []plugins.Write{w})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if out[0].Status != plugins.OutcomeOK {
		t.Errorf("outcome %+v, want ok after retries", out[0])
	}
	after := srv.Stats()
	for route, status := range map[string]int{readRoute: http.StatusServiceUnavailable, writeRoute: http.StatusTooManyRequests} {
		if n := after[route].Statuses[status] - before[route].Statuses[status]; n != 1 {
			t.Errorf("%s answered %d %d times, want once (is the route name right?)", route, status, n)
		}
	}
}

// CheckBadToken configures b with cfg, whose token the server refuses, and checks that a
// write batch and an import fail with an *httpx.AuthError that names the backend and not the
// token, and that the health check reports the server unreachable for authentication.
func CheckBadToken(t *testing.T, b Backend, cfg plugins.Config, w plugins.Write) {
	t.Helper()
	ctx := context.Background()
	if err := b.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	clear := func(what string, err error) {
		t.Helper()
		var ae *httpx.AuthError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), cfg.Name) || !strings.Contains(err.Error(), "authentication failed") || strings.Contains(err.Error(), cfg.Token) {
			t.Errorf("%s with a bad token: %v, want an authentication error naming the backend %q, without the token", what, err, cfg.Name)
		}
	}
	_, err := b.Apply(ctx, []plugins.Write{w})
	clear("Apply", err)
	err = b.Import(ctx, plugins.ImportRequest{AccountID: w.AccountID}, func([]plugins.Observation) error { return nil })
	clear("Import", err)
	h, err := b.CheckHealth(ctx)
	if err != nil || h.Reachable || !strings.Contains(h.Detail, "authentication failed") || strings.Contains(h.Detail, cfg.Token) {
		t.Errorf("health with a bad token: %+v, %v", h, err)
	}
}
