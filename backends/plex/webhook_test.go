package plex

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/plugins"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

// checkGolden compares res, as indented JSON, with testdata/golden/<name>.json
// (rewritten with -update).
func checkGolden(t *testing.T, name string, res plugins.WebhookResult) {
	t.Helper()
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it, then review it)", err)
	}
	if diff := cmp.Diff(string(bytes.TrimSpace(want)), string(got)); diff != "" {
		t.Errorf("ParseWebhook result differs from %s (-want +got):\n%s", golden, diff)
	}
}

// TestWebhookFixtures parses every Plex webhook fixture (copied from
// shared/fixtures: plex/ and watchstate/plex_*) as PMS delivers it and
// compares the result with testdata/golden/<fixture>.json. The fixtures' show
// ratingKeys are not on the fake, so episodes keep the show GUID their payload
// carries (grandparentGuid); TestWebhookFromFake covers the show lookup.
func TestWebhookFixtures(t *testing.T) {
	e := newEnv(t, fake.Options{Seed: 3}, nil)
	files, err := filepath.Glob("testdata/*webhook*")
	if err != nil || len(files) < 6 {
		t.Fatalf("webhook fixtures: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			raw := readTestdata(t, name)
			var req plugins.WebhookRequest
			if strings.HasSuffix(name, ".txt") {
				// A raw multipart body: its first line is the boundary.
				first, _, _ := bytes.Cut(raw, []byte("\r\n"))
				h := http.Header{}
				h.Set("Content-Type", "multipart/form-data; boundary="+strings.TrimPrefix(string(first), "--"))
				req = plugins.WebhookRequest{Method: "POST", Headers: h, Body: raw}
			} else {
				req = multipartDelivery(t, raw, true)
			}
			res, err := e.b.ParseWebhook(context.Background(), req)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			for _, o := range res.Observations {
				if err := plugins.CheckObservation(o); err != nil {
					t.Error(err)
				}
			}
			checkGolden(t, strings.TrimSuffix(name, filepath.Ext(name)), res)
		})
	}
}

