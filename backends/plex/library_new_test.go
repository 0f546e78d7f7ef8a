package plex

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/plugins"
)

// newItems are what a scan adds in the library.new tests: a movie, an episode
// of a show the library has (ShowRatingKey filled in by the caller), a whole
// show and a whole season. Episode 40 and season 9 are beyond what the tests'
// generated libraries hold.
func newItems(show string) []struct {
	name string
	spec fake.ItemSpec
} {
	return []struct {
		name string
		spec fake.ItemSpec
	}{
		{"movie", fake.ItemSpec{Type: "movie", Title: "Fresh Movie", Year: 2025, GUIDs: []string{"imdb://tt9900001", "tmdb://990001"}}},
		{"episode", fake.ItemSpec{Type: "episode", ShowRatingKey: show, Season: 1, Episode: 40}},
		{"show", fake.ItemSpec{Type: "show", Title: "Whole Show", GUIDs: []string{"imdb://tt9900002", "tmdb://990002", "tvdb://99002"}, Seasons: 2, Episodes: 2}},
		{"season", fake.ItemSpec{Type: "season", ShowRatingKey: show, Season: 9, Episodes: 3}},
	}
}

// addNewItems adds newItems to srv, which sends library.new for each to its
// webhooks, and returns the items.
func addNewItems(t testing.TB, srv *fake.Server) []fake.Item {
	t.Helper()
	var out []fake.Item
	for _, n := range newItems(srv.Items("show")[0].RatingKey) {
		it, err := srv.AddItem(context.Background(), n.spec)
		if err != nil {
			t.Fatalf("add %s: %v", n.name, err)
		}
		out = append(out, it)
	}
	return out
}

// libraryNewOpts is a small library whose new-agent shows keep their external
// ids on the show only, so an episode's show GUIDs need the lookup.
func libraryNewOpts(clk *clock) fake.Options {
	return fake.Options{Seed: 21, Movies: 3, Shows: 2, SeasonsPerShow: 1, EpisodesPerSeason: 2, LegacyFraction: -1, Now: clk.Now}
}

