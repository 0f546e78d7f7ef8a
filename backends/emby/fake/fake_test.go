package fake

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var numericID = regexp.MustCompile(`^[0-9]+$`)

func users() []User {
	return []User{{Name: "admin", Admin: true}, {Name: "alice", Password: "pw"}, {Name: "bob"}}
}

func TestAuthentication(t *testing.T) {
	s, ts := Start(t, Options{Users: users()})
	for _, tok := range []string{s.APIKey(), s.UserToken("alice")} {
		for _, tc := range []struct {
			name, auth string
			want       int
		}{
			{"X-Emby-Token", "X-Emby-Token: " + tok, 200},
			{"api_key query", "query:api_key=" + tok, 200},
			{"X-Emby-Authorization Emby scheme", `X-Emby-Authorization: Emby UserId="x", Client="kw", Device="t", DeviceId="1", Version="1", Token="` + tok + `"`, 200},
			{"Authorization MediaBrowser (WatchState's form)", `Authorization: MediaBrowser Token="` + tok + `", Client="kw"`, 200},
			{"Authorization Emby scheme", `Authorization: Emby Token="` + tok + `"`, 200},
			{"X-MediaBrowser-Token", "X-MediaBrowser-Token: " + tok, 200},
			{"Jellyfin's ApiKey query is not Emby's", "query:ApiKey=" + tok, 401},
			{"Bearer is not a scheme Emby reads", "Authorization: Bearer " + tok, 401},
		} {
			if got, body := call(t, ts, "GET", "/System/Info", tc.auth, nil); got != tc.want {
				t.Errorf("%s: status %d, want %d (%s)", tc.name, got, tc.want, body)
			}
		}
	}
	if got, body := call(t, ts, "GET", "/System/Info", "X-Emby-Token: nope", nil); got != 401 || string(body) != "Access token is invalid or expired." {
		t.Errorf("bad token: %d %q", got, body)
	}
}

func TestRoutesAndPrefix(t *testing.T) {
	s, ts := Start(t, Options{Seed: 3, Movies: 3})
	api, uid, m := tokenAuth(s.APIKey()), s.UserID("admin"), s.MovieID(0)
	if !numericID.MatchString(m) {
		t.Fatalf("Emby item id %q is not numeric", m)
	}
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/Users/" + uid + "/Items?Recursive=true", 200},
		{"GET", "/emby/Users/" + uid + "/Items?Recursive=true", 200},
		{"GET", "/EMBY/users/" + uid + "/items/" + m, 200},
		{"GET", "/emby/Users/" + uid + "/Views", 200},
		{"GET", "/Items?UserId=" + uid + "&Recursive=true", 200},
		{"GET", "/emby/Users/Query", 200},
		{"GET", "/emby/Users", 200},
		{"POST", "/emby/Users/" + uid + "/PlayedItems/" + m, 200},
		{"POST", "/emby/Users/" + uid + "/PlayedItems/" + m + "/Delete", 200},
		{"DELETE", "/emby/Users/" + uid + "/PlayedItems/" + m, 200},
		{"GET", "/Users/" + uid + "/Items/999999999", 404},
		// Jellyfin's 10.9 routes do not exist on Emby.
		{"POST", "/UserPlayedItems/" + m + "?userId=" + uid, 404},
		{"GET", "/UserItems/" + m + "/UserData?userId=" + uid, 404},
		{"GET", "/UserViews?userId=" + uid, 404},
		{"GET", "/Items/" + m + "?userId=" + uid, 404},
	} {
		if got, body := call(t, ts, tc.method, tc.path, api, nil); got != tc.want {
			t.Errorf("%s %s: %d, want %d (%s)", tc.method, tc.path, got, tc.want, body)
		}
	}
	var info map[string]any
	getJSON(t, ts, "/emby/System/Info", api, &info)
	if info["Version"] != "4.8.11.0" || info["Id"] != s.ServerID() {
		t.Errorf("System/Info: %v", info)
	}
	var res queryResult
	getJSON(t, ts, "/Users/"+uid+"/Items?Recursive=true", api, &res)
	if res.StartIndex != nil {
		t.Error("Emby's QueryResult has no StartIndex")
	}
}

