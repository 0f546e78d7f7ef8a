package plex

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/plugins"
)

func userID(t *testing.T, srv *fake.Server, name string) string {
	t.Helper()
	u, err := srv.User(name)
	if err != nil {
		t.Fatal(err)
	}
	return itoa(int64(u.ID))
}

// TestApplyPerUser: each account's writes land in that account's state only.
func TestApplyPerUser(t *testing.T) {
	clk := newClock()
	e := newEnv(t, libOpts(clk), nil)
	ctx := context.Background()
	movies, eps := e.srv.Items("movie"), e.srv.Items("episode")
	if err := e.srv.MarkWatched("bob", movies[1].RatingKey, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.MarkWatched("kid", eps[0].RatingKey, clk.Now()); err != nil {
		t.Fatal(err)
	}
	writes := []plugins.Write{
		{AccountID: userID(t, e.srv, "alice"), ItemID: movies[0].RatingKey, Kind: plugins.WriteWatched},
		{AccountID: userID(t, e.srv, "bob"), ItemID: movies[1].RatingKey, Kind: plugins.WriteUnwatched},
		{AccountID: userID(t, e.srv, "teen"), ItemID: eps[2].RatingKey, Kind: plugins.WriteProgress, Progress: 4 * time.Minute},
		{AccountID: "1", ItemID: movies[2].RatingKey, Kind: plugins.WriteProgress, Progress: 90 * time.Second, Duration: time.Hour},
		{AccountID: userID(t, e.srv, "kid"), ItemID: eps[0].RatingKey, Kind: plugins.WriteUnwatched},
	}
	out, err := e.b.Apply(ctx, writes)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o.Status != plugins.OutcomeOK {
			t.Errorf("write %d %+v: %+v", i, writes[i], o)
		}
	}
	check := func(user, rk string, want fake.State) {
		t.Helper()
		got, err := e.srv.State(user, rk)
		if err != nil {
			t.Fatal(err)
		}
		if got.ViewCount != want.ViewCount || got.ViewOffsetMS != want.ViewOffsetMS {
			t.Errorf("%s's state of %s: %+v, want views %d offset %dms", user, rk, got, want.ViewCount, want.ViewOffsetMS)
		}
	}
	check("alice", movies[0].RatingKey, fake.State{ViewCount: 1})
	check("admin", movies[0].RatingKey, fake.State{})
	check("bob", movies[1].RatingKey, fake.State{})
	check("teen", eps[2].RatingKey, fake.State{ViewOffsetMS: 240_000})
	check("alice", eps[2].RatingKey, fake.State{})
	check("admin", movies[2].RatingKey, fake.State{ViewOffsetMS: 90_000})
	check("kid", eps[0].RatingKey, fake.State{})

	// Applying again changes nothing: no second view from /:/scrobble.
	if _, err := e.b.Apply(ctx, writes); err != nil {
		t.Fatal(err)
	}
	check("alice", movies[0].RatingKey, fake.State{ViewCount: 1})
	wantRequests(t, e, fake.RouteScrobble, 1, "one watched write applied twice scrobbles once")
}

func wantRequests(t *testing.T, e *env, route string, want int, why string) {
	t.Helper()
	if n := e.requests(route); n != want {
		t.Errorf("%d requests to %s, want %d: %s", n, route, want, why)
	}
}

