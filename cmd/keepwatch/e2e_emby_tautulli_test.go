package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/api"
	embyfake "github.com/keepwatch/keepwatch/backends/emby/fake"
	tautullifake "github.com/keepwatch/keepwatch/backends/tautulli/fake"
)

// tautulliEmbyRig is keepwatch serving a Tautulli fake (the plays of a Plex
// server without Plex Pass) and an Emby fake with the same movies, for two
// people: alice (Tautulli's owner) and bob.
type tautulliEmbyRig struct {
	daemon
	taut   *tautullifake.Server
	emby   *embyfake.Server
	movies []tautullifake.Item // Tautulli's movies; movie i is Emby's MovieID(i)
	owner  tautullifake.User   // alice on Tautulli
	second tautullifake.User   // bob on Tautulli
	// Emby filters webhooks per user: one destination per person, each
	// relayed to that person's token once keepwatch has issued it.
	fwdAlice, fwdBob *forwarder
}

func newTautulliEmbyRig(t *testing.T) *tautulliEmbyRig {
	r := &tautulliEmbyRig{daemon: newDaemon(t), fwdAlice: &forwarder{}, fwdBob: &forwarder{}}
	aliceHooks := httptest.NewServer(r.fwdAlice)
	t.Cleanup(aliceHooks.Close)
	bobHooks := httptest.NewServer(r.fwdBob)
	t.Cleanup(bobHooks.Close)

	r.taut = tautullifake.New(tautullifake.Options{Seed: 5, Users: 2, Movies: 30, Shows: 0, PlaysPerUser: 25, Now: time.Now()})
	tautSrv := httptest.NewServer(r.taut)
	t.Cleanup(tautSrv.Close)
	r.owner = r.taut.Owner()
	r.second = r.taut.Users()[2]
	for _, it := range r.taut.Items() {
		if it.Type == "movie" {
			r.movies = append(r.movies, it)
		}
	}

	var embyURL string
	r.emby, embyURL = func() (*embyfake.Server, string) {
		s, ts := embyfake.Start(t, embyfake.Options{Seed: 5, Movies: len(r.movies),
			Users: []embyfake.User{{Name: "alice", Admin: true}, {Name: "bob"}},
			Webhooks: []embyfake.WebhookTarget{
				{URL: aliceHooks.URL, Users: []string{"alice"}},
				{URL: bobHooks.URL, Users: []string{"bob"}},
			}})
		return s, ts.URL
	}()
	// The same movies on both: Emby's get the ids Tautulli's webhooks carry.
	for i, it := range r.movies {
		if it.IMDb == "" || it.TMDb == "" {
			t.Fatalf("Tautulli movie %d (%s) has no imdb/tmdb id", i, it.Title)
		}
		if err := r.emby.SetProviderIDs(r.emby.MovieID(i), map[string]string{"Imdb": it.IMDb, "Tmdb": it.TMDb}); err != nil {
			t.Fatal(err)
		}
	}

	r.writeConfig("@every 1h", fmt.Sprintf(`backends:
  - {name: tautulli, type: tautulli, url: %q, token: %q}
  - {name: emby, type: emby, url: %q, token: %q}
users:
  auto_map: false
  list:
    - {name: alice, accounts: {tautulli: "%d", emby: alice}}
    - {name: bob, accounts: {tautulli: "%d", emby: bob}}
`, tautSrv.URL, r.taut.APIKey(), embyURL, r.emby.APIKey(), r.owner.ID, r.second.ID))
	return r
}

// watchedOnTautulli reports whether user has a completed play of movie i in
// Tautulli's history.
func (r *tautulliEmbyRig) watchedOnTautulli(user tautullifake.User, i int) bool {
	for _, p := range r.taut.History(user.ID) {
		if p.RatingKey == r.movies[i].RatingKey && r.taut.WatchedStatus(p) == 1 {
			return true
		}
	}
	return false
}

func (r *tautulliEmbyRig) embyData(user string, i int) embyfake.UserData {
	d, err := r.emby.UserData(user, r.emby.MovieID(i))
	if err != nil {
		r.t.Fatal(err)
	}
	return d
}