func TestMarkPlayedDateFormat(t *testing.T) {
	clock := newClock(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	s, ts := Start(t, Options{Seed: 2, Movies: 2, Now: clock.Now})
	api, uid, m := tokenAuth(s.APIKey()), s.UserID("admin"), s.MovieID(1)
	var d map[string]any
	status, b := call(t, ts, "POST", "/Users/"+uid+"/PlayedItems/"+m+"?DatePlayed=20240501123000", api, nil)
	_ = json.Unmarshal(b, &d)
	want := map[string]any{"PlaybackPositionTicks": 0.0, "PlayCount": 1.0, "IsFavorite": false, "LastPlayedDate": "2024-05-01T12:30:00.0000000Z", "Played": true}
	if status != 200 || !cmp.Equal(want, d) {
		t.Errorf("mark played: %d %s", status, cmp.Diff(want, d))
	}
	if status, body := call(t, ts, "POST", "/Users/"+uid+"/PlayedItems/"+m+"?DatePlayed=2024-05-01T12:30:00Z", api, nil); status != http.StatusInternalServerError {
		t.Errorf("ISO DatePlayed: %d %s; Emby's ParseExact throws, want 500", status, body)
	}
	call(t, ts, "POST", "/Users/"+uid+"/PlayedItems/"+m, api, nil)
	if got, _ := s.UserData("admin", m); got.PlayCount != 1 || !got.LastPlayedDate.Equal(time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)) {
		t.Errorf("played without a date keeps the old date and count: %+v", got)
	}
	call(t, ts, "DELETE", "/Users/"+uid+"/PlayedItems/"+m, api, nil)
	if got, _ := s.UserData("admin", m); got.Played || got.PlayCount != 0 || !got.LastPlayedDate.IsZero() {
		t.Errorf("unplayed clears: %+v", got)
	}
	status, b = call(t, ts, "POST", "/Users/"+uid+"/Items/"+m+"/UserData", api, map[string]any{"PlaybackPositionTicks": 600000000, "LastPlayedDate": "2025-02-01T00:00:00Z"})
	if status != 200 || len(b) != 0 {
		t.Errorf("POST UserData: %d %q; the spec says 200 with an empty response", status, b)
	}
	if got, _ := s.UserData("admin", m); got.PlaybackPositionTicks != 600000000 || got.Played {
		t.Errorf("POST UserData: %+v", got)
	}
}

func TestItemsWithoutUserIdHaveNoUserData(t *testing.T) {
	s, ts := Start(t, Options{Seed: 2, Movies: 2, PlayedFraction: 1, Users: users()})
	var res queryResult
	getJSON(t, ts, "/Items?Recursive=true&IncludeItemTypes=Movie", tokenAuth(s.UserToken("alice")), &res)
	if _, ok := res.Items[0]["UserData"]; ok {
		t.Error("GET /Items without UserId must run for no user, even with a user token")
	}
	getJSON(t, ts, "/Items?Recursive=true&IncludeItemTypes=Movie&UserId="+s.UserID("alice"), tokenAuth(s.UserToken("alice")), &res)
	if _, ok := res.Items[0]["UserData"]; !ok {
		t.Error("GET /Items?UserId= must carry UserData")
	}
}

func TestListUserDataNeedsFieldsFrom48(t *testing.T) {
	for _, tc := range []struct {
		version  string
		gated    bool
		fields   string
		wantDate bool
		wantPC   float64
	}{
		{Version4_8, true, "", false, 0},
		{Version4_8, true, "&Fields=UserDataLastPlayedDate,UserDataPlayCount", true, 2},
		{Version4_7, false, "", true, 2},
	} {
		s, ts := Start(t, Options{Version: tc.version, Seed: 2, Movies: 1})
		m, uid := s.MovieID(0), s.UserID("admin")
		_ = s.SetUserData("admin", m, UserData{Played: true, PlayCount: 2, LastPlayedDate: time.Date(2024, 8, 2, 22, 51, 23, 0, time.UTC)})
		var res queryResult
		getJSON(t, ts, "/Users/"+uid+"/Items?Recursive=true&IncludeItemTypes=Movie"+tc.fields, tokenAuth(s.APIKey()), &res)
		ud := res.Items[0]["UserData"].(map[string]any)
		_, hasDate := ud["LastPlayedDate"]
		if hasDate != tc.wantDate || ud["PlayCount"] != tc.wantPC || ud["Played"] != true {
			t.Errorf("%s fields=%q: UserData %v", tc.version, tc.fields, ud)
		}
		if _, ok := ud["Key"]; ok {
			t.Errorf("Emby list UserData has no Key: %v", ud)
		}
		var one map[string]any
		getJSON(t, ts, "/Users/"+uid+"/Items/"+m, tokenAuth(s.APIKey()), &one)
		if one["UserData"].(map[string]any)["LastPlayedDate"] != "2024-08-02T22:51:23.0000000Z" {
			t.Errorf("%s: single item UserData %v", tc.version, one["UserData"])
		}
	}
}

