package jellyfin

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeservertest"
	"github.com/keepwatch/keepwatch/backends/jellyfin/fake"
	"github.com/keepwatch/keepwatch/plugins"
)

func apply(t *testing.T, b *Backend, ws ...plugins.Write) []plugins.WriteOutcome {
	t.Helper()
	out, err := b.Apply(context.Background(), ws)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return out
}

func TestApplyWrites(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 30, 45, 0, time.UTC)
	for _, tc := range []struct {
		version, format, wantDate string
	}{
		{fake.Version10_11, "iso", "datePlayed=2024-05-01T12%3A30%3A45.000Z"},
		{fake.Version12, "compact", "datePlayed=20240501123045"},
		{fake.Version10_8, "iso", "datePlayed=2024-05-01T12%3A30%3A45.000Z"},
	} {
		t.Run(tc.version+"/"+tc.format, func(t *testing.T) {
			s, ts := fake.Start(t, smallLibrary(tc.version))
			b := configured(t, s, ts, map[string]string{"date_played_format": tc.format})
			alice := s.UserID("alice")
			movie, ep := s.MovieID(0), s.EpisodeID(1, 2, 3)
			if err := s.SetUserData("alice", ep, fake.UserData{Played: true, PlayCount: 2, LastPlayedDate: at.Add(-time.Hour), PlaybackPositionTicks: 5}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetUserData("alice", movie, fake.UserData{}); err != nil {
				t.Fatal(err)
			}
			ws := []plugins.Write{
				{AccountID: alice, ItemID: movie, Kind: plugins.WriteWatched, PlayedAt: at},
				{AccountID: alice, ItemID: ep, Kind: plugins.WriteUnwatched},
			}
			for round := 0; round < 2; round++ {
				for i, o := range apply(t, b, ws...) {
					if o.Status != plugins.OutcomeOK {
						t.Errorf("round %d write %d: %+v", round, i, o)
					}
				}
			}
			ud, _ := s.UserData("alice", movie)
			if !ud.Played || !ud.LastPlayedDate.Equal(at) || ud.PlayCount != 1 {
				t.Errorf("movie after marking played twice: %+v, want played at %s with one play", ud, at)
			}
			ud, _ = s.UserData("alice", ep)
			if ud.Played || ud.PlayCount != 0 || !ud.LastPlayedDate.IsZero() || ud.PlaybackPositionTicks != 0 {
				t.Errorf("episode after marking unplayed: %+v", ud)
			}
			var sawDate bool
			for _, r := range s.Requests() {
				if r.Method == http.MethodPost && strings.Contains(r.URL, "PlayedItems") {
					sawDate = strings.Contains(r.URL, tc.wantDate)
					if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "MediaBrowser ") || !strings.Contains(a, `Token="`+s.APIKey()+`"`) {
						t.Errorf("Authorization header %q", a)
					}
					if tc.version == fake.Version10_8 != strings.HasPrefix(r.URL, "/Users/") {
						t.Errorf("route %s on %s", r.URL, tc.version)
					}
				}
			}
			if !sawDate {
				t.Errorf("no mark-played request carried %s", tc.wantDate)
			}

			out := apply(t, b, plugins.Write{AccountID: alice, ItemID: movie, Kind: plugins.WriteProgress, Progress: 90 * time.Second})
			if tc.version == fake.Version10_8 {
				if out[0].Status != plugins.OutcomeFailed || !out[0].Permanent || !strings.Contains(out[0].Message, "10.9") {
					t.Errorf("progress on 10.8: %+v, want a permanent failure naming 10.9", out[0])
				}
				return
			}
			ud, _ = s.UserData("alice", movie)
			if out[0].Status != plugins.OutcomeOK || ud.PlaybackPositionTicks != client.Ticks(90*time.Second) || !ud.Played {
				t.Errorf("progress write: %+v, user data %+v (watched flag must stay)", out[0], ud)
			}
		})
	}
}