// delivered waits until n deliveries of backend have been processed and
// none is pending, and returns them, newest first.
func (r *tautulliEmbyRig) delivered(backend string, n int) []api.Delivery {
	var ds []api.Delivery
	r.eventually(fmt.Sprintf("%d %s deliveries processed", n, backend), 30*time.Second, func() bool {
		ds = nil
		if r.api(http.MethodGet, "/webhooks/deliveries?backend="+backend+"&limit=1000", nil, &ds) != http.StatusOK {
			return false
		}
		for _, d := range ds {
			if d.Status == "pending" {
				return false
			}
		}
		return len(ds) >= n
	})
	return ds
}

// TestE2ETautulliAndEmby runs the real binary with its tautulli and emby
// plugins: Tautulli's history and webhooks reach each person's Emby account
// and nobody else's, and Emby's per-user webhooks are told apart.
func TestE2ETautulliAndEmby(t *testing.T) {
	r := newTautulliEmbyRig(t)
	ctx := context.Background()
	r.start()

	t.Run("first import brings each person's Tautulli plays to their Emby account", func(t *testing.T) {
		// Tautulli's history rows carry only the Plex guid: legacy-agent
		// movies (com.plexapp.agents.imdb://…) name their IMDb id and
		// match Emby's; new-agent ones (plex://movie/…) match nothing
		// until a Plex backend or a webhook supplies the external ids.
		// keepwatch imports when it starts; `keepwatch import` right after
		// follows that run (or makes its own, had it ended).
		if code, out := r.run("import"); code != 0 {
			t.Fatalf("keepwatch import: exit %d\n%s", code, out)
		}
		checked := 0
		for i, it := range r.movies {
			if !strings.HasPrefix(it.GUID, "com.plexapp.agents.imdb://") {
				continue
			}
			for _, p := range []struct {
				tautulli tautullifake.User
				emby     string
			}{{r.owner, "alice"}, {r.second, "bob"}} {
				if r.watchedOnTautulli(p.tautulli, i) {
					checked++
					r.eventually(fmt.Sprintf("%s's play of %s on Emby", p.emby, it.Title), 10*time.Second, func() bool { return r.embyData(p.emby, i).Played })
				}
			}
		}
		if checked == 0 {
			t.Fatal("the seed gives no completed play of a legacy-agent movie: pick another seed")
		}
		for i := range r.movies {
			for _, p := range []struct {
				tautulli tautullifake.User
				emby     string
			}{{r.owner, "alice"}, {r.second, "bob"}} {
				if r.embyData(p.emby, i).Played && !r.watchedOnTautulli(p.tautulli, i) {
					t.Errorf("movie %d is played for %s on Emby without a play of theirs on Tautulli", i, p.emby)
				}
			}
		}
	})

	t.Run("keepwatch import --full finds nothing new", func(t *testing.T) {
		// The first import's writes are done, those that found the item and
		// those that did not (which mark it absent on Emby).
		r.eventually("the first import's writes", 30*time.Second, func() bool {
			var q struct{ Outbox map[string]int }
			return r.api(http.MethodGet, "/queue", nil, &q) == http.StatusOK && q.Outbox["emby"] == 0
		})
		code, out := r.run("import", "--full")
		if code != 0 {
			t.Fatalf("keepwatch import --full: exit %d\n%s", code, out)
		}
		var runs []struct {
			Kind   string
			Counts map[string]int
		}
		r.api(http.MethodGet, "/runs?limit=1", nil, &runs)
		if len(runs) != 1 || runs[0].Counts["changed"] != 0 || runs[0].Counts["queued"] != 0 {
			t.Errorf("the full import after the first: %+v, want nothing changed or queued\n%s", runs, out)
		}
	})

	urls := r.webhookURLs("*/tautulli", "alice/emby", "bob/emby")
	r.fwdAlice.set(urls["alice/emby"])
	r.fwdBob.set(urls["bob/emby"])
	client := &http.Client{Timeout: 10 * time.Second}

	// unplayed finds a movie neither person has played anywhere yet.
	used := map[int]bool{}
	unplayed := func() int {
		for i := range r.movies {
			if !used[i] && !r.embyData("alice", i).Played && !r.embyData("bob", i).Played &&
				!r.watchedOnTautulli(r.owner, i) && !r.watchedOnTautulli(r.second, i) {
				used[i] = true
				return i
			}
		}
		t.Fatal("no unplayed movie left")
		return 0
	}

	t.Run("tautulli watched webhook marks the movie played for that person only", func(t *testing.T) {
		for _, p := range []struct {
			tautulli    tautullifake.User
			emby, other string
		}{{r.owner, "alice", "bob"}, {r.second, "bob", "alice"}} {
			i := unplayed()
			start := time.Now()
			if err := r.taut.SendWebhook(ctx, client, urls["*/tautulli"], tautullifake.Event{Action: "watched", UserID: p.tautulli.ID, RatingKey: r.movies[i].RatingKey}); err != nil {
				t.Fatal(err)
			}
			r.eventually(fmt.Sprintf("movie %d played for %s on Emby", i, p.emby), 10*time.Second, func() bool { return r.embyData(p.emby, i).Played })
			t.Logf("tautulli watched → emby write for %s: %s", p.emby, time.Since(start))
			if r.embyData(p.other, i).Played {
				t.Errorf("movie %d also became played for %s", i, p.other)
			}
		}
	})

	t.Run("tautulli stop webhook carries the resume position", func(t *testing.T) {
		i := unplayed()
		const at = 20 * time.Minute
		if err := r.taut.SendWebhook(ctx, client, urls["*/tautulli"], tautullifake.Event{Action: "stop", UserID: r.owner.ID, RatingKey: r.movies[i].RatingKey, ViewOffset: at}); err != nil {
			t.Fatal(err)
		}
		r.eventually(fmt.Sprintf("movie %d resumes at %s for alice on Emby", i, at), 10*time.Second, func() bool {
			d := r.embyData("alice", i)
			return !d.Played && time.Duration(d.PlaybackPositionTicks*100) == at
		})
		if d := r.embyData("bob", i); d.PlaybackPositionTicks != 0 {
			t.Errorf("bob's position moved too: %+v", d)
		}
	})

	t.Run("emby per-user webhooks change only their person's record", func(t *testing.T) {
		i := unplayed()
		// Emby also sends webhooks for keepwatch's own writes (the earlier
		// subtests'): let those arrive and settle first.
		if err := r.emby.FlushWebhooks(ctx); err != nil {
			t.Fatal(err)
		}
		before := len(r.delivered("emby", 0))
		if err := r.emby.TogglePlayed("bob", r.emby.MovieID(i), true); err != nil {
			t.Fatal(err)
		}
		if err := r.emby.FlushWebhooks(ctx); err != nil {
			t.Fatal(err)
		}
		// Emby sends bob's event to both destinations; alice's carries no
		// User object, so it must not be taken as hers.
		ds := r.delivered("emby", before+2)
		var bob, alice *api.Delivery
		for k := range ds[:2] {
			switch ds[k].User {
			case "bob":
				bob = &ds[k]
			case "alice":
				alice = &ds[k]
			}
		}
		if bob == nil || bob.Status != "applied" {
			t.Errorf("bob's delivery: %+v, want applied", bob)
		}
		if alice == nil || alice.Status != "ignored" || !strings.Contains(alice.Reason, "without User") {
			t.Errorf("the user-less copy on alice's token: %+v, want it ignored, saying it names no user", alice)
		}
		var rec struct{ Watched bool }
		if r.api(http.MethodGet, fmt.Sprintf("/state/%d", r.recordWithGUID("bob", "imdb:"+r.movies[i].IMDb)), nil, &rec) != http.StatusOK || !rec.Watched {
			t.Errorf("bob's record of movie %d: watched %v, want true", i, rec.Watched)
		}
		if r.embyData("alice", i).Played {
			t.Errorf("movie %d became played for alice", i)
		}
	})
}
