package emby

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/backends/emby/fake"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeserver/openapicheck"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeservertest"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

func library(version string) fake.Options {
	return fake.Options{Version: version, Seed: 23, Movies: 8, Series: 2, SeasonsPerSeries: 2, EpisodesPerSeason: 4,
		PlayedFraction: 0.25, ResumeFraction: 0.25,
		Users: []fake.User{{Name: "admin", Admin: true}, {Name: "carol"}}}
}

func TestConformance(t *testing.T) {
	samples := map[string]plugins.WebhookRequest{}
	for _, f := range []string{"webhook_playback.stop_movie_4.7.13.json", "webhook_playback.start_episode_4.7.13.json",
		"emby_webhook_playback_start_v49.json", "emby_webhook_legacy_48_data_wrapper.json", "emby_webhook_item_markplayed.json",
		"fake_library.new_Movie_4.8.json", "fake_library.new_Episode_4.8.json", "fake_library.new_Season_4.8.json", "fake_library.new_Series_4.8.json"} {
		samples[f+" as json"] = delivery(t, f, "json")
		samples[f+" as multipart"] = delivery(t, f, "multipart")
	}
	for _, version := range []string{fake.Version4_8, fake.Version4_9, fake.Version4_7} {
		t.Run(version, func(t *testing.T) {
			plugintest.Run(t, plugintest.Suite{
				Factory: New,
				Config: func(t *testing.T) plugins.Config {
					s, ts := fake.Start(t, library(version))
					return plugins.Config{Name: "emby-home", Type: Type, URL: ts.URL, Token: s.APIKey()}
				},
				BadConfigs: map[string]plugins.Config{
					"no token":        {Type: Type, URL: "http://emby:8096"},
					"relative prefix": {Type: Type, URL: "http://emby:8096", Token: "k", Options: map[string]string{"path_prefix": "emby"}},
					"jellyfin option": {Type: Type, URL: "http://emby:8096", Token: "k", Options: map[string]string{"date_played_format": "iso"}},
					"bad retries":     {Type: Type, URL: "http://emby:8096", Token: "k", Options: map[string]string{"retries": "-1"}},
				},
				Webhooks: samples,
				Garbage: map[string]plugins.WebhookRequest{
					"multipart without data": {Method: http.MethodPost, Headers: http.Header{"Content-Type": {"multipart/form-data; boundary=b"}}, Body: []byte("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n")},
				},
			})
		})
	}
}