// TestWebhookFromFake sends the fake's own webhooks (real multipart shape,
// thumb parts, every account on the owner's webhook) through ParseWebhook.
func TestWebhookFromFake(t *testing.T) {
	for _, ownerID := range []string{"official id 1", "plex.tv id"} {
		t.Run(ownerID, func(t *testing.T) {
			sink := newHookSink(t)
			opts := fake.Options{Seed: 5, Movies: 4, Shows: 2, SeasonsPerShow: 1, EpisodesPerSeason: 3, LegacyFraction: -1,
				Webhooks: []fake.Webhook{{URL: sink.ts.URL}}}
			if ownerID == "plex.tv id" {
				probe := fake.MustNew(opts)
				opts.OwnerWebhookAccountID = probe.Owner().ID
			}
			e := newEnv(t, opts, nil)
			ctx := context.Background()
			accounts, err := e.b.ListAccounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			idOf := map[string]string{}
			for _, a := range accounts {
				idOf[a.Name] = a.ID
			}
			ep := e.srv.Items("episode")[0]
			show, _ := e.srv.Item(ep.ShowRatingKey)
			movie := e.srv.Items("movie")[0]
			server := e.srv.MachineIdentifier()

			type want struct {
				event, account string
				progress       time.Duration
				watched        bool
				playing        bool
			}
			steps := []struct {
				act  func() error
				want []want
			}{
				{func() error { return e.srv.Play(ctx, "alice", ep.RatingKey, 90*time.Second) },
					[]want{{"media.play", "alice", 90 * time.Second, false, true}}},
				{func() error { return e.srv.Pause(ctx, "alice", ep.RatingKey, 2*time.Minute) },
					[]want{{"media.pause", "alice", 2 * time.Minute, false, false}}},
				{func() error { return e.srv.Play(ctx, "alice", ep.RatingKey, 3*time.Minute) },
					[]want{{"media.resume", "alice", 3 * time.Minute, false, true}}},
				{func() error { return e.srv.Stop(ctx, "alice", ep.RatingKey, 4*time.Minute) },
					[]want{{"media.stop", "alice", 4 * time.Minute, false, false}}},
				{func() error { return e.srv.Scrobble(ctx, "admin", movie.RatingKey) },
					[]want{{"media.scrobble", "admin", 0, true, false}}},
				{func() error { return e.srv.Scrobble(ctx, "kid", ep.RatingKey) },
					[]want{{"media.scrobble", "kid", 0, true, false}}},
			}
			for i, s := range steps {
				if err := s.act(); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				for _, w := range s.want {
					res, err := e.b.ParseWebhook(ctx, sink.next(t))
					if err != nil {
						t.Fatalf("step %d %s: %v", i, w.event, err)
					}
					if res.Event != w.event || res.ServerID != server || res.AccountID != idOf[w.account] || res.AccountName != w.account || len(res.Observations) != 1 {
						t.Fatalf("step %d: result %+v; want event %s, server %s, account %s (%s), one observation", i, res, w.event, server, idOf[w.account], w.account)
					}
					o := res.Observations[0]
					if o.AccountID != res.AccountID {
						t.Errorf("step %d: observation account %q, result account %q", i, o.AccountID, res.AccountID)
					}
					st := o.State
					if st.Watched != w.watched || st.WatchedKnown != w.watched || st.Playing != w.playing {
						t.Errorf("step %d %s: state %+v; want watched %v playing %v", i, w.event, st, w.watched, w.playing)
					}
					if !w.watched && (!st.ProgressKnown || st.Progress != w.progress) {
						t.Errorf("step %d %s: progress %v (known %v), want %v", i, w.event, st.Progress, st.ProgressKnown, w.progress)
					}
					if w.watched && st.PlayedAt.IsZero() {
						t.Errorf("step %d %s: a scrobble without PlayedAt", i, w.event)
					}
					if o.Kind == plugins.KindEpisode {
						// The show's external ids come from the lookup of
						// grandparentRatingKey: the payload has only plex://show.
						for _, g := range show.GUIDs {
							ng := strings.Replace(g, "://", ":", 1)
							if !slices.Contains(o.ShowGUIDs, ng) {
								t.Errorf("step %d: show GUIDs %v lack %s", i, o.ShowGUIDs, ng)
							}
						}
						if o.Season != ep.Season || o.Episode != ep.Episode || o.ShowID != ep.ShowRatingKey {
							t.Errorf("step %d: episode S%dE%d of %s, want S%dE%d of %s", i, o.Season, o.Episode, o.ShowID, ep.Season, ep.Episode, ep.ShowRatingKey)
						}
					}
				}
			}
			// One lookup served every episode event: the show is cached.
			if n := e.requests(fake.RouteMetadata); n != 1 {
				t.Errorf("show looked up %d times for 5 episode events, want 1 (cached)", n)
			}
		})
	}
}

func TestWebhookIgnored(t *testing.T) {
	sink := newHookSink(t)
	e := newEnv(t, fake.Options{Seed: 9, Webhooks: []fake.Webhook{{URL: sink.ts.URL}}}, nil)
	ctx := context.Background()
	movie := e.srv.Items("movie")[0].RatingKey
	for _, ev := range []string{"media.rate", "library.on.deck", "admin.database.backup", "device.new", "media.weird"} {
		if err := e.srv.Emit(ctx, ev, "alice", movie); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range []string{"media.rate", "library.on.deck", "admin.database.backup", "device.new", "media.weird"} {
		res, err := e.b.ParseWebhook(ctx, sink.next(t))
		if err != nil {
			t.Fatalf("%s: %v", ev, err)
		}
		if res.Event != ev || res.Ignored == "" || len(res.Observations) != 0 {
			t.Errorf("%s: %+v, want ignored with a reason", ev, res)
		}
	}
}

func TestShowCacheBounded(t *testing.T) {
	c := newShowCache(3, time.Hour)
	for _, k := range []string{"a", "b", "c", "d"} {
		c.put(k, showInfo{title: k})
	}
	if _, ok := c.get("a"); ok || c.len() != 3 {
		t.Errorf("after 4 puts into a cache of 3: len %d, oldest still there: %v", c.len(), ok)
	}
	c.get("b") // b becomes the most recent
	c.put("e", showInfo{})
	if _, ok := c.get("b"); !ok {
		t.Error("the most recently used entry was evicted")
	}
	if _, ok := c.get("c"); ok {
		t.Error("the least recently used entry survived")
	}
	old := newShowCache(3, -time.Second)
	old.put("x", showInfo{})
	if _, ok := old.get("x"); ok {
		t.Error("an expired entry was served")
	}
}
