package tautulli_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keepwatch/keepwatch/backends/tautulli/fake"
	"github.com/keepwatch/keepwatch/plugins"
)

func plexGUID(agent string) string { return "plex:" + strings.TrimPrefix(agent, "plex://") }

func TestWebhookFromFake(t *testing.T) {
	c, f := configured(t, fake.Options{Seed: 3})
	owner := f.Owner()
	movie, episode := firstOf(f, "movie"), firstOf(f, "episode")
	acct := itoa(owner.ID)
	movieObs := plugins.Observation{
		AccountID: acct, AccountName: owner.Username, ItemID: itoa(movie.RatingKey), LibraryID: "1", LibraryName: "Movies",
		Kind: plugins.KindMovie, Title: movie.Title, Duration: movie.Duration,
		GUIDs: []string{"imdb:" + movie.IMDb, plexGUID(movie.GUID), "tmdb:" + movie.TMDb},
	}
	episodeObs := plugins.Observation{
		AccountID: acct, AccountName: owner.Username, ItemID: itoa(episode.RatingKey), LibraryID: "2", LibraryName: "TV Shows",
		Kind: plugins.KindEpisode, Title: episode.Title, Duration: episode.Duration, GUIDs: []string{plexGUID(episode.GUID)},
		ShowID: itoa(episode.ShowRatingKey), ShowTitle: episode.ShowTitle, Season: episode.Season, Episode: episode.Episode,
		// The template's ids are the show's: they match by show + numbers.
		ShowGUIDs: []string{"imdb:" + episode.IMDb, "tmdb:" + episode.TMDb, "tvdb:" + episode.TVDb},
	}
	with := func(o plugins.Observation, event string, s plugins.State) plugins.Observation {
		o.Event, o.State = event, s
		return o
	}
	progress := func(playing bool) plugins.State {
		return plugins.State{ProgressKnown: true, Progress: 754 * time.Second, InferCompletion: true, Playing: playing}
	}
	result := func(event string, obs ...plugins.Observation) plugins.WebhookResult {
		return plugins.WebhookResult{ServerID: f.MachineID(), AccountID: acct, AccountName: owner.Username, Event: event, Observations: obs}
	}
	tests := []struct {
		name string
		ev   fake.Event
		want plugins.WebhookResult
	}{
		{"movie play", fake.Event{Action: "play", RatingKey: movie.RatingKey},
			result("tautulli.play", with(movieObs, "tautulli.play", progress(true)))},
		{"movie pause", fake.Event{Action: "pause", RatingKey: movie.RatingKey},
			result("tautulli.pause", with(movieObs, "tautulli.pause", progress(false)))},
		{"movie resume", fake.Event{Action: "resume", RatingKey: movie.RatingKey},
			result("tautulli.resume", with(movieObs, "tautulli.resume", progress(true)))},
		{"movie stop", fake.Event{Action: "stop", RatingKey: movie.RatingKey},
			result("tautulli.stop", with(movieObs, "tautulli.stop", progress(false)))},
		{"movie watched", fake.Event{Action: "watched", RatingKey: movie.RatingKey},
			result("tautulli.watched", with(movieObs, "tautulli.watched", plugins.State{WatchedKnown: true, Watched: true, PlayedAt: received}))},
		{"episode stop", fake.Event{Action: "stop", RatingKey: episode.RatingKey},
			result("tautulli.stop", with(episodeObs, "tautulli.stop", progress(false)))},
		{"episode watched", fake.Event{Action: "watched", RatingKey: episode.RatingKey},
			result("tautulli.watched", with(episodeObs, "tautulli.watched", plugins.State{WatchedKnown: true, Watched: true, PlayedAt: received}))},
		// Recently added names no user: the item alone, in Added.
		{"movie created", fake.Event{Action: "created", RatingKey: movie.RatingKey},
			added(f, with(itemOnly(movieObs), "tautulli.created", plugins.State{}))},
		{"episode created", fake.Event{Action: "created", RatingKey: episode.RatingKey},
			added(f, with(itemOnly(episodeObs), "tautulli.created", plugins.State{}))},
	}
	// The Webhook Method the guide gives (PUT) and Tautulli's default (POST)
	// deliver the same thing.
	for _, method := range []string{http.MethodPut, http.MethodPost} {
		for _, tt := range tests {
			t.Run(method+" "+tt.name, func(t *testing.T) {
				tt.ev.UserID, tt.ev.ViewOffset = owner.ID, 754*time.Second
				req := fakeHook(t, f, tt.ev)
				req.Method = method
				got, err := c.ParseWebhook(t.Context(), req)
				if err != nil {
					t.Fatalf("ParseWebhook: %v", err)
				}
				if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
				if err := plugins.CheckWebhookResult(got); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// itemOnly is o without its account: what an addition says of the item.
func itemOnly(o plugins.Observation) plugins.Observation {
	o.AccountID, o.AccountName = "", ""
	return o
}

// added is the result of a created delivery of the fake: no account, one addition.
func added(f *fake.Server, o plugins.Observation) plugins.WebhookResult {
	return plugins.WebhookResult{ServerID: f.MachineID(), Event: "tautulli.created", Added: []plugins.Observation{o}}
}

// TestAddedThroughFake sends the fake's "recently added" notifications over
// HTTP, as Tautulli does, and parses what arrived: exactly one addition with
// the item's GUIDs (an episode's own Plex guid, its show's external ids).
func TestAddedThroughFake(t *testing.T) {
	c, f := configured(t, fake.Options{Seed: 5})
	movie, episode := firstOf(f, "movie"), firstOf(f, "episode")
	tests := []struct {
		item      fake.Item
		guids     []string
		showGUIDs []string
	}{
		{movie, []string{"imdb:" + movie.IMDb, plexGUID(movie.GUID), "tmdb:" + movie.TMDb}, nil},
		{episode, []string{plexGUID(episode.GUID)}, []string{"imdb:" + episode.IMDb, "tmdb:" + episode.TMDb, "tvdb:" + episode.TVDb}},
	}
	for _, tt := range tests {
		t.Run(tt.item.Type, func(t *testing.T) {
			got := sendThroughHTTP(t, f, fake.Event{Action: "created", RatingKey: tt.item.RatingKey})
			res, err := c.ParseWebhook(t.Context(), got)
			if err != nil {
				t.Fatalf("ParseWebhook: %v\n%s", err, got.Body)
			}
			if len(res.Added) != 1 || len(res.Observations) != 0 || res.Ignored != "" || res.AccountID != "" {
				t.Fatalf("result %+v, want exactly one addition and no account", res)
			}
			if err := plugins.CheckWebhookResult(res); err != nil {
				t.Error(err)
			}
			a := res.Added[0]
			if a.ItemID != itoa(tt.item.RatingKey) || !cmp.Equal(a.GUIDs, tt.guids) || !cmp.Equal(a.ShowGUIDs, tt.showGUIDs, cmpopts.EquateEmpty()) {
				t.Errorf("added %s %v show %v, want %d %v show %v", a.ItemID, a.GUIDs, a.ShowGUIDs, tt.item.RatingKey, tt.guids, tt.showGUIDs)
			}
		})
	}
}

// sendThroughHTTP has the fake send ev over HTTP, as Tautulli's Webhook
// agent does, and answers the one request that arrived.
func sendThroughHTTP(t *testing.T, f *fake.Server, ev fake.Event) plugins.WebhookRequest {
	t.Helper()
	var got []plugins.WebhookRequest
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		got = append(got, plugins.WebhookRequest{Method: r.Method, Headers: r.Header, Body: body, ReceivedAt: received})
	}))
	defer sink.Close()
	if err := f.SendWebhook(t.Context(), sink.Client(), sink.URL, ev); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	return got[0]
}

// TestWebhookMethods sends a watched notification with each "Webhook
// Method" Tautulli's agent offers. PUT (the guide's) and POST (Tautulli's
// default) are read; the others are refused with a reason naming the fix.
// Each delivery carries the headers of the guide's JSON Headers template
// (testdata/webhook_headers_template_watchstate.json) over Tautulli's
// Content-Type.
func TestWebhookMethods(t *testing.T) {
	headersTemplate := fixture(t, "webhook_headers_template_watchstate.json")
	tests := []struct {
		method   string
		accepted bool
	}{
		{http.MethodPut, true},
		{http.MethodPost, true},
		{http.MethodGet, false},
		{http.MethodPatch, false},
		{http.MethodDelete, false},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			c, f := configured(t, fake.Options{Seed: 8, WebhookMethod: tt.method})
			movie := firstOf(f, "movie")
			ev := fake.Event{Action: "watched", UserID: f.Owner().ID, RatingKey: movie.RatingKey, ViewOffset: 80 * time.Minute}
			req := sendThroughHTTP(t, f, ev)
			if req.Method != tt.method {
				t.Fatalf("the fake sent %s, want %s", req.Method, tt.method)
			}

			params, err := f.Params(ev)
			if err != nil {
				t.Fatal(err)
			}
			rawHeaders, err := fake.Substitute(headersTemplate, params)
			if err != nil {
				t.Fatalf("headers template: %v", err)
			}
			var want map[string]string
			if err := json.Unmarshal(rawHeaders, &want); err != nil || len(want) == 0 {
				t.Fatalf("headers template %s is not a JSON object of strings: %v", rawHeaders, err)
			}
			want["Content-Type"] = "application/json"
			for k, v := range want {
				if got := req.Headers.Get(k); got != v {
					t.Errorf("header %s = %q, want %q (from the JSON Headers template)", k, got, v)
				}
			}

			res, err := c.ParseWebhook(t.Context(), req)
			if !tt.accepted {
				var re *plugins.RejectedError
				if !errors.As(err, &re) || !strings.Contains(re.Reason, "method "+tt.method) || !strings.Contains(re.Reason, "set the Tautulli webhook method to PUT or POST") {
					t.Errorf("ParseWebhook by %s: %+v, %v; want a rejection naming the method and telling to set PUT or POST", tt.method, res, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWebhook by %s: %v", tt.method, err)
			}
			if len(res.Observations) != 1 || res.Observations[0].ItemID != itoa(movie.RatingKey) || !res.Observations[0].State.Watched {
				t.Errorf("result by %s: %+v; want the movie watched", tt.method, res)
			}
		})
	}
}

func TestWebhookFixtures(t *testing.T) {
	c, _ := configured(t, fake.Options{})
	t.Run("watchstate watched", func(t *testing.T) {
		got, err := c.ParseWebhook(t.Context(), put(fixture(t, "tautulli_webhook_watched.json"), http.Header{"User-Agent": {"Tautulli/2.0"}}))
		if err != nil {
			t.Fatal(err)
		}
		// "tt123" is not an IMDb id (too short): skipped, not fatal.
		want := plugins.WebhookResult{
			ServerID: "plex-server-1", AccountID: "1", AccountName: "Test User", Event: "tautulli.watched",
			Observations: []plugins.Observation{{
				AccountID: "1", AccountName: "Test User", ItemID: "1", Kind: plugins.KindMovie, Event: "tautulli.watched",
				State: plugins.State{WatchedKnown: true, Watched: true, PlayedAt: received},
			}},
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
	})
	t.Run("unsubstituted template is a test notification", func(t *testing.T) {
		got, err := c.ParseWebhook(t.Context(), put(fixture(t, "webhook_data_template_watchstate.json"), nil))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got.Ignored, "test notification") || len(got.Observations) != 0 {
			t.Errorf("template as sent by Tautulli's test button: %+v; want ignored as a test notification", got)
		}
	})
}

// hookBody is a delivery of the template with some values; everything else
// the template holds is left out, as a user's trimmed template would.
func hookBody(event, account, typ, extra string) []byte {
	return []byte(`{"event":"` + event + `","Account":{"id":"` + account + `","title":"alice"},"Server":{"uuid":"abc"},` +
		`"Metadata":{"ratingKey":"42","type":"` + typ + `"` + extra + `}}`)
}

func TestWebhookEdges(t *testing.T) {
	c, _ := configured(t, fake.Options{})
	tests := []struct {
		name    string
		body    []byte
		check   func(t *testing.T, r plugins.WebhookResult)
		ignored string // prefix of the reason, when ignored
	}{
		{"absent values are absent", hookBody("tautulli.stop", "7", "movie",
			`,"viewOffset":"None","duration":"","title":"{episode_name}","librarySectionID":"{section_id}","Guids":{"imdb":"None","tmdb":"","tvdb":"{thetvdb_id}"}`),
			func(t *testing.T, r plugins.WebhookResult) {
				o := r.Observations[0]
				if o.State.ProgressKnown || o.Duration != 0 || o.Title != "" || o.LibraryID != "" || len(o.GUIDs) != 0 {
					t.Errorf("absent values were taken as values: %+v", o)
				}
			}, ""},
		{"offset zero is a position", hookBody("tautulli.play", "7", "movie", `,"viewOffset":"0"`),
			func(t *testing.T, r plugins.WebhookResult) {
				if s := r.Observations[0].State; !s.ProgressKnown || s.Progress != 0 || !s.Playing {
					t.Errorf("play at 0: state %+v, want progress known at 0, playing", s)
				}
			}, ""},
		{"specials are season 0", hookBody("tautulli.stop", "7", "episode", `,"parentIndex":"0","index":"3","Guids":{"tvdb":"81189"}`),
			func(t *testing.T, r plugins.WebhookResult) {
				o := r.Observations[0]
				if o.Season != 0 || o.Episode != 3 || !cmp.Equal(o.ShowGUIDs, []string{"tvdb:81189"}) {
					t.Errorf("special: S%d E%d show %v, want S0 E3 show [tvdb:81189]", o.Season, o.Episode, o.ShowGUIDs)
				}
			}, ""},
		{"episode without numbers keeps no show guids", hookBody("tautulli.stop", "7", "episode", `,"parentIndex":"{season_num}","Guids":{"tvdb":"81189"}`),
			func(t *testing.T, r plugins.WebhookResult) {
				if o := r.Observations[0]; len(o.ShowGUIDs) != 0 {
					t.Errorf("show guids %v without episode numbers would match the wrong episode", o.ShowGUIDs)
				}
			}, ""},
		{"legacy tv agent names show and numbers", hookBody("tautulli.watched", "7", "episode",
			`,"guid":"com.plexapp.agents.thetvdb://81189/2/5?lang=en","Guids":{"imdb":"tt0903747"}`),
			func(t *testing.T, r plugins.WebhookResult) {
				o := r.Observations[0]
				if o.Season != 2 || o.Episode != 5 || !cmp.Equal(o.ShowGUIDs, []string{"imdb:tt0903747", "tvdb:81189"}) || len(o.GUIDs) != 0 {
					t.Errorf("legacy episode: S%d E%d show %v own %v", o.Season, o.Episode, o.ShowGUIDs, o.GUIDs)
				}
			}, ""},
		{"legacy movie agent and Guid array", hookBody("tautulli.watched", "7", "movie",
			`,"guid":"com.plexapp.agents.imdb://tt0137523?lang=en","Guid":[{"id":"tmdb://550"}],"Guids":{"imdb":"tt0137523"}`),
			func(t *testing.T, r plugins.WebhookResult) {
				if o := r.Observations[0]; !cmp.Equal(o.GUIDs, []string{"imdb:tt0137523", "tmdb:550"}) {
					t.Errorf("movie guids %v", o.GUIDs)
				}
			}, ""},
		{"malformed plex guid is skipped", hookBody("tautulli.watched", "7", "movie", `,"guid":"com.plexapp.agents.imdb://12?lang=en","Guids":{"tmdb":"550"}`),
			func(t *testing.T, r plugins.WebhookResult) {
				if o := r.Observations[0]; !cmp.Equal(o.GUIDs, []string{"tmdb:550"}) {
					t.Errorf("movie guids %v, want the good one kept", o.GUIDs)
				}
			}, ""},
		{"upper-case event", hookBody("Tautulli.Watched", "7", "movie", ""),
			func(t *testing.T, r plugins.WebhookResult) {
				if r.Event != "tautulli.watched" || !r.Observations[0].State.Watched {
					t.Errorf("event %q state %+v", r.Event, r.Observations[0].State)
				}
			}, ""},
		{"created needs no account", hookBody("tautulli.created", "", "episode", `,"parentIndex":"2","index":"5","viewOffset":"0","guid":"plex://episode/5d9c0874ffd9ef001e99607a","Guids":{"tvdb":"81189"}`),
			func(t *testing.T, r plugins.WebhookResult) {
				want := plugins.WebhookResult{ServerID: "abc", Event: "tautulli.created", Added: []plugins.Observation{{
					ItemID: "42", Kind: plugins.KindEpisode, GUIDs: []string{"plex:episode/5d9c0874ffd9ef001e99607a"},
					ShowGUIDs: []string{"tvdb:81189"}, Season: 2, Episode: 5, Event: "tautulli.created",
				}}}
				if diff := cmp.Diff(want, r); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
			}, ""},
		{"created by the local user is still an addition", hookBody("tautulli.created", "0", "movie", `,"Guids":{"imdb":"tt0133093"}`),
			func(t *testing.T, r plugins.WebhookResult) {
				if a := r.Added[0]; r.AccountID != "" || r.AccountName != "" || !cmp.Equal(a.GUIDs, []string{"imdb:tt0133093"}) {
					t.Errorf("result %+v, want an addition of the movie and no account", r)
				}
			}, ""},
		{"created show is grouped", hookBody("tautulli.created", "", "show", ""), nil, "tautulli.created of a show names none of its episodes"},
		{"created season is grouped", hookBody("tautulli.created", "", "season", ""), nil, "tautulli.created of a season names none of its episodes"},
		{"created track", hookBody("tautulli.created", "", "track", ""), nil, `media type "track" is not synced`},
		{"season played", hookBody("tautulli.stop", "7", "season", ""), nil, `media type "season" is not synced`},
		{"local user", hookBody("tautulli.stop", "0", "movie", ""), nil, "played by Tautulli's Local"},
		{"track", hookBody("tautulli.stop", "7", "track", ""), nil, `media type "track" is not synced`},
		{"other action", hookBody("tautulli.buffer", "7", "movie", ""), nil, "tautulli.buffer is not a play-state event"},
		{"test button", hookBody("tautulli.{action}", "{user_id}", "{media_type}", ""), nil, "test notification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.ParseWebhook(t.Context(), put(tt.body, nil))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if tt.ignored != "" {
				if !strings.HasPrefix(got.Ignored, tt.ignored) || len(got.Observations)+len(got.Added) != 0 {
					t.Fatalf("result %+v, want ignored with %q…", got, tt.ignored)
				}
				return
			}
			if got.Ignored != "" || len(got.Observations)+len(got.Added) != 1 {
				t.Fatalf("result %+v, want one observation or one addition", got)
			}
			if err := plugins.CheckWebhookResult(got); err != nil {
				t.Error(err)
			}
			tt.check(t, got)
		})
	}
}

