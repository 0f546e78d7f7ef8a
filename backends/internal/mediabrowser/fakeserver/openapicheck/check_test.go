package openapicheck

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeserver"
)

const (
	uid  = "0123456789abcdef0123456789abcdef"
	item = "fedcba9876543210fedcba9876543210"
)

func TestSpecsLoad(t *testing.T) {
	for _, spec := range []Spec{Jellyfin10_11, Jellyfin12, Emby4_8} {
		if _, err := Load(spec); err != nil {
			t.Errorf("Load(%s): %v", spec, err)
		}
	}
	if _, err := Load("nope.json"); err == nil {
		t.Error("Load of a missing document succeeded")
	}
	for _, tc := range []struct {
		cfg  fakeserver.Config
		want Spec
	}{
		{fakeserver.Config{Flavor: fakeserver.Jellyfin, Version: "10.11.11"}, Jellyfin10_11},
		{fakeserver.Config{Flavor: fakeserver.Jellyfin, Version: "10.8.13"}, Jellyfin10_11},
		{fakeserver.Config{Flavor: fakeserver.Jellyfin, Version: "12.0.0"}, Jellyfin12},
		{fakeserver.Config{Flavor: fakeserver.Emby}, Emby4_8},
	} {
		if got := For(fakeserver.MustNew(tc.cfg)); got != tc.want {
			t.Errorf("For(%v %s) = %s, want %s", tc.cfg.Flavor, tc.cfg.Version, got, tc.want)
		}
	}
}

// Each known gap is normalised, and a real mistake behind it is still caught.
func TestKnownGaps(t *testing.T) {
	jf, emby := MustLoad(Jellyfin10_11), MustLoad(Emby4_8)
	ctx := context.Background()
	h := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name   string
		v      *Validator
		method string
		url    string
		body   string
		ok     bool
	}{
		{"legacy items route", jf, "GET", "/Users/" + uid + "/Items?Recursive=true&IncludeItemTypes=Movie", "", true},
		{"legacy items route with a bad enum", jf, "GET", "/Users/" + uid + "/Items?IncludeItemTypes=Film", "", false},
		{"legacy played route", jf, "POST", "/Users/" + uid + "/PlayedItems/" + item + "?datePlayed=2024-01-01T00:00:00Z", "", true},
		{"legacy user data route", jf, "POST", "/Users/" + uid + "/Items/" + item + "/UserData", `{"PlaybackPositionTicks":5}`, true},
		{"legacy views route", jf, "GET", "/Users/" + uid + "/Views", "", true},
		{"query names in another case", jf, "GET", "/items?USERID=" + uid + "&RECURSIVE=true&STARTINDEX=0", "", true},
		{"comma-joined array", jf, "GET", "/Items?includeItemTypes=Movie,Episode&fields=ProviderIds,Path", "", true},
		{"comma-joined array with a bad value", jf, "GET", "/Items?includeItemTypes=Movie,Film", "", false},
		{"yyyyMMddHHmmss datePlayed", jf, "POST", "/UserPlayedItems/" + item + "?datePlayed=20240501120000", "", true},
		{"garbage datePlayed", jf, "POST", "/UserPlayedItems/" + item + "?datePlayed=yesterday", "", false},
		{"emby prefix", emby, "GET", "/emby/Users/" + uid + "/Items?Recursive=true", "", true},
		{"emby views without IncludeExternalContent", emby, "GET", "/emby/Users/" + uid + "/Views", "", true},
		{"emby bad boolean", emby, "GET", "/emby/Users/" + uid + "/Items?Recursive=maybe", "", false},
	} {
		err := tc.v.ValidateRequest(ctx, tc.method, tc.url, h, []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %s %s: err %v, want ok=%v", tc.name, tc.method, tc.url, err, tc.ok)
		}
	}
	err := jf.ValidateRequest(ctx, "GET", "/Nowhere", h, nil)
	if !errors.Is(err, ErrUndocumented) {
		t.Errorf("unknown route: %v, want ErrUndocumented", err)
	}
	// Error responses are not validated (gap 10); a malformed 200 is.
	if err := jf.ValidateResponse(ctx, "GET", "/Items", nil, nil, 404, nil, []byte("x")); err != nil {
		t.Errorf("404 body validated: %v", err)
	}
	if err := jf.ValidateResponse(ctx, "GET", "/Items", nil, nil, 200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"Items":"none"}`)); err == nil {
		t.Error("malformed 200 passed")
	}
}

func TestCheckRequestsSkipsEmbyUsers(t *testing.T) {
	v := MustLoad(Emby4_8)
	reqs := []fakeserver.RecordedRequest{
		{Method: "GET", URL: "/emby/Users", Route: "GET /Users"},
		{Method: "GET", URL: "/emby/Users/" + uid + "/Items?Recursive=nope", Route: "GET /Users/{UserId}/Items"},
	}
	f := v.CheckRequests(reqs)
	if len(f) != 1 || f[0].Request.Route != "GET /Users/{UserId}/Items" {
		t.Errorf("findings %v; want only the bad Recursive value", f)
	}
}