// TestEmbyWire checks what is Emby's own on the wire, against the fake and Emby's OpenAPI
// document: the /emby prefix, the /Users/{UserId}/... routes, DatePlayed as yyyyMMddHHmmss,
// list Fields asking for UserDataLastPlayedDate (4.8 drops it otherwise), and a delta
// import that reads the changes, not the library nor its resumable set.
func TestEmbyWire(t *testing.T) {
	clock := fakeservertest.NewClock(time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC))
	o := library("")
	o.Movies, o.Series, o.SeasonsPerSeries, o.EpisodesPerSeason, o.ResumeFraction, o.Now = 1500, 10, 3, 20, 0.1, clock.Now
	s, ts := fake.Start(t, o)
	b := New(plugins.Env{}).(*Backend)
	ctx := context.Background()
	if err := b.Configure(ctx, plugins.Config{Name: "emby-home", URL: ts.URL, Token: s.APIKey(), Options: map[string]string{"page_size": "500"}}); err != nil {
		t.Fatal(err)
	}
	carol := s.UserID("carol")
	h, err := b.CheckHealth(ctx)
	if err != nil || !h.Reachable || h.ServerID != s.ServerID() {
		t.Fatalf("health %+v %v", h, err)
	}
	var full []plugins.Observation
	if err := b.Import(ctx, plugins.ImportRequest{AccountID: carol}, func(p []plugins.Observation) error {
		full = append(full, p...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(full) != 1500+10*3*20 {
		t.Fatalf("imported %d", len(full))
	}
	for _, o := range full {
		ud, _ := s.UserData("carol", o.ItemID)
		if ud.Played != o.State.Watched || (ud.Played && !o.State.PlayedAt.Equal(ud.LastPlayedDate)) || ud.PlayCount != o.State.PlayCount {
			t.Fatalf("item %s: imported %+v, server has %+v", o.ItemID, o.State, ud)
		}
		if o.Kind == plugins.KindEpisode && len(o.ShowGUIDs) == 0 {
			t.Fatalf("episode %s without its series' GUIDs", o.ItemID)
		}
	}

	since := clock.Now()
	clock.Advance(time.Hour)
	at := time.Date(2025, 2, 1, 0, 30, 0, 0, time.UTC)
	out, err := b.Apply(ctx, []plugins.Write{
		{AccountID: carol, ItemID: s.MovieID(7), Kind: plugins.WriteWatched, PlayedAt: at},
		{AccountID: carol, ItemID: s.EpisodeID(3, 2, 1), Kind: plugins.WriteWatched, PlayedAt: at.Add(time.Minute)},
		{AccountID: carol, ItemID: s.MovieID(9), Kind: plugins.WriteProgress, Progress: 5 * time.Minute},
		{AccountID: carol, ItemID: "99999999", Kind: plugins.WriteUnwatched},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Status != plugins.OutcomeOK || out[1].Status != plugins.OutcomeOK || out[2].Status != plugins.OutcomeOK || !out[3].Permanent {
		t.Errorf("outcomes %+v", out)
	}
	if ud, _ := s.UserData("carol", s.MovieID(7)); !ud.Played || !ud.LastPlayedDate.Equal(at) {
		t.Errorf("marked played: %+v", ud)
	}
	// A progress change made by playing (LastPlayedDate moves at the start). Our own progress
	// write above (POST UserData) does not move it, so the delta does not see it again.
	watching := s.MovieID(11)
	_ = s.SetUserData("carol", watching, fake.UserData{})
	p, err := s.StartPlayback("carol", watching, fake.PlaybackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Stop(20 * time.Minute); err != nil {
		t.Fatal(err)
	}
	s.ResetStats()
	delta := map[string]bool{}
	if err := b.Import(ctx, plugins.ImportRequest{AccountID: carol, Since: since}, func(p []plugins.Observation) error {
		for _, o := range p {
			delta[o.ItemID] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("delta import: %d items read in %d requests (library: %d items)", s.ItemsReturned(), s.RequestCount(), s.ItemCount())
	want := map[string]bool{s.MovieID(7): true, s.EpisodeID(3, 2, 1): true, watching: true}
	if diff := cmp.Diff(want, delta); diff != "" || s.ItemsReturned() > 50 {
		t.Errorf("delta import: %d items read; items (-want +got):\n%s", s.ItemsReturned(), diff)
	}

	reqs := s.Requests()
	for _, r := range reqs {
		if !strings.HasPrefix(r.URL, "/emby/") {
			t.Errorf("request without the /emby prefix: %s", r.URL)
		}
		if r.Header.Get("X-Emby-Token") != s.APIKey() {
			t.Errorf("%s without X-Emby-Token", r.URL)
		}
		if strings.Contains(r.URL, "/PlayedItems/") && r.Method == http.MethodPost && !strings.Contains(r.URL, "DatePlayed=2025020100") {
			t.Errorf("mark played without a yyyyMMddHHmmss date: %s", r.URL)
		}
		if r.Route == "GET /Users/{UserId}/Items" && strings.Contains(r.URL, "EnableUserData=true") && !strings.Contains(r.URL, "UserDataLastPlayedDate") {
			t.Errorf("list without UserDataLastPlayedDate: %s", r.URL)
		}
	}
	for _, f := range openapicheck.MustLoad(openapicheck.Emby4_8).CheckRequests(reqs) {
		t.Errorf("%s %s: %v", f.Request.Method, f.Request.URL, f)
	}
}

func TestPathPrefixRoot(t *testing.T) {
	s, ts := fake.Start(t, library(""))
	b := New(plugins.Env{}).(*Backend)
	ctx := context.Background()
	if err := b.Configure(ctx, plugins.Config{Name: "e", URL: ts.URL + "/emby/", Token: s.APIKey(), Options: map[string]string{"path_prefix": "/"}}); err != nil {
		t.Fatal(err)
	}
	accts, err := b.ListAccounts(ctx)
	if err != nil || len(accts) != 2 {
		t.Fatalf("accounts %+v, %v", accts, err)
	}
	if r := s.Requests(); len(r) != 1 || r[0].URL != "/emby/Users/Query" {
		t.Errorf("requests %+v", r)
	}
}

// TestFakeWebhooks parses what the fake's native webhooks send for playback, marks (ours
// included) and a library addition.
func TestFakeWebhooks(t *testing.T) {
	for _, format := range []fake.WebhookFormat{fake.WebhookJSON, fake.WebhookMultipart} {
		sink := fakeservertest.NewSink(t)
		o := library("")
		o.Webhooks = []fake.WebhookTarget{{URL: sink.URL, Format: format, Users: []string{"carol"}}}
		s, ts := fake.Start(t, o)
		movie := s.MovieID(3)
		_ = s.SetUserData("carol", movie, fake.UserData{})
		p, err := s.StartPlayback("carol", movie, fake.PlaybackOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_ = p.Pause(10 * time.Minute)
		_ = p.Unpause(10 * time.Minute)
		it, _ := s.Item(movie)
		if _, err := p.Stop(it.RunTime); err != nil {
			t.Fatal(err)
		}
		b := New(plugins.Env{}).(*Backend)
		_ = b.Configure(context.Background(), plugins.Config{Name: "e", URL: ts.URL, Token: s.APIKey()})
		if _, err := b.Apply(context.Background(), []plugins.Write{{AccountID: s.UserID("carol"), ItemID: movie, Kind: plugins.WriteUnwatched}}); err != nil {
			t.Fatal(err)
		}
		added, err := s.AddItem(fake.NewItem{Type: "Movie", Name: "New"})
		if err != nil {
			t.Fatal(err)
		}
		s.SendTestNotification()
		var events []string
		for _, h := range sink.Drain(t, s) {
			res, err := ParseWebhook(plugins.WebhookRequest{Headers: h.Header, Body: h.Body})
			if err != nil {
				t.Fatalf("%v\n%s", err, h.Body)
			}
			ev := res.Event
			if res.Ignored != "" {
				ev += " (ignored)"
			}
			for _, a := range res.Added {
				if a.ItemID != added.ID || a.Title != "New" || a.Kind != plugins.KindMovie {
					t.Errorf("added %+v, want the new movie %s", a, added.ID)
				}
				ev += " added"
			}
			for _, o := range res.Observations {
				if o.AccountID != s.UserID("carol") || o.ItemID != movie {
					t.Errorf("observation %+v", o)
				}
				if o.State.Watched {
					ev += " watched"
				}
			}
			events = append(events, ev)
		}
		want := "playback.start playback.pause playback.unpause playback.stop watched item.markunplayed library.new added system.notificationtest (ignored)"
		if got := strings.Join(events, " "); got != want {
			t.Errorf("format %d: events %q, want %q", format, got, want)
		}
	}
}

// TestLibraryNewThroughFake: what the fake's native webhooks send for each library addition
// parses into exactly one Added entry with the item's GUIDs (a series and a season into none).
func TestLibraryNewThroughFake(t *testing.T) {
	for name, format := range map[string]fake.WebhookFormat{"json": fake.WebhookJSON, "multipart": fake.WebhookMultipart} {
		t.Run(name, func(t *testing.T) {
			sink := fakeservertest.NewSink(t)
			o := library("")
			o.Webhooks = []fake.WebhookTarget{{URL: sink.URL, Format: format, Users: []string{"carol"}}}
			s, _ := fake.Start(t, o)
			fakeservertest.CheckAdditions(t, s, sink, ParseWebhook, "library.new")
		})
	}
}

// configured builds a backend configured for the fake, in process.
func configured(t *testing.T, s *fake.Server, url string) *Backend {
	t.Helper()
	b := New(plugins.Env{}).(*Backend)
	if err := b.Configure(context.Background(), plugins.Config{Name: "emby-home", Type: Type, URL: url, Token: s.APIKey()}); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportLibraries(t *testing.T) {
	s, ts := fake.Start(t, library(""))
	fakeservertest.CheckLibraryFilter(t, s, configured(t, s, ts.URL), s.UserID("carol"))
}

// TestApplyFailures: Emby's routes answering 429 and 503 are retried, and a token Emby
// refuses (401 "Access token is invalid or expired.") gives a clear authentication error.
func TestApplyFailures(t *testing.T) {
	s, ts := fake.Start(t, library(""))
	w := plugins.Write{AccountID: s.UserID("carol"), ItemID: s.MovieID(1), Kind: plugins.WriteUnwatched}
	t.Run("retries 429 and 503", func(t *testing.T) {
		if err := s.SetUserData("carol", w.ItemID, fake.UserData{Played: true}); err != nil {
			t.Fatal(err)
		}
		fakeservertest.CheckRetried(t, s, configured(t, s, ts.URL), w, "GET /Users/{UserId}/Items/{Id}", "DELETE /Users/{UserId}/PlayedItems/{Id}")
		if ud, _ := s.UserData("carol", w.ItemID); ud.Played {
			t.Errorf("still played after the write: %+v", ud)
		}
	})
	t.Run("bad token fails clearly", func(t *testing.T) {
		fakeservertest.CheckBadToken(t, New(plugins.Env{}).(*Backend), plugins.Config{Name: "emby-home", URL: ts.URL, Token: "not-the-api-key"}, w)
	})
}
