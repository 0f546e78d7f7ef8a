package tautulli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeFixture decodes a captured answer the way client.call does.
func decodeFixture(t *testing.T, name string, out any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s: envelope: %v", name, err)
	}
	if env.Response == nil || env.Response.Result != "success" {
		t.Fatalf("%s: not a success envelope", name)
	}
	if err := json.Unmarshal(env.Response.Data, out); err != nil {
		t.Fatalf("%s: data: %v", name, err)
	}
}

func TestDecodeFixtures(t *testing.T) {
	t.Run("get_users", func(t *testing.T) {
		var rows []userRow
		decodeFixture(t, "api_get_users.json", &rows)
		got := [][2]string{}
		for _, r := range rows {
			got = append(got, [2]string{r.UserID.String(), text(r.Username)})
		}
		// user_id 0 is an integer 0, not absent: the Local pseudo-user.
		if diff := cmp.Diff([][2]string{{"0", "Local"}, {"3219821", "username"}}, got); diff != "" {
			t.Errorf("users (-want +got):\n%s", diff)
		}
		if rows[1].IsAdmin.V != 1 || rows[0].IsAdmin.V != 0 {
			t.Errorf("is_admin: %+v %+v", rows[0].IsAdmin, rows[1].IsAdmin)
		}
	})
	t.Run("get_history movies", func(t *testing.T) {
		var page historyPage
		decodeFixture(t, "api_get_history_movies.json", &page)
		if page.RecordsFiltered.V != 3 || len(page.Data) != 2 {
			t.Fatalf("recordsFiltered %v, %d rows", page.RecordsFiltered, len(page.Data))
		}
		r := page.Data[0]
		// parent_rating_key and media_index are "" on movies: absent, not errors.
		if r.RatingKey.V != 66340 || r.ParentRatingKey.Valid || r.MediaIndex.Valid || r.Year.V != 2019 ||
			r.WatchedStatus.V != 1 || r.Stopped.V != 1699224819 || text(r.GUID) != "plex://movie/5d776b85594b2b001e6dc641" {
			t.Errorf("movie row decoded as %+v", r)
		}
	})
	t.Run("get_history episodes", func(t *testing.T) {
		var page historyPage
		decodeFixture(t, "api_get_history_episodes_rows-truncated.json", &page)
		if len(page.Data) != 3 {
			t.Fatalf("%d rows", len(page.Data))
		}
		r := page.Data[2] // the grouped row: reference_id 12532, row_id 12545
		if r.RowID.V != 12545 || r.GroupCount.V != 2 || r.Year.Valid || r.MediaIndex.V != 3 || r.ParentMediaIndex.V != 1 ||
			r.GrandparentRatingKey.V != 64061 || text(r.GrandparentTitle) != "Little Demon" || r.Date.V != 1689297015 {
			t.Errorf("grouped episode row decoded as %+v", r)
		}
	})
	t.Run("get_server_info", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join("testdata", "api_get_server_info_DOCSTRING-data-only.json"))
		if err != nil {
			t.Fatal(err)
		}
		var info serverInfo
		if err := json.Unmarshal(b, &info); err != nil {
			t.Fatal(err)
		}
		if text(info.Identifier) != "08u2phnlkdshf890bhdlksghnljsahgleikjfg9t" || text(info.Name) != "Winterfell-Server" || text(info.Version) != "1.20.0.3133-fede5bdc7" {
			t.Errorf("server info %+v", info)
		}
	})
	t.Run("get_activity", func(t *testing.T) {
		// Not read by the backend; decoded to hold the envelope to every
		// capture: stream_count arrives as the string "0".
		var act struct {
			StreamCount flexInt `json:"stream_count"`
			Sessions    []any   `json:"sessions"`
		}
		decodeFixture(t, "api_get_activity_empty.json", &act)
		if !act.StreamCount.Valid || act.StreamCount.V != 0 || len(act.Sessions) != 0 {
			t.Errorf("activity %+v", act)
		}
	})
}

func TestFlexTypes(t *testing.T) {
	tests := []struct {
		in    string
		i     flexInt
		iErr  bool
		s     string
		sErr  bool
		float flexFloat
	}{
		{`12`, flexInt{12, true}, false, "12", false, flexFloat{12, true}},
		{`"12"`, flexInt{12, true}, false, "12", false, flexFloat{12, true}},
		{`""`, flexInt{}, false, "", false, flexFloat{}},
		{`null`, flexInt{}, false, "", false, flexFloat{}},
		{`0.5`, flexInt{}, true, "0.5", false, flexFloat{0.5, true}},
		{`12.0`, flexInt{12, true}, false, "12.0", false, flexFloat{12, true}},
		{`"abc"`, flexInt{}, true, "abc", false, flexFloat{}},
		{`{}`, flexInt{}, true, "", true, flexFloat{}},
		{`[1]`, flexInt{}, true, "", true, flexFloat{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var i flexInt
			if err := json.Unmarshal([]byte(tt.in), &i); (err != nil) != tt.iErr || (!tt.iErr && i != tt.i) {
				t.Errorf("flexInt: %+v, %v", i, err)
			}
			var s flexString
			if err := json.Unmarshal([]byte(tt.in), &s); (err != nil) != tt.sErr || string(s) != tt.s {
				t.Errorf("flexString: %q, %v", s, err)
			}
			var f flexFloat
			if err := json.Unmarshal([]byte(tt.in), &f); err == nil && f != tt.float {
				t.Errorf("flexFloat: %+v", f)
			}
		})
	}
}

func TestNumberAndText(t *testing.T) {
	for in, want := range map[string]struct {
		n  int64
		ok bool
		s  string
	}{
		"0": {0, true, "0"}, "7": {7, true, "7"}, "": {0, false, ""}, "None": {0, false, ""},
		"{view_offset}": {0, false, ""}, "-5": {0, false, "-5"}, "x": {0, false, "x"},
	} {
		n, ok := number(flexString(in))
		if n != want.n || ok != want.ok || text(flexString(in)) != want.s {
			t.Errorf("%q: number %d %v, text %q; want %+v", in, n, ok, text(flexString(in)), want)
		}
	}
}

// TestRowWatched decides completion from Tautulli's watched_status when the
// row has it, else from percent_complete against watched_percent.
func TestRowWatched(t *testing.T) {
	s := &settings{watchedPercent: 90}
	tests := []struct {
		row  string
		want bool
	}{
		{`{"watched_status": 1, "percent_complete": 86}`, true},
		{`{"watched_status": 0.75, "percent_complete": 95}`, false}, // Tautulli's signal wins
		{`{"watched_status": 0, "percent_complete": 3}`, false},
		{`{"percent_complete": 90}`, true},
		{`{"percent_complete": 89}`, false},
		{`{"percent_complete": 89.9}`, false},
		{`{"percent_complete": "97"}`, true},
		{`{"watched_status": null, "percent_complete": 95}`, true},
		{`{"watched_status": "", "percent_complete": 95}`, true},
		{`{"watched_status": "", "percent_complete": 50}`, false},
		{`{"watched_status": "", "percent_complete": ""}`, false},
		{`{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.row, func(t *testing.T) {
			var r historyRow
			if err := json.Unmarshal([]byte(tt.row), &r); err != nil {
				t.Fatal(err)
			}
			if got := s.rowWatched(&r); got != tt.want {
				t.Errorf("watched %v, want %v", got, tt.want)
			}
		})
	}
}