func TestWebhookRejections(t *testing.T) {
	c, _ := configured(t, fake.Options{})
	tests := []struct {
		name   string
		req    plugins.WebhookRequest
		reason string
	}{
		{"form body", put([]byte("event=tautulli.play"), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}), "keep application/json"},
		{"no account", put([]byte(`{"event":"tautulli.stop","Metadata":{"ratingKey":"1","type":"movie"}}`), nil), "Account.id is missing"},
		{"no rating key", put([]byte(`{"event":"tautulli.stop","Account":{"id":"1"},"Metadata":{"type":"movie"}}`), nil), "Metadata.ratingKey is missing"},
		{"created without rating key", put([]byte(`{"event":"tautulli.created","Metadata":{"type":"episode"}}`), nil), "Metadata.ratingKey is missing"},
		{"created without media type", put([]byte(`{"event":"tautulli.created","Metadata":{"ratingKey":"1"}}`), nil), "Metadata.type is missing"},
		{"not tautulli", put([]byte(`{"event":"media.play"}`), nil), `event "media.play" is not a Tautulli event`},
		{"patch", plugins.WebhookRequest{Method: http.MethodPatch, Body: []byte(`{}`)}, "set the Tautulli webhook method to PUT or POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ParseWebhook(t.Context(), tt.req)
			var re *plugins.RejectedError
			if !errors.As(err, &re) || !strings.Contains(re.Reason, tt.reason) {
				t.Errorf("ParseWebhook: %v; want a rejection saying %q", err, tt.reason)
			}
		})
	}
}