func TestMinDateLastSavedForUserSeesUserData(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    []int // movie numbers found
	}{
		{Version4_8, []int{3, 5}}, // the watch and the refresh
		{Version4_1, []int{5}},    // the open-source code: item date only
	} {
		clock := newClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		s, ts := Start(t, Options{Version: tc.version, Seed: 9, Movies: 10, Now: clock.Now})
		api, uid := tokenAuth(s.APIKey()), s.UserID("admin")
		call(t, ts, "POST", "/Users/"+uid+"/PlayedItems/"+s.MovieID(3)+"?DatePlayed=20250101000000", api, nil)
		_ = s.TouchItem(s.MovieID(5), clock.Now())
		var res queryResult
		getJSON(t, ts, "/Users/"+uid+"/Items?Recursive=true&IncludeItemTypes=Movie&MinDateLastSavedForUser=2024-12-31T00:00:00Z", api, &res)
		var got, want []string
		for _, it := range res.Items {
			got = append(got, it["Id"].(string))
		}
		for _, n := range tc.want {
			want = append(want, s.MovieID(n))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.version, diff)
		}
		status, _ := call(t, ts, "GET", "/Items?Recursive=true&MinDateLastSaved=2024-12-31T00:00:00Z", api, nil)
		if wantStatus := map[string]int{Version4_8: 200, Version4_1: 500}[tc.version]; status != wantStatus {
			t.Errorf("%s: MinDateLastSaved alone: %d, want %d", tc.version, status, wantStatus)
		}
	}
}

func TestAnyProviderIdEquals(t *testing.T) {
	s, ts := Start(t, Options{Seed: 1, Movies: 6, Series: 1})
	var res queryResult
	getJSON(t, ts, "/Items?Recursive=true&AnyProviderIdEquals=IMDB.tt1000002,tvdb.70000", tokenAuth(s.APIKey()), &res)
	var got []string
	for _, it := range res.Items {
		got = append(got, it["Id"].(string))
	}
	if diff := cmp.Diff([]string{s.MovieID(2), s.SeriesID(0)}, got); diff != "" {
		t.Errorf("AnyProviderIdEquals (-want +got):\n%s", diff)
	}
}

func TestDeltaQueryByDatePlayed(t *testing.T) {
	clock := newClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	s, ts := Start(t, Options{Seed: 21, Movies: 500, PlayedFraction: 0.4, Now: clock.Now})
	api, uid := tokenAuth(s.APIKey()), s.UserID("admin")
	var want []string
	for i := 0; i < 5; i++ {
		clock.Advance(time.Minute)
		id := s.MovieID(10 + i)
		_ = s.TogglePlayed("admin", id, true)
		want = append([]string{id}, want...)
	}
	s.ResetStats()
	var res queryResult
	getJSON(t, ts, "/Users/"+uid+"/Items?Recursive=true&IncludeItemTypes=Movie&Filters=IsPlayed&SortBy=DatePlayed&SortOrder=Descending&Limit=5", api, &res)
	var got []string
	for _, it := range res.Items {
		got = append(got, it["Id"].(string))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("newest plays first (-want +got):\n%s", diff)
	}
	if n := s.ItemsReturned(); n != 5 {
		t.Errorf("ItemsReturned %d, want 5", n)
	}
	if total := res.TotalRecordCount; total < 150 {
		t.Errorf("TotalRecordCount %d: the played set should include the seeded plays", total)
	}
}
