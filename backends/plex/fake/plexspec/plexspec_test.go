package plexspec

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func mustLoad(t *testing.T) *Validator {
	t.Helper()
	v, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGapsHaveReasons(t *testing.T) {
	for _, g := range Gaps {
		if len(g.Reason) < 20 {
			t.Errorf("gap %s %s has no real reason: %q", g.Method, g.Path, g.Reason)
		}
		if g.Skip != SkipAll && g.SpecPath == "" && g.SpecMethod == "" && !g.NoQueryCheck {
			t.Errorf("gap %s %s neither skips nor re-routes", g.Method, g.Path)
		}
	}
}

func TestGapMatching(t *testing.T) {
	tests := []struct {
		method, path string
		wantSpec     string // "" = no gap, "skip" = skipped
	}{
		{"GET", "/library/sections", "GET /library/sections/all"},
		{"GET", "/library/sections/", "GET /library/sections/all"},
		{"GET", "/library/sections/1/all", ""},
		{"HEAD", "/library/sections/1/all", "GET /library/sections/1/all"},
		{"GET", "/:/scrobble", "PUT /:/scrobble"},
		{"PUT", "/:/scrobble", ""},
		{"POST", "/:/progress", "skip"},
		{"GET", "/library/metadata/12/children", "GET /library/metadata/12/allLeaves"},
		{"GET", "/api/v2/resources", "GET /resources"},
		{"POST", "/api/v2/home/users/abc/switch", "skip"},
		{"GET", "/api/servers/mid/shared_servers", "skip"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			g := findGap(tc.method, tc.path)
			var got string
			switch {
			case g == nil:
			case g.Skip == SkipAll:
				got = "skip"
			default:
				m, p := tc.method, tc.path
				if g.SpecMethod != "" {
					m = g.SpecMethod
				}
				if g.SpecPath != "" {
					p = g.specPath(tc.path)
				}
				got = m + " " + p
			}
			if got != tc.wantSpec {
				t.Errorf("got %q, want %q", got, tc.wantSpec)
			}
		})
	}
}

func TestRecorderFindsBadResponses(t *testing.T) {
	v := mustLoad(t)
	tests := []struct {
		name string
		body string
		want string
	}{
		{"valid", `{"MediaContainer":{"size":1,"Metadata":[{"ratingKey":"1","key":"/library/metadata/1","title":"x","type":"movie","addedAt":1,"Guid":[{"id":"imdb://tt1"}]}]}}`, ""},
		{"missing title", `{"MediaContainer":{"size":1,"Metadata":[{"ratingKey":"1","key":"/library/metadata/1","type":"movie","addedAt":1}]}}`, "title"},
		{"numeric ratingKey", `{"MediaContainer":{"size":1,"Metadata":[{"ratingKey":1,"key":"/library/metadata/1","title":"x","type":"movie","addedAt":1}]}}`, "ratingKey"},
		{"foreign Guid", `{"MediaContainer":{"size":1,"Metadata":[{"ratingKey":"1","key":"k","title":"x","type":"movie","addedAt":1,"Guid":[{"id":"local://1"}]}]}}`, "Guid"},
		{"string viewCount", `{"MediaContainer":{"size":1,"Metadata":[{"ratingKey":"1","key":"k","title":"x","type":"movie","addedAt":1,"viewCount":"1"}]}}`, "viewCount"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.body))
			})
			rec := NewRecorder(v, h)
			req := httptest.NewRequest(http.MethodGet, "/library/sections/1/all?type=1&includeGuids=1", nil)
			req.Header.Set("X-Plex-Token", "t")
			req.Header.Set("X-Plex-Client-Identifier", "c")
			w := httptest.NewRecorder()
			rec.ServeHTTP(w, req)
			if w.Body.String() != tc.body {
				t.Fatalf("recorder changed the body: %q", w.Body.String())
			}
			err := rec.Err()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("valid response rejected: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestValidateRequest(t *testing.T) {
	v := mustLoad(t)
	tests := []struct {
		name, method, target string
		header               map[string]string
		want                 string
	}{
		{"good listing", "GET", "/library/sections/1/all?type=4&includeGuids=1", map[string]string{"X-Plex-Token": "t", "X-Plex-Client-Identifier": "c"}, ""},
		{"token in query", "GET", "/library/sections/1/all?X-Plex-Token=t", map[string]string{"X-Plex-Client-Identifier": "c"}, ""},
		{"no client identifier", "GET", "/library/sections/1/all", map[string]string{"X-Plex-Token": "t"}, "X-Plex-Client-Identifier"},
		{"no token", "GET", "/library/sections/1/all", map[string]string{"X-Plex-Client-Identifier": "c"}, "X-Plex-Token"},
		{"bad type", "GET", "/library/sections/1/all?type=12", map[string]string{"X-Plex-Token": "t", "X-Plex-Client-Identifier": "c"}, "type"},
		{"scrobble without identifier", "PUT", "/:/scrobble?key=1", map[string]string{"X-Plex-Token": "t", "X-Plex-Client-Identifier": "c"}, "identifier"},
		{"timeline bad state", "POST", "/:/timeline?ratingKey=1&state=rewinding&time=1&duration=2", map[string]string{"X-Plex-Token": "t", "X-Plex-Client-Identifier": "c"}, "state"},
		{"skipped gap", "POST", "/api/v2/home/users/x/switch", nil, ""},
		{"unknown path", "GET", "/library/nope/at/all/really", map[string]string{"X-Plex-Token": "t", "X-Plex-Client-Identifier": "c"}, "not in plex-openapi.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.target, nil)
			for k, val := range tc.header {
				req.Header.Set(k, val)
			}
			err := v.ValidateRequest(req)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("rejected: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestXMLAndErrorPagesNotBodyChecked(t *testing.T) {
	v := mustLoad(t)
	req := httptest.NewRequest(http.MethodGet, "/library/sections/1/all", nil)
	req.Header.Set("X-Plex-Token", "t")
	req.Header.Set("X-Plex-Client-Identifier", "c")
	res := v.Check(req, 200, http.Header{"Content-Type": {"text/xml;charset=utf-8"}}, []byte("<MediaContainer/>"))
	if res.Err() != nil || res.ResponseChecked {
		t.Errorf("XML: %+v", res)
	}
	res = v.Check(req, 401, http.Header{"Content-Type": {"text/html"}}, []byte("<html>"))
	if res.Err() != nil || res.ResponseChecked {
		t.Errorf("401 page: %+v", res)
	}
}