func TestApplySkipsPlaying(t *testing.T) {
	e := newEnv(t, fake.Options{Seed: 12}, nil)
	ctx := context.Background()
	rk := e.srv.Items("movie")[0].RatingKey
	if err := e.srv.Play(ctx, "alice", rk, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	writes := []plugins.Write{
		{AccountID: userID(t, e.srv, "alice"), ItemID: rk, Kind: plugins.WriteProgress, Progress: time.Minute},
		{AccountID: userID(t, e.srv, "bob"), ItemID: rk, Kind: plugins.WriteProgress, Progress: time.Minute},
		{AccountID: userID(t, e.srv, "alice"), ItemID: rk, Kind: plugins.WriteWatched},
	}
	out, err := e.b.Apply(ctx, writes)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Status != plugins.OutcomeSkippedPlaying || out[1].Status != plugins.OutcomeOK || out[2].Status != plugins.OutcomeOK {
		t.Errorf("outcomes %+v: want alice's progress skipped (she plays it), bob's written, alice's watched written", out)
	}
	wantRequests(t, e, fake.RouteTimeline, 1, "only bob's progress is written: alice plays the item")
	wantRequests(t, e, fake.RouteSessions, 1, "sessions are read once per batch")
}

func TestApplyRetriesAndFailures(t *testing.T) {
	e := newEnv(t, fake.Options{Seed: 13}, nil)
	ctx := context.Background()
	rk := e.srv.Items("movie")[0].RatingKey
	owner := userID(t, e.srv, "admin")

	e.srv.Fail(fake.RouteScrobble, fake.Failure{Status: http.StatusServiceUnavailable, Times: 2})
	e.srv.Fail(fake.RouteTimeline, fake.Failure{Status: http.StatusTooManyRequests, Times: 1, RetryAfter: "0"})
	e.srv.Fail(fake.RouteUnscrobble, fake.Failure{Status: http.StatusInternalServerError, Times: 1})
	out, err := e.b.Apply(ctx, []plugins.Write{
		{AccountID: owner, ItemID: rk, Kind: plugins.WriteWatched},
		{AccountID: owner, ItemID: e.srv.Items("movie")[1].RatingKey, Kind: plugins.WriteProgress, Progress: time.Minute},
		{AccountID: owner, ItemID: "999999", Kind: plugins.WriteWatched},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Status != plugins.OutcomeOK || out[1].Status != plugins.OutcomeOK {
		t.Errorf("503/429 were not retried: %+v", out[:2])
	}
	if o := out[2]; o.Status != plugins.OutcomeFailed || !o.Permanent || !strings.Contains(o.Message, "999999") {
		t.Errorf("missing item: %+v, want a permanent failure naming it", o)
	}
	if st, _ := e.srv.State("admin", rk); st.ViewCount != 1 {
		t.Errorf("after retries the item has %d views, want 1", st.ViewCount)
	}
	out, err = e.b.Apply(ctx, []plugins.Write{{AccountID: owner, ItemID: rk, Kind: plugins.WriteUnwatched}})
	if err != nil || out[0].Status != plugins.OutcomeOK {
		t.Errorf("500 on unscrobble not retried: %+v %v", out, err)
	}

	// The server refuses every token: the batch did not run, and the error
	// says which backend's credentials are wrong.
	e.srv.Fail(fake.RouteAll, fake.Failure{Status: http.StatusUnauthorized})
	_, err = e.b.Apply(ctx, []plugins.Write{{AccountID: owner, ItemID: rk, Kind: plugins.WriteWatched}})
	if err == nil || !strings.Contains(err.Error(), "plex-test: authentication failed") {
		t.Errorf("Apply with refused credentials: %v; want an authentication error naming plex-test", err)
	}
	e.srv.ClearFailures()

	// A server that is down fails the batch as unavailable.
	e.ts.Close()
	_, err = e.b.Apply(ctx, []plugins.Write{{AccountID: owner, ItemID: rk, Kind: plugins.WriteWatched}})
	if err == nil || !strings.Contains(err.Error(), plugins.ErrUnavailable.Error()) {
		t.Errorf("Apply with the server down: %v; want ErrUnavailable", err)
	}
}

// TestApplyConcurrencyBounded counts requests in flight at the server.
func TestApplyConcurrencyBounded(t *testing.T) {
	srv := fake.MustNew(fake.Options{Seed: 14, Movies: 12})
	var inFlight, peak atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if r.URL.Path == "/:/scrobble" {
			time.Sleep(5 * time.Millisecond) // let writes overlap
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	e := newEnvOn(t, srv, ts, map[string]string{optConcurrency: "2"})
	var writes []plugins.Write
	for _, m := range srv.Items("movie") {
		writes = append(writes, plugins.Write{AccountID: "1", ItemID: m.RatingKey, Kind: plugins.WriteWatched})
	}
	out, err := e.b.Apply(context.Background(), writes)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o.Status != plugins.OutcomeOK {
			t.Errorf("write %d: %+v", i, o)
		}
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("%d requests in flight at once with concurrency 2", p)
	}
}