// TestWebhookLibraryNew sends the fake's own library.new deliveries (what
// AddItem makes after a scan) through ParseWebhook and compares each result
// with testdata/golden/library.new_<item>.json, then checks it against the
// fake's library: every new movie or episode once, a show or season as its
// episodes, each with its show's external ids, no account and no state.
func TestWebhookLibraryNew(t *testing.T) {
	clk := newClock()
	e := newEnv(t, libraryNewOpts(clk), nil)
	sink := newHookSink(t)
	if err := e.srv.AddWebhook(fake.Webhook{URL: sink.ts.URL}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	added := addNewItems(t, e.srv)
	deliveries := e.srv.WebhookDeliveries()
	if len(deliveries) != len(added) {
		t.Fatalf("%d webhooks for %d added items", len(deliveries), len(added))
	}
	for i, n := range newItems("") {
		t.Run(n.name, func(t *testing.T) {
			d, item := deliveries[i], added[i]
			if d.Event != "library.new" || !d.Thumb {
				t.Fatalf("delivery %+v; want library.new with a thumb", d)
			}
			e.resetRequests()
			res, err := e.b.ParseWebhook(ctx, sink.next(t))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			checkGolden(t, "library.new_"+n.name, res)
			if lookups := e.requests(fake.RouteMetadata); lookups > 1 {
				t.Errorf("the show was looked up %d times for one delivery; want at most once (cached)", lookups)
			}

			if res.Event != "library.new" || res.ServerID != e.srv.MachineIdentifier() || res.Ignored != "" || len(res.Observations) != 0 {
				t.Errorf("result %+v; want library.new from server %s with added items only", res, e.srv.MachineIdentifier())
			}
			var want []fake.Item // the movies and episodes the delivery announces
			for _, it := range e.srv.Items("") {
				if it.RatingKey == item.RatingKey && (it.Type == "movie" || it.Type == "episode") ||
					it.Type == "episode" && (it.ShowRatingKey == item.RatingKey || it.SeasonRatingKey == item.RatingKey) {
					want = append(want, it)
				}
			}
			if len(res.Added) != len(want) || len(want) == 0 {
				t.Fatalf("%d added items, want %d (%+v)", len(res.Added), len(want), want)
			}
			for j, o := range res.Added {
				if err := plugins.CheckAddedItem(o); err != nil {
					t.Error(err)
				}
				if o.Event != "library.new" || o.Duration != ms(want[j].DurationMS) {
					t.Errorf("added %d: event %q, duration %v; want library.new, %dms", j, o.Event, o.Duration, want[j].DurationMS)
				}
				show, _ := e.srv.Item(want[j].ShowRatingKey)
				checkItem(t, want[j], show, o)
			}
		})
	}
}

// TestWebhookLibraryNewNotSynced: what library.new announces but keepwatch
// cannot use is ignored with a reason, a broken payload is rejected naming
// the field, and a server that cannot answer the lookup is ErrUnavailable so
// the delivery is retried.
func TestWebhookLibraryNewNotSynced(t *testing.T) {
	clk := newClock()
	opts := libraryNewOpts(clk)
	e := newEnv(t, opts, nil)
	sink := newHookSink(t)
	if err := e.srv.AddWebhook(fake.Webhook{URL: sink.ts.URL}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	addNewItems(t, e.srv)
	var show plugins.WebhookRequest // the library.new of the whole show
	for _, n := range newItems("") {
		if req := sink.next(t); n.name == "show" {
			show = req
		}
	}

	t.Run("gone", func(t *testing.T) {
		// The same server before the scan: the show's ratingKey is unknown.
		before := newEnv(t, opts, nil)
		res, err := before.b.ParseWebhook(ctx, show)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Ignored, "no longer has it") || len(res.Added) != 0 {
			t.Errorf("library.new of a show the server no longer has: %+v", res)
		}
	})

	// allLeaves of a movie lists nothing, as of a season emptied since the scan.
	movie := e.srv.Items("movie")[0].RatingKey
	ignored := map[string]struct{ payload, why string }{
		"track":        {`{"event":"library.new","Server":{"uuid":"x"},"Metadata":{"ratingKey":"5","type":"track","title":"Song"}}`, "only movies and episodes"},
		"photo":        {`{"event":"library.new","Server":{"uuid":"x"},"Metadata":{"ratingKey":"6","type":"photo"}}`, "only movies and episodes"},
		"empty season": {`{"event":"library.new","Server":{"uuid":"x"},"Metadata":{"ratingKey":"` + movie + `","type":"season"}}`, "lists no episodes"},
	}
	for name, c := range ignored {
		t.Run("ignored "+name, func(t *testing.T) {
			res, err := e.b.ParseWebhook(ctx, rawMultipart(t, []byte(c.payload)))
			if err != nil || !strings.Contains(res.Ignored, c.why) || len(res.Added) != 0 {
				t.Errorf("library.new of a %s: %+v, %v; want ignored: %s", name, res, err, c.why)
			}
		})
	}

	rejected := map[string]string{
		"Metadata.ratingKey": `{"event":"library.new","Server":{"uuid":"x"},"Metadata":{"type":"movie"}}`,
		"Metadata.type":      `{"event":"library.new","Server":{"uuid":"x"},"Metadata":{"ratingKey":"5"}}`,
		"Server.uuid":        `{"event":"library.new","Metadata":{"ratingKey":"5","type":"movie"}}`,
	}
	for field, payload := range rejected {
		t.Run("no "+field, func(t *testing.T) {
			_, err := e.b.ParseWebhook(ctx, rawMultipart(t, []byte(payload)))
			var re *plugins.RejectedError
			if !errors.As(err, &re) || !strings.Contains(re.Reason, field) {
				t.Errorf("library.new without %s answered %v; want a rejection naming it", field, err)
			}
		})
	}

	t.Run("unavailable", func(t *testing.T) {
		e.srv.Fail(fake.RouteAllLeaves, fake.Failure{Status: 503})
		defer e.srv.ClearFailures()
		_, err := e.b.ParseWebhook(ctx, show)
		if !errors.Is(err, plugins.ErrUnavailable) {
			t.Errorf("allLeaves answering 503: %v; want ErrUnavailable", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		down := newEnv(t, opts, nil)
		down.ts.Close()
		_, err := down.b.ParseWebhook(ctx, show)
		if !errors.Is(err, plugins.ErrUnavailable) {
			t.Errorf("server down: %v; want ErrUnavailable", err)
		}
	})
}
