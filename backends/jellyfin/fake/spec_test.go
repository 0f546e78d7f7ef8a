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

// specScenario drives every route the fake serves; each request and 2xx response is checked
// against the vendor document by openapicheck.Middleware.
func specScenario(t *testing.T, s *Server, ts *httptest.Server) {
	api := tokenAuth(s.APIKey())
	alice := tokenAuth(s.UserToken("alice"))
	uid := s.UserID("alice")
	movie, ep := s.MovieID(1), s.EpisodeID(0, 1, 2)
	reqs := []struct {
		method, path, auth string
		body               any
		want               int
	}{
		{"GET", "/System/Info/Public", "", nil, 200},
		{"GET", "/System/Info", api, nil, 200},
		{"GET", "/Users", api, nil, 200},
		{"GET", "/Users/" + uid, api, nil, 200},
		{"GET", "/Users/Me", alice, nil, 200},
		{"POST", "/Users/AuthenticateByName", `Authorization: MediaBrowser Client="kw", Device="test", DeviceId="d1", Version="1.0"`, map[string]string{"Username": "alice", "Pw": "secret"}, 200},
		{"GET", "/UserViews?userId=" + uid, api, nil, 200},
		{"GET", "/Users/" + uid + "/Views", api, nil, 200},
		{"GET", "/Items?userId=" + uid + "&Recursive=true&IncludeItemTypes=Movie,Episode,Series&Fields=ProviderIds,DateCreated,Path&EnableUserData=true&StartIndex=0&Limit=50", api, nil, 200},
		{"GET", "/Items?userId=" + uid + "&recursive=true&includeItemTypes=Movie&includeItemTypes=Episode&filters=IsPlayed&sortBy=DatePlayed&sortOrder=Descending&limit=10", api, nil, 200},
		{"GET", "/Items?Recursive=true&Filters=IsResumable&IncludeItemTypes=Movie,Episode", alice, nil, 200},
		{"GET", "/Items?userId=" + uid + "&ParentId=" + s.LibraryID("tvshows") + "&Recursive=true&IsPlayed=false&MinDateLastSavedForUser=2021-01-01T00:00:00Z", api, nil, 200},
		{"GET", "/Items?userId=" + uid + "&Ids=" + movie + "," + ep + "&Fields=ProviderIds", api, nil, 200},
		{"GET", "/Users/" + uid + "/Items?Recursive=true&IncludeItemTypes=Series&Fields=ProviderIds", api, nil, 200},
		{"GET", "/Items/" + ep + "?userId=" + uid, api, nil, 200},
		{"GET", "/Users/" + uid + "/Items/" + movie, api, nil, 200},
		{"POST", "/UserPlayedItems/" + movie + "?userId=" + uid + "&datePlayed=20240501120000", api, nil, 200},
		{"POST", "/UserPlayedItems/" + ep + "?userId=" + uid + "&datePlayed=2024-05-01T12:00:00.000Z", api, nil, 200},
		{"DELETE", "/UserPlayedItems/" + ep + "?userId=" + uid, api, nil, 200},
		{"POST", "/Users/" + uid + "/PlayedItems/" + ep, api, nil, 200},
		{"DELETE", "/Users/" + uid + "/PlayedItems/" + ep, api, nil, 200},
		{"GET", "/UserItems/" + movie + "/UserData?userId=" + uid, api, nil, 200},
		{"POST", "/UserItems/" + movie + "/UserData?userId=" + uid, api, map[string]any{"PlaybackPositionTicks": 600000000, "LastPlayedDate": "2024-05-02T10:00:00Z", "Played": false}, 200},
		{"GET", "/Users/" + uid + "/Items/" + movie + "/UserData", api, nil, 200},
		{"POST", "/Users/" + uid + "/Items/" + movie + "/UserData", api, map[string]any{"PlayCount": 3}, 200},
		{"POST", "/Sessions/Playing", alice, map[string]any{"ItemId": movie, "PositionTicks": 0}, 204},
		{"POST", "/Sessions/Playing/Progress", alice, map[string]any{"ItemId": movie, "PositionTicks": 20000000000, "IsPaused": true}, 204},
		{"GET", "/Sessions", api, nil, 200},
		{"POST", "/Sessions/Playing/Stopped", alice, map[string]any{"ItemId": movie, "PositionTicks": 30000000000}, 204},
	}
	for _, r := range reqs {
		if status, b := call(t, ts, r.method, r.path, r.auth, r.body); status != r.want {
			t.Errorf("%s %s: status %d, want %d; body %s", r.method, r.path, status, r.want, b)
		}
	}
}

func TestResponsesAndRequestsMatchSpec(t *testing.T) {
	for _, tc := range []struct {
		version string
		spec    openapicheck.Spec
	}{
		{Version10_11, openapicheck.Jellyfin10_11},
		{Version12, openapicheck.Jellyfin12},
	} {
		t.Run(tc.version, func(t *testing.T) {
			s, err := New(Options{Version: tc.version, Seed: 7, Movies: 20, Series: 2, SeasonsPerSeries: 2, EpisodesPerSeason: 3,
				PlayedFraction: 0.4, ResumeFraction: 0.2,
				Users: []User{{Name: "admin", Admin: true}, {Name: "alice", Password: "secret"}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := openapicheck.For(s); got != tc.spec {
				t.Fatalf("openapicheck.For = %s, want %s", got, tc.spec)
			}
			v := openapicheck.MustLoad(tc.spec)
			var mu sync.Mutex
			var problems []string
			ts := httptest.NewServer(v.Middleware(s, func(err error) {
				mu.Lock()
				problems = append(problems, err.Error())
				mu.Unlock()
			}))
			defer ts.Close()
			specScenario(t, s, ts)
			if len(problems) > 0 {
				t.Errorf("%d spec violations:\n%s", len(problems), strings.Join(problems, "\n"))
			}
			// The recorded requests pass the recorded-request checker too.
			if f := v.CheckRequests(s.Requests()); len(f) > 0 {
				t.Errorf("recorded requests: %v", f)
			}
		})
	}
}

// The validator must actually catch mistakes, or the test above proves nothing.
func TestValidatorCatchesBadTraffic(t *testing.T) {
	v := openapicheck.MustLoad(openapicheck.Jellyfin10_11)
	ctx := context.Background()
	for _, tc := range []struct {
		name, method, url, body string
	}{
		{"unknown enum in includeItemTypes", "GET", "/Items?includeItemTypes=Film", ""},
		{"non-numeric limit", "GET", "/Items?limit=ten", ""},
		{"string where the body wants an integer", "POST", "/UserItems/0123456789abcdef0123456789abcdef/UserData", `{"PlayCount":"many"}`},
		{"route that does not exist", "GET", "/Library/Nothing", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}}
			if err := v.ValidateRequest(ctx, tc.method, tc.url, h, []byte(tc.body)); err == nil {
				t.Errorf("ValidateRequest(%s %s) passed, want a violation", tc.method, tc.url)
			}
		})
	}
	bad := `{"Items":[{"Id":"x","Type":"NotAKind"}],"TotalRecordCount":"one","StartIndex":0}`
	err := v.ValidateResponse(ctx, "GET", "/Items", nil, nil, 200, http.Header{"Content-Type": {"application/json; charset=utf-8"}}, []byte(bad))
	if err == nil {
		t.Error("ValidateResponse passed a QueryResult with a string TotalRecordCount and an unknown Type")
	}
}