func TestApplySparesItemsPlayingNow(t *testing.T) {
	s, ts := fake.Start(t, smallLibrary(""))
	b := configured(t, s, ts, nil)
	alice := s.UserID("alice")
	playing, idle := s.MovieID(2), s.MovieID(3)
	p, err := s.StartPlayback("alice", playing, fake.PlaybackOptions{Position: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := s.UserData("alice", playing)
	out := apply(t, b,
		plugins.Write{AccountID: alice, ItemID: playing, Kind: plugins.WriteProgress, Progress: 10 * time.Minute},
		plugins.Write{AccountID: alice, ItemID: idle, Kind: plugins.WriteProgress, Progress: 10 * time.Minute},
	)
	if out[0].Status != plugins.OutcomeSkippedPlaying || out[1].Status != plugins.OutcomeOK {
		t.Errorf("outcomes %+v, want skipped_playing then ok", out)
	}
	if after, _ := s.UserData("alice", playing); after.PlaybackPositionTicks != before.PlaybackPositionTicks {
		t.Errorf("the playing item's position changed: %d → %d", before.PlaybackPositionTicks, after.PlaybackPositionTicks)
	}
	if _, err := p.Stop(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if out := apply(t, b, plugins.Write{AccountID: alice, ItemID: playing, Kind: plugins.WriteProgress, Progress: 10 * time.Minute}); out[0].Status != plugins.OutcomeOK {
		t.Errorf("after playback stopped: %+v", out[0])
	}
}

func TestApplyFailures(t *testing.T) {
	s, ts := fake.Start(t, smallLibrary(""))
	alice := s.UserID("alice")
	w := plugins.Write{AccountID: alice, ItemID: s.MovieID(1), Kind: plugins.WriteUnwatched}
	_ = s.SetUserData("alice", w.ItemID, fake.UserData{Played: true})

	t.Run("retries 429 and 503", func(t *testing.T) {
		fakeservertest.CheckRetried(t, s, configured(t, s, ts, nil), w, "GET /Items/{itemId}", "DELETE /UserPlayedItems/{itemId}")
	})
	t.Run("5xx that lasts fails for later", func(t *testing.T) {
		b := configured(t, s, ts, map[string]string{"retries": "1"})
		remove := s.InjectFault(fake.Fault{Route: "GET /Items/{itemId}", Status: 500})
		defer remove()
		out := apply(t, b, w)
		if out[0].Status != plugins.OutcomeFailed || out[0].Permanent {
			t.Errorf("outcome %+v, want a failure to retry later", out[0])
		}
	})
	t.Run("missing item fails alone", func(t *testing.T) {
		b := configured(t, s, ts, nil)
		out := apply(t, b, plugins.Write{AccountID: alice, ItemID: strings.Repeat("ab", 16), Kind: plugins.WriteWatched}, w)
		if out[0].Status != plugins.OutcomeFailed || !out[0].Permanent || !strings.Contains(out[0].Message, "404") {
			t.Errorf("missing item: %+v", out[0])
		}
		if out[1].Status != plugins.OutcomeOK {
			t.Errorf("valid write beside it: %+v", out[1])
		}
	})
	t.Run("bad token fails the batch clearly", func(t *testing.T) {
		fakeservertest.CheckBadToken(t, New(plugins.Env{}).(*Backend), plugins.Config{Name: "jelly", URL: ts.URL, Token: "not-the-api-key"}, w)
	})
}

func TestHealthAndAccounts(t *testing.T) {
	s, ts := fake.Start(t, smallLibrary(fake.Version12))
	b := configured(t, s, ts, nil)
	h, err := b.CheckHealth(context.Background())
	if err != nil || !h.Reachable || h.ServerID != s.ServerID() || h.ServerVersion != fake.Version12 {
		t.Errorf("health %+v, %v", h, err)
	}
	accts, err := b.ListAccounts(context.Background())
	if err != nil || len(accts) != 2 || accts[0].Name != "admin" || !accts[0].Admin || accts[1].ID != s.UserID("alice") || accts[1].Admin {
		t.Errorf("accounts %+v, %v", accts, err)
	}
}

func TestResolve(t *testing.T) {
	s, ts := fake.Start(t, smallLibrary(""))
	b := configured(t, s, ts, map[string]string{"page_size": "3"})
	movie, _ := s.Item(s.MovieID(4))
	ep, _ := s.Item(s.EpisodeID(1, 2, 2))
	series, _ := s.Item(ep.SeriesID)
	q := []plugins.ResolveQuery{
		{Kind: plugins.KindMovie, GUIDs: []string{"imdb:" + strings.ToLower(movie.ProviderIDs["Imdb"])}},
		{Kind: plugins.KindEpisode, ShowGUIDs: []string{"tvdb:" + series.ProviderIDs["Tvdb"]}, Season: 2, Episode: 2},
		{Kind: plugins.KindEpisode, GUIDs: []string{"tvdb:" + ep.ProviderIDs["Tvdb"]}},
		{Kind: plugins.KindMovie, GUIDs: []string{"imdb:tt9999999"}},
		{Kind: plugins.KindEpisode, ShowGUIDs: []string{"tvdb:" + series.ProviderIDs["Tvdb"]}, Season: 9, Episode: 9},
	}
	for _, acct := range []string{s.UserID("alice"), ""} {
		got, err := b.Resolve(context.Background(), plugins.ResolveRequest{AccountID: acct, Queries: q})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{movie.ID, ep.ID, ep.ID, "", ""}
		for i := range want {
			if got[i].ItemID != want[i] {
				t.Errorf("account %q query %d: %q, want %q", acct, i, got[i].ItemID, want[i])
			}
		}
		if acct != "" && got[0].LibraryName != "Movies" {
			t.Errorf("library of the movie: %+v", got[0])
		}
	}
}
