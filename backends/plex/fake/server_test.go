package fake_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
)

func TestFailureInjection(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 41, Movies: 3})
	owner := srv.Owner()
	listing := ts.URL + "/library/sections/1/all?type=1"

	srv.Fail(fake.RouteSectionAll, fake.Failure{Status: http.StatusTooManyRequests, Times: 2, RetryAfter: "7"})
	for i := 0; i < 2; i++ {
		r := call(t, http.MethodGet, listing, owner.ServerToken, jsonAccept)
		if r.status != 429 || r.header.Get("Retry-After") != "7" {
			t.Fatalf("attempt %d: %d Retry-After=%q, want 429 and 7", i, r.status, r.header.Get("Retry-After"))
		}
	}
	if r := call(t, http.MethodGet, listing, owner.ServerToken, jsonAccept); r.status != 200 {
		t.Fatalf("third attempt: %d, want 200 once the failures are used up", r.status)
	}

	srv.Fail("/library/metadata/{ids}", fake.Failure{Status: http.StatusUnauthorized})
	for i := 0; i < 3; i++ {
		r := call(t, http.MethodGet, ts.URL+"/library/metadata/1000", owner.ServerToken, jsonAccept)
		if r.status != 401 || string(r.body) != unauthorizedBody {
			t.Fatalf("injected 401: %d %s", r.status, r.body)
		}
	}
	srv.ClearFailures()
	if r := call(t, http.MethodGet, ts.URL+"/library/metadata/1000", owner.ServerToken, jsonAccept); r.status != 200 {
		t.Fatalf("after ClearFailures: %d", r.status)
	}

	srv.Fail(fake.RouteAllPlexTV, fake.Failure{Status: http.StatusServiceUnavailable, Times: 1})
	r := call(t, http.MethodGet, ts.URL+"/api/v2/resources", owner.PlexTVToken, jsonAccept)
	if r.status != 503 || !strings.Contains(string(r.body), `"errors"`) {
		t.Errorf("plex.tv 503: %d %s", r.status, r.body)
	}
	if r := call(t, http.MethodGet, listing, owner.ServerToken, jsonAccept); r.status != 200 {
		t.Errorf("a plex.tv failure hit PMS: %d", r.status)
	}

	srv.Fail(fake.RouteAll, fake.Failure{Status: 500, Times: 1})
	if r := call(t, http.MethodGet, ts.URL+"/identity", "", nil); r.status != 500 || !strings.Contains(string(r.body), "Internal Server Error") {
		t.Errorf("RouteAll 500: %d %s", r.status, r.body)
	}
}

// TestSlowFailureHonoursCancel: a delayed answer lets go of a client that gave up.
// The request's context is cancelled before it is served; a fake that ignored it
// would block here for an hour.
func TestSlowFailureHonoursCancel(t *testing.T) {
	srv := fake.MustNew(fake.Options{Seed: 42, Movies: 1})
	srv.Fail(fake.RouteSections, fake.Failure{Delay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodGet, "/library/sections", nil).WithContext(ctx)
	req.Header.Set("X-Plex-Token", srv.Owner().ServerToken)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Body.Len() != 0 {
		t.Errorf("cancelled slow request got a body: %q", w.Body.String())
	}
	if n := srv.Requests(fake.RouteSections); n != 1 {
		t.Errorf("counted %d requests, want 1", n)
	}
}

func TestStats(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 43, Movies: 23})
	tok := srv.Owner().ServerToken
	for start := 0; start < 30; start += 10 {
		getJSON(t, fmt.Sprintf("%s/library/sections/1/all?type=1&X-Plex-Container-Start=%d&X-Plex-Container-Size=10&X-Plex-Token=%s", ts.URL, start, tok), "")
	}
	call(t, http.MethodHead, ts.URL+"/library/sections/1/all?type=1", tok, nil)
	getJSON(t, ts.URL+"/library/metadata/1000,1001", tok)
	if r := call(t, http.MethodGet, ts.URL+"/library/nonsense", tok, nil); r.status != 404 {
		t.Errorf("unknown path: %d, want 404", r.status)
	}
	call(t, http.MethodGet, ts.URL+"/library/sections", "bad", nil)

	if n := srv.Requests(fake.RouteSectionAll); n != 3 {
		t.Errorf("listing requests %d, want 3", n)
	}
	if n := srv.Requests(fake.RouteSectionCount); n != 1 {
		t.Errorf("HEAD requests %d, want 1", n)
	}
	if n := srv.ItemsServed(fake.RouteSectionAll); n != 23 {
		t.Errorf("items served by listings %d, want 23", n)
	}
	if n := srv.ItemsServed(""); n != 25 {
		t.Errorf("items served in all %d, want 25", n)
	}
	log := srv.RequestLog()
	if len(log) != 7 {
		t.Fatalf("request log has %d entries, want 7", len(log))
	}
	if n := srv.Requests(fake.RouteUnknown); n != 1 {
		t.Errorf("unknown-path requests %d, want 1", n)
	}
	for _, rec := range log {
		if strings.Contains(rec.Query, tok) {
			t.Errorf("token recorded in %+v", rec)
		}
	}
	if last := log[len(log)-1]; last.Status != 401 || last.User != "" || last.Route != fake.RouteSections {
		t.Errorf("last record %+v", last)
	}
	if first := log[0]; first.User != "admin" || first.Status != 200 {
		t.Errorf("first record %+v", first)
	}
	srv.ResetStats()
	if srv.Requests(fake.RouteSectionAll) != 0 || srv.ItemsServed("") != 0 || len(srv.RequestLog()) != 0 {
		t.Error("ResetStats left counts")
	}
}

// TestConcurrentUse runs readers, writers, playback and library changes at once
// (meaningful under -race).
func TestConcurrentUse(t *testing.T) {
	hook := newHookReceiver(t)
	srv, ts := start(t, fake.Options{Seed: 44, Movies: 50, Shows: 2, SeasonsPerShow: 2, EpisodesPerSeason: 3,
		Webhooks: []fake.Webhook{{URL: hook.ts.URL}}})
	movies := srv.Items("movie")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			who := []string{"admin", "alice", "kid", "bob"}[g]
			tok := mustUser(t, srv, who).ServerToken
			for i := 0; i < 10; i++ {
				rk := movies[(g*10+i)%len(movies)].RatingKey
				call(t, http.MethodPut, ts.URL+"/:/scrobble?identifier=com.plexapp.plugins.library&key="+rk, tok, nil)
				call(t, http.MethodGet, ts.URL+"/library/sections/1/all?type=1&sort=lastViewedAt:desc&X-Plex-Container-Size=5", tok, jsonAccept)
				if err := srv.Play(t.Context(), who, rk, time.Minute); err != nil {
					t.Error(err)
				}
				if err := srv.Stop(t.Context(), who, rk, 2*time.Minute); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 5; i++ {
			if _, err := srv.AddItem(t.Context(), fake.ItemSpec{Type: "movie"}); err != nil {
				t.Error(err)
			}
			if _, err := srv.RotateServerToken("bob"); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	if got := srv.Count("movie"); got != 55 {
		t.Errorf("%d movies after adding 5 to 50", got)
	}
	// Each admin movie was scrobbled, then played and stopped at 2 minutes.
	for _, m := range movies[:10] {
		st, err := srv.State("admin", m.RatingKey)
		if err != nil {
			t.Fatal(err)
		}
		if st.ViewCount != 1 || st.ViewOffsetMS != 120_000 {
			t.Errorf("admin %s: %+v, want one view and a 2-minute resume point", m.RatingKey, st)
		}
	}
}
