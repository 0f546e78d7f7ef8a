package fake_test

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/backends/plex/fake/plexspec"
)

// TestResponsesMatchSpec drives every route through a plexspec.Recorder: the fake's
// requests are written as a well-behaved client would, so any error is the fake's
// (or a gap to list in plexspec.Gaps).
func TestResponsesMatchSpec(t *testing.T) {
	v, err := plexspec.Load()
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	srv := fake.MustNew(fake.Options{Seed: 51, Movies: 6, Shows: 2, SeasonsPerShow: 2, EpisodesPerSeason: 3, LegacyFraction: 0.5, Now: clk.Now})
	rec := plexspec.NewRecorder(v, srv)
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)

	if _, _, err := srv.SeedWatched("admin", 0.4, 0.3, 1); err != nil {
		t.Fatal(err)
	}
	movie, ep, show := srv.Items("movie")[0].RatingKey, srv.Items("episode")[0].RatingKey, srv.Items("show")[0].RatingKey
	if err := srv.Play(t.Context(), "alice", ep, time.Minute); err != nil {
		t.Fatal(err)
	}
	owner, alice := srv.Owner(), mustUser(t, srv, "alice")
	lib := "?identifier=com.plexapp.plugins.library&key="
	reqs := []struct {
		method, path, token string
	}{
		{"GET", "/", owner.ServerToken},
		{"GET", "/identity", ""},
		{"GET", "/library/sections", owner.ServerToken},
		{"GET", "/library/sections/all", owner.ServerToken},
		{"GET", "/library/sections/1/all?type=1&includeGuids=1&X-Plex-Container-Start=0&X-Plex-Container-Size=4", owner.ServerToken},
		{"GET", "/library/sections/1/all?type=1&X-Plex-Container-Start=0&X-Plex-Container-Size=0", owner.ServerToken},
		{"HEAD", "/library/sections/1/all?type=1&X-Plex-Container-Start=0&X-Plex-Container-Size=1000", owner.ServerToken},
		{"GET", "/library/sections/2/all?type=4&includeGuids=1&sort=lastViewedAt:desc&lastViewedAt>>=1", owner.ServerToken},
		{"GET", "/library/sections/2/all?type=2&includeGuids=1", owner.ServerToken},
		{"GET", "/library/sections/2/all?type=3", owner.ServerToken},
		{"GET", "/library/metadata/" + movie + "," + ep + "?includeGuids=1", owner.ServerToken},
		{"GET", "/library/metadata/" + show + "/children", owner.ServerToken},
		{"GET", "/library/metadata/" + show + "/allLeaves", owner.ServerToken},
		{"GET", "/status/sessions", owner.ServerToken},
		{"GET", "/accounts", owner.ServerToken},
		{"PUT", "/:/scrobble" + lib + movie, alice.ServerToken},
		{"GET", "/:/scrobble" + lib + movie, alice.ServerToken},
		{"PUT", "/:/unscrobble" + lib + movie, alice.ServerToken},
		{"GET", "/:/unscrobble" + lib + movie, alice.ServerToken},
		{"POST", "/:/timeline?ratingKey=" + movie + "&key=/library/metadata/" + movie + "&identifier=com.plexapp.plugins.library&state=stopped&time=60000&duration=7200000", alice.ServerToken},
		{"PUT", "/:/progress" + lib + movie + "&time=60000&state=stopped", alice.ServerToken},
		{"GET", "/api/v2/user", owner.PlexTVToken},
		{"GET", "/api/v2/home/users/", owner.PlexTVToken},
		{"POST", "/api/v2/home/users/" + alice.UUID + "/switch", owner.PlexTVToken},
		{"GET", "/api/v2/resources?includeIPv6=1&includeHttps=1&includeRelay=1", alice.PlexTVToken},
		{"GET", "/api/v2/resources", owner.PlexTVToken},
		{"GET", "/api/servers/" + srv.MachineIdentifier() + "/shared_servers", owner.PlexTVToken},
		{"GET", "/api/users/", owner.PlexTVToken},
		{"GET", "/library/sections", "wrong"},
	}
	for _, r := range reqs {
		got := call(t, r.method, ts.URL+r.path, r.token, jsonAccept)
		if got.status >= 400 && r.token != "wrong" {
			t.Errorf("%s %s: status %d: %s", r.method, r.path, got.status, got.body)
		}
	}
	if err := rec.Err(); err != nil {
		t.Fatalf("fake responses do not match plex-openapi.yaml:\n%v", err)
	}

	// Every operation the spec has was really checked, request and response.
	checked := map[string]bool{}
	for _, res := range rec.Results() {
		if res.Operation != "" && res.ResponseChecked {
			checked[res.Operation] = true
		}
	}
	var ops []string
	for op := range checked {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	want := []string{"get-server-resources", "get-users", "getAllItemLeaves", "getIdentity", "getMetadataItem", "getSections",
		"getServerInfo", "getTokenDetails", "listContent", "listSessions", "markPlayed", "report", "unscrobble"}
	if diff := cmp.Diff(want, ops); diff != "" {
		t.Errorf("operations validated (-want +got):\n%s", diff)
	}
}

// TestClientRequestsAreChecked shows the recorder flags a client's bad request, so
// the Plex backend's tests can rely on it.
func TestClientRequestsAreChecked(t *testing.T) {
	v, err := plexspec.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := fake.MustNew(fake.Options{Seed: 52, Movies: 2})
	rec := plexspec.NewRecorder(v, srv)
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/library/sections/1/all?type=1&includeGuids=yes", nil)
	req.Header.Set("X-Plex-Token", srv.Owner().ServerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	res := rec.Results()
	if len(res) != 1 || res[0].Request == nil {
		t.Fatalf("a request without X-Plex-Client-Identifier and with includeGuids=yes passed: %+v", res)
	}
}
