package jellyfin

import (
	"context"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeserver/openapicheck"
	"github.com/keepwatch/keepwatch/backends/jellyfin/fake"
	"github.com/keepwatch/keepwatch/plugins"
)

// TestRequestsMatchSpec validates every request the backend sends (health, accounts, full
// and delta import, every kind of write, resolve) against Jellyfin's OpenAPI document.
// Known gaps are handled by openapicheck (its package documentation lists them); the
// backend's own are none: it sends only documented parameters. Legacy routes (10.8) are
// validated as their 10.9 equivalents (gap 2).
func TestRequestsMatchSpec(t *testing.T) {
	for _, version := range []string{fake.Version10_11, fake.Version12, fake.Version10_8} {
		t.Run(version, func(t *testing.T) {
			s, ts := fake.Start(t, smallLibrary(version))
			b := configured(t, s, ts, map[string]string{"page_size": "4"})
			ctx := context.Background()
			alice := s.UserID("alice")
			if _, err := b.CheckHealth(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := b.ListAccounts(ctx); err != nil {
				t.Fatal(err)
			}
			full := importAll(t, b, plugins.ImportRequest{AccountID: alice})
			importAll(t, b, plugins.ImportRequest{AccountID: alice, Since: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)})
			if _, err := b.Apply(ctx, []plugins.Write{
				{AccountID: alice, ItemID: full[0].ItemID, Kind: plugins.WriteWatched, PlayedAt: time.Now()},
				{AccountID: alice, ItemID: full[1].ItemID, Kind: plugins.WriteUnwatched},
				{AccountID: alice, ItemID: full[2].ItemID, Kind: plugins.WriteProgress, Progress: time.Minute},
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Resolve(ctx, plugins.ResolveRequest{AccountID: alice, Queries: []plugins.ResolveQuery{
				{Kind: plugins.KindMovie, GUIDs: full[0].GUIDs},
				{Kind: plugins.KindEpisode, ShowGUIDs: []string{"tvdb:1"}, Season: 1, Episode: 1},
			}}); err != nil {
				t.Fatal(err)
			}
			spec := openapicheck.For(s)
			reqs := s.Requests()
			if len(reqs) < 10 {
				t.Fatalf("only %d requests recorded", len(reqs))
			}
			for _, f := range openapicheck.MustLoad(spec).CheckRequests(reqs) {
				t.Errorf("%s %s: %v", f.Request.Method, f.Request.URL, f)
			}
		})
	}
}
