package jellyfin

import (
	"net/http"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeservertest"
	"github.com/keepwatch/keepwatch/backends/jellyfin/fake"
	"github.com/keepwatch/keepwatch/plugins"
)

// TestFakeWebhooks drives the fake (playback with two users in one session, marks, our own
// UserData write, a library addition with a quoted name) and parses what its Webhook plugin
// sends, in each of the plugin's encodings.
func TestFakeWebhooks(t *testing.T) {
	for _, format := range []fake.WebhookFormat{fake.WebhookText, fake.WebhookJSON, fake.WebhookForm} {
		t.Run([]string{"text", "json", "form"}[format], func(t *testing.T) {
			sink := fakeservertest.NewSink(t)
			clock := fakeservertest.NewClock(time.Date(2025, 3, 1, 20, 0, 0, 0, time.UTC))
			o := smallLibrary("")
			o.Users = append(o.Users, fake.User{Name: "bob"})
			o.Now, o.Webhooks = clock.Now, []fake.WebhookTarget{{URL: sink.URL, Format: format}}
			s, ts := fake.Start(t, o)
			alice, bob := s.UserID("alice"), s.UserID("bob")
			movie := s.MovieID(1)
			_ = s.SetUserData("alice", movie, fake.UserData{})
			_ = s.SetUserData("bob", movie, fake.UserData{})

			p, err := s.StartPlayback("alice", movie, fake.PlaybackOptions{AdditionalUsers: []string{"bob"}})
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Hour)
			it, _ := s.Item(movie)
			if done, err := p.Stop(it.RunTime); err != nil || !done { // at the end: completed
				t.Fatalf("stop at the end: completed %v, %v", done, err)
			}
			if err := s.TogglePlayed("alice", movie, false); err != nil {
				t.Fatal(err)
			}
			b := configured(t, s, ts, nil)
			apply(t, b, plugins.Write{AccountID: alice, ItemID: movie, Kind: plugins.WriteProgress, Progress: 3 * time.Minute})
			series := s.SeriesID(0)
			if _, err := s.AddItem(fake.NewItem{Type: "Episode", Name: `The "Big" One`, SeriesID: series, SeasonNumber: 1, EpisodeNumber: 9}); err != nil {
				t.Fatal(err)
			}

			type seen struct {
				event, account string
				state          plugins.State
			}
			var got []seen
			var added []plugins.Observation
			for _, h := range sink.Drain(t, s) {
				res, err := ParseWebhook(plugins.WebhookRequest{Method: http.MethodPost, Headers: h.Header, Body: h.Body})
				if err != nil {
					t.Fatalf("fake webhook rejected: %v\n%s", err, h.Body)
				}
				if res.ServerID != s.ServerID() {
					t.Errorf("server id %q, want %q", res.ServerID, s.ServerID())
				}
				if res.Ignored != "" {
					continue
				}
				added = append(added, res.Added...)
				for _, o := range res.Observations {
					if err := plugins.CheckObservation(o); err != nil {
						t.Error(err)
					}
					if o.ItemID != movie || o.Title == "" || len(o.GUIDs) == 0 || o.Duration == 0 {
						t.Errorf("observation %+v lacks the item", o)
					}
					o.State.EventAt = time.Time{}
					got = append(got, seen{o.Event, o.AccountID, o.State})
				}
			}
			end := clock.Now()
			want := map[string]seen{
				"stop alice":   {"PlaybackStop", alice, plugins.State{WatchedKnown: true, Watched: true, PlayedAt: end, ProgressKnown: true}},
				"stop bob":     {"PlaybackStop", bob, plugins.State{WatchedKnown: true, Watched: true, PlayedAt: end, ProgressKnown: true}},
				"unmark alice": {"UserDataSaved/TogglePlayed", alice, plugins.State{WatchedKnown: true, ProgressKnown: true}},
				"our write":    {"UserDataSaved/UpdateUserData", alice, plugins.State{WatchedKnown: true, ProgressKnown: true, Progress: 3 * time.Minute}},
			}
			for name, w := range want {
				found := false
				for _, g := range got {
					if g == w {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: no observation %+v among %+v", name, w, got)
				}
			}
			starts := 0
			for _, g := range got {
				if g.event == "PlaybackStart" {
					starts++
					if !g.state.Playing || g.state.WatchedKnown {
						t.Errorf("PlaybackStart state %+v: playing, progress only", g.state)
					}
				}
			}
			if starts != 2 {
				t.Errorf("%d PlaybackStart observations, want one per user of the session", starts)
			}
			// The addition: the episode alone, with its series and numbers.
			if len(added) != 1 || added[0].Kind != plugins.KindEpisode || added[0].Title != `The "Big" One` ||
				added[0].ShowID != series || added[0].Season != 1 || added[0].Episode != 9 {
				t.Errorf("added %+v, want the one new episode", added)
			}
		})
	}
}

// TestItemAddedThroughFake: what the fake's Webhook plugin sends for each library addition
// parses into exactly one Added entry with the item's GUIDs (a series and a season into none).
func TestItemAddedThroughFake(t *testing.T) {
	for _, format := range []fake.WebhookFormat{fake.WebhookText, fake.WebhookJSON, fake.WebhookForm} {
		t.Run([]string{"text", "json", "form"}[format], func(t *testing.T) {
			sink := fakeservertest.NewSink(t)
			o := smallLibrary("")
			o.Webhooks = []fake.WebhookTarget{{URL: sink.URL, Format: format}}
			s, _ := fake.Start(t, o)
			fakeservertest.CheckAdditions(t, s, sink, ParseWebhook, "ItemAdded")
		})
	}
}

// TestQuoteEscapeQuirk: the plugin's Escape() puts a backslash before quotes of names.
func TestQuoteEscapeQuirk(t *testing.T) {
	sink := fakeservertest.NewSink(t)
	o := smallLibrary("")
	o.Webhooks = []fake.WebhookTarget{{URL: sink.URL}}
	s, _ := fake.Start(t, o)
	it, err := s.AddItem(fake.NewItem{Type: "Movie", Name: `Say "When"`, Year: 2001, ProviderIDs: map[string]string{"Imdb": "tt0000042"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.TogglePlayed("alice", it.ID, true); err != nil {
		t.Fatal(err)
	}
	hooks := sink.Drain(t, s)
	last := hooks[len(hooks)-1]
	res, err := ParseWebhook(plugins.WebhookRequest{Headers: last.Header, Body: last.Body})
	if err != nil || len(res.Observations) != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	if o := res.Observations[0]; o.Title != `Say "When"` || !o.State.Watched {
		t.Errorf("title %q watched %v; body %s", o.Title, o.State.Watched, last.Body)
	}
}
