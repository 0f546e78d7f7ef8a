package fake

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeserver/openapicheck"
)

func TestResponsesAndRequestsMatchSpec(t *testing.T) {
	s, err := New(Options{Seed: 7, Movies: 20, Series: 2, SeasonsPerSeries: 2, EpisodesPerSeason: 3, PlayedFraction: 0.4, ResumeFraction: 0.2, Users: users()})
	if err != nil {
		t.Fatal(err)
	}
	v := openapicheck.MustLoad(openapicheck.For(s))
	var mu sync.Mutex
	var problems []string
	ts := httptest.NewServer(v.Middleware(s, func(err error) {
		mu.Lock()
		problems = append(problems, err.Error())
		mu.Unlock()
	}))
	defer ts.Close()
	api, alice := tokenAuth(s.APIKey()), tokenAuth(s.UserToken("alice"))
	uid := s.UserID("alice")
	movie, ep := s.MovieID(1), s.EpisodeID(0, 1, 2)
	for _, r := range []struct {
		method, path, auth string
		body               any
		want               int
	}{
		{"GET", "/emby/System/Info/Public", "", nil, 200},
		{"GET", "/System/Info", api, nil, 200},
		{"GET", "/emby/Users/Query", api, nil, 200},
		{"GET", "/Users/Public", "", nil, 200},
		{"GET", "/emby/Users", api, nil, 200}, // undocumented: skipped by the validator
		{"GET", "/Users/" + uid, api, nil, 200},
		{"POST", "/Users/AuthenticateByName", `X-Emby-Authorization: Emby Client="kw", Device="test", DeviceId="d1", Version="1.0"`, map[string]string{"Username": "alice", "Pw": "pw"}, 200},
		{"GET", "/emby/Users/" + uid + "/Views", api, nil, 200},
		{"GET", "/emby/Users/" + uid + "/Items?Recursive=true&IncludeItemTypes=Movie,Episode&Fields=ProviderIds,DateCreated,Path&EnableUserData=true&StartIndex=0&Limit=50", api, nil, 200},
		{"GET", "/emby/Users/" + uid + "/Items?Recursive=true&Filters=IsPlayed&SortBy=DatePlayed&SortOrder=Descending&Fields=UserDataLastPlayedDate,UserDataPlayCount", alice, nil, 200},
		{"GET", "/emby/Items?UserId=" + uid + "&Recursive=true&AnyProviderIdEquals=imdb.tt1000002&MinDateLastSavedForUser=2021-01-01T00:00:00Z", api, nil, 200},
		{"GET", "/emby/Users/" + uid + "/Items/" + ep, api, nil, 200},
		{"POST", "/emby/Users/" + uid + "/PlayedItems/" + movie + "?DatePlayed=20240501120000", api, nil, 200},
		{"DELETE", "/emby/Users/" + uid + "/PlayedItems/" + movie, api, nil, 200},
		{"POST", "/emby/Users/" + uid + "/PlayedItems/" + movie + "/Delete", api, nil, 200},
		{"POST", "/emby/Users/" + uid + "/Items/" + movie + "/UserData", api, map[string]any{"PlaybackPositionTicks": 600000000, "Played": false}, 200},
		{"POST", "/emby/Sessions/Playing", alice, map[string]any{"ItemId": movie, "PositionTicks": 0}, 200},
		{"POST", "/emby/Sessions/Playing/Progress", alice, map[string]any{"ItemId": movie, "PositionTicks": 20000000000, "IsPaused": true}, 200},
		{"GET", "/emby/Sessions", api, nil, 200},
		{"POST", "/emby/Sessions/Playing/Stopped", alice, map[string]any{"ItemId": movie, "PositionTicks": 30000000000}, 200},
	} {
		if status, b := call(t, ts, r.method, r.path, r.auth, r.body); status != r.want {
			t.Errorf("%s %s: status %d, want %d; body %s", r.method, r.path, status, r.want, b)
		}
	}
	if len(problems) > 0 {
		t.Errorf("%d spec violations:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	if f := v.CheckRequests(s.Requests()); len(f) > 0 {
		t.Errorf("recorded requests: %v", f)
	}
	// A Jellyfin-style request is not an Emby request.
	if err := v.ValidateRequest(context.Background(), "POST", "/UserPlayedItems/"+movie, http.Header{}, nil); err == nil {
		t.Error("validator accepted a route Emby does not have")
	}
}
