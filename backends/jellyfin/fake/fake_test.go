package fake

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func twoUsers() []User {
	return []User{{Name: "admin", Admin: true}, {Name: "alice", Password: "pw"}, {Name: "bob"}}
}

func TestAuthentication(t *testing.T) {
	type form struct {
		name     string
		auth     string // see call()
		isLegacy bool
	}
	forms := func(tok string) []form {
		return []form{
			{"Authorization MediaBrowser", `Authorization: MediaBrowser Client="kw", Device="test", DeviceId="1", Version="1", Token="` + tok + `"`, false},
			{"ApiKey query", "query:ApiKey=" + tok, false},
			{"ApiKey query lower-case name", "query:apikey=" + tok, false},
			{"X-Emby-Token", "X-Emby-Token: " + tok, true},
			{"X-MediaBrowser-Token", "X-MediaBrowser-Token: " + tok, true},
			{"api_key query", "query:api_key=" + tok, true},
			{"X-Emby-Authorization", `X-Emby-Authorization: MediaBrowser Token="` + tok + `"`, true},
			{"Emby scheme", `Authorization: Emby Token="` + tok + `"`, true},
		}
	}
	for _, tc := range []struct {
		version string
		mode    LegacyAuthMode
		legacy  bool
	}{
		{Version10_11, LegacyAuthDefault, true},
		{Version12, LegacyAuthDefault, false},
		{Version10_11, LegacyAuthOff, false},
		{Version12, LegacyAuthOn, true},
	} {
		s, ts := Start(t, Options{Version: tc.version, LegacyAuth: tc.mode, Users: twoUsers()})
		for _, tok := range []string{s.APIKey(), s.UserToken("alice")} {
			for _, f := range forms(tok) {
				want := http.StatusOK
				if f.isLegacy && !tc.legacy {
					want = http.StatusUnauthorized
				}
				if got, body := call(t, ts, "GET", "/System/Info", f.auth, nil); got != want {
					t.Errorf("%s legacy=%v %s: status %d, want %d (%s)", tc.version, tc.legacy, f.name, got, want, body)
				}
			}
		}
		for _, f := range forms("not-a-token") {
			if got, _ := call(t, ts, "GET", "/System/Info", f.auth, nil); got != http.StatusUnauthorized {
				t.Errorf("%s: bad token via %s: status %d, want 401", tc.version, f.name, got)
			}
		}
		if got, _ := call(t, ts, "GET", "/System/Info", "", nil); got != http.StatusUnauthorized {
			t.Errorf("%s: no token: status %d, want 401", tc.version, got)
		}
		if got, _ := call(t, ts, "GET", "/System/Info/Public", "", nil); got != http.StatusOK {
			t.Errorf("%s: /System/Info/Public needs no token, got %d", tc.version, got)
		}
	}
}

func TestWhoActs(t *testing.T) {
	s, ts := Start(t, Options{Seed: 3, Movies: 4, Users: twoUsers()})
	api, alice := tokenAuth(s.APIKey()), tokenAuth(s.UserToken("alice"))
	aliceID, bobID := s.UserID("alice"), s.UserID("bob")
	movie := s.MovieID(0)
	for _, tc := range []struct {
		name, method, path, auth string
		want                     int
	}{
		{"API key without userId acts for no user", "POST", "/UserPlayedItems/" + movie, api, http.StatusNotFound},
		{"API key for a user", "POST", "/UserPlayedItems/" + movie + "?userId=" + bobID, api, http.StatusOK},
		{"user token without userId acts for its user", "POST", "/UserPlayedItems/" + movie, alice, http.StatusOK},
		{"user token for another user", "POST", "/UserPlayedItems/" + movie + "?userId=" + bobID, alice, http.StatusForbidden},
		{"user token on the admin-only user list", "GET", "/Users", alice, http.StatusForbidden},
		{"unknown user", "GET", "/Items?userId=0123456789abcdef0123456789abcdef", api, http.StatusNotFound},
		{"userId that is not a Guid", "GET", "/Items?userId=alice", api, http.StatusBadRequest},
		{"item id that is not a Guid", "GET", "/Items/240270?userId=" + aliceID, api, http.StatusBadRequest},
		{"unknown item", "GET", "/Items/0123456789abcdef0123456789abcdef?userId=" + aliceID, api, http.StatusNotFound},
		{"dashed Guid forms are accepted", "GET", "/Items/" + dashed(movie) + "?userId=" + dashed(aliceID), api, http.StatusOK},
		{"paths ignore case", "GET", "/items/" + movie + "?USERID=" + aliceID, api, http.StatusOK},
	} {
		if got, body := call(t, ts, tc.method, tc.path, tc.auth, nil); got != tc.want {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, got, tc.want, body)
		}
	}
	d, _ := s.UserData("alice", movie)
	if !d.Played {
		t.Error("alice's token without userId did not mark alice's item")
	}
	d, _ = s.UserData("bob", movie)
	if !d.Played {
		t.Error("API key with userId=bob did not mark bob's item")
	}
}

func dashed(id string) string {
	return id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}

func TestRouteGenerations(t *testing.T) {
	for _, tc := range []struct {
		version string
		modern  bool
	}{{Version10_8, false}, {"10.9.0", true}, {Version10_11, true}, {Version12, true}} {
		t.Run(tc.version, func(t *testing.T) {
			s, ts := Start(t, Options{Version: tc.version, LegacyAuth: LegacyAuthOn, Seed: 1, Movies: 2})
			api, uid, m := tokenAuth(s.APIKey()), s.UserID("admin"), s.MovieID(0)
			modern := []struct{ method, path string }{
				{"GET", "/UserViews?userId=" + uid},
				{"GET", "/Items/" + m + "?userId=" + uid},
				{"POST", "/UserPlayedItems/" + m + "?userId=" + uid},
				{"DELETE", "/UserPlayedItems/" + m + "?userId=" + uid},
				{"GET", "/UserItems/" + m + "/UserData?userId=" + uid},
			}
			legacy := []struct{ method, path string }{
				{"GET", "/Users/" + uid + "/Views"},
				{"GET", "/Users/" + uid + "/Items?Recursive=true"},
				{"GET", "/Users/" + uid + "/Items/" + m},
				{"POST", "/Users/" + uid + "/PlayedItems/" + m},
				{"DELETE", "/Users/" + uid + "/PlayedItems/" + m},
				{"GET", "/Items?userId=" + uid + "&Recursive=true"}, // GET /Items took userId before 10.9 too
			}
			for _, r := range modern {
				want := http.StatusOK
				if !tc.modern {
					want = http.StatusNotFound
				}
				if got, _ := call(t, ts, r.method, r.path, api, nil); got != want {
					t.Errorf("%s %s: status %d, want %d", r.method, r.path, got, want)
				}
			}
			for _, r := range legacy {
				if got, _ := call(t, ts, r.method, r.path, api, nil); got != http.StatusOK {
					t.Errorf("%s %s: status %d, want 200", r.method, r.path, got)
				}
			}
			// The user-data endpoints came with 10.9 in both spellings.
			want := http.StatusNotFound
			if tc.modern {
				want = http.StatusOK
			}
			if got, _ := call(t, ts, "POST", "/Users/"+uid+"/Items/"+m+"/UserData", api, map[string]any{"PlaybackPositionTicks": 1}); got != want {
				t.Errorf("POST legacy UserData: status %d, want %d", got, want)
			}
		})
	}
}

func TestItemListShape(t *testing.T) {
	s, ts := Start(t, Options{Seed: 11, Movies: 5, Series: 2, SeasonsPerSeries: 2, EpisodesPerSeason: 3, PlayedFraction: 0.5})
	api, uid := tokenAuth(s.APIKey()), s.UserID("admin")
	var res queryResult
	getJSON(t, ts, "/Items?userId="+uid+"&Recursive=true&IncludeItemTypes=Movie,Episode,Series&Fields=ProviderIds,DateCreated,Path&EnableUserData=true&StartIndex=0&Limit=1000", api, &res)
	if res.TotalRecordCount != 5+2+12 || len(res.Items) != res.TotalRecordCount {
		t.Fatalf("TotalRecordCount %d, %d items; want 19", res.TotalRecordCount, len(res.Items))
	}
	if res.StartIndex == nil || *res.StartIndex != 0 {
		t.Errorf("StartIndex missing from the envelope: %v", res.StartIndex)
	}
	seriesIDs := map[string]map[string]any{}
	for _, it := range res.Items {
		id, _ := it["Id"].(string)
		if !hex32.MatchString(id) {
			t.Errorf("Id %q is not 32 hex digits", id)
		}
		ud, _ := it["UserData"].(map[string]any)
		if ud["ItemId"] != "00000000000000000000000000000000" {
			t.Errorf("UserData.ItemId in a list = %v, want all zeros", ud["ItemId"])
		}
		if _, ok := ud["Key"].(string); !ok {
			t.Errorf("UserData.Key missing: %v", ud)
		}
		for _, k := range []string{"ProviderIds", "DateCreated", "Path"} {
			if _, ok := it[k]; !ok {
				t.Errorf("%s %s lacks %s although Fields asked for it", it["Type"], id, k)
			}
		}
		if it["Type"] == "Series" {
			seriesIDs[id] = it["ProviderIds"].(map[string]any)
		}
	}
	for _, it := range res.Items {
		if it["Type"] != "Episode" {
			continue
		}
		for _, k := range []string{"SeriesId", "SeriesName", "SeasonId", "ParentIndexNumber", "IndexNumber"} {
			if _, ok := it[k]; !ok {
				t.Errorf("episode %s lacks %s", it["Id"], k)
			}
		}
		series := seriesIDs[it["SeriesId"].(string)]
		ep := it["ProviderIds"].(map[string]any)
		if ep["Tvdb"] == series["Tvdb"] || ep["Tvdb"] == nil {
			t.Errorf("episode ProviderIds %v must be the episode's own, not the series' %v", ep, series)
		}
	}
	// Without Fields the optional fields are absent, as on the real server.
	var bare queryResult
	getJSON(t, ts, "/Items?userId="+uid+"&Recursive=true&IncludeItemTypes=Movie&Limit=1", api, &bare)
	for _, k := range []string{"ProviderIds", "Path", "DateCreated"} {
		if _, ok := bare.Items[0][k]; ok {
			t.Errorf("%s present without Fields", k)
		}
	}
	// The single-item route carries the item's UserData too, with all fields.
	var one map[string]any
	getJSON(t, ts, "/Items/"+s.EpisodeID(1, 2, 3)+"?userId="+uid, api, &one)
	if one["ParentIndexNumber"] != 2.0 || one["IndexNumber"] != 3.0 || one["ProviderIds"] == nil {
		t.Errorf("single episode: %v", one)
	}
}

func TestPagingCoversLibraryOnce(t *testing.T) {
	s, ts := Start(t, Options{Seed: 5, Movies: 37, Series: 3, SeasonsPerSeries: 2, EpisodesPerSeason: 5})
	api, uid := tokenAuth(s.APIKey()), s.UserID("admin")
	seen := map[string]bool{}
	total := -1
	for start := 0; ; start += 10 {
		var res queryResult
		getJSON(t, ts, "/Items?userId="+uid+"&Recursive=true&IncludeItemTypes=Movie,Episode&StartIndex="+itoa(start)+"&Limit=10", api, &res)
		total = res.TotalRecordCount
		for _, it := range res.Items {
			id := it["Id"].(string)
			if seen[id] {
				t.Fatalf("item %s served twice", id)
			}
			seen[id] = true
		}
		if len(res.Items) < 10 {
			break
		}
	}
	if total != 37+30 || len(seen) != total {
		t.Errorf("paged %d items, total %d; want 67", len(seen), total)
	}
	if got := s.Stats()["GET /Items"].ItemsReturned; got != 67 {
		t.Errorf("Stats ItemsReturned = %d, want 67", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestMarkPlayedSemantics(t *testing.T) {
	clock := newClock(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	s, ts := Start(t, Options{Seed: 2, Movies: 3, Now: clock.Now, Users: twoUsers()})
	api, uid := tokenAuth(s.APIKey()), s.UserID("alice")
	movie := s.MovieID(2)
	type ud struct {
		PlaybackPositionTicks int64
		PlayCount             int
		IsFavorite            bool
		LastPlayedDate        string
		Played                bool
		Key                   string
		ItemID                string `json:"ItemId"`
	}
	post := func(method, query string) ud {
		t.Helper()
		status, b := call(t, ts, method, "/UserPlayedItems/"+movie+"?userId="+uid+query, api, nil)
		if status != 200 {
			t.Fatalf("%s %s: %d %s", method, query, status, b)
		}
		var d ud
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	s.SetUserData("alice", movie, UserData{PlaybackPositionTicks: 12345})
	d := post("POST", "&datePlayed=20240501123000")
	want := ud{PlayCount: 1, LastPlayedDate: "2024-05-01T12:30:00.0000000Z", Played: true, Key: d.Key, ItemID: movie}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("mark played with yyyyMMddHHmmss (-want +got):\n%s", diff)
	}
	d = post("POST", "&datePlayed=2024-06-02T08:15:30.250%2B02:00")
	if d.PlayCount != 2 || d.LastPlayedDate != "2024-06-02T06:15:30.25Z" {
		t.Errorf("ISO date with offset: PlayCount %d LastPlayedDate %s; want 2 and the UTC time", d.PlayCount, d.LastPlayedDate)
	}
	d = post("POST", "")
	if d.PlayCount != 2 || d.LastPlayedDate != "2024-06-02T06:15:30.25Z" {
		t.Errorf("played without a date: PlayCount %d LastPlayedDate %s; want the old count and the OLD date kept", d.PlayCount, d.LastPlayedDate)
	}
	d = post("DELETE", "")
	if diff := cmp.Diff(ud{Key: d.Key, ItemID: movie}, d); diff != "" {
		t.Errorf("unplayed must clear count, date, position and flag (-want +got):\n%s", diff)
	}
	d = post("POST", "")
	if d.PlayCount != 1 || d.LastPlayedDate != "2025-03-01T10:00:00.0000000Z" {
		t.Errorf("first play without a date: PlayCount %d date %s; want 1 and now", d.PlayCount, d.LastPlayedDate)
	}
	if status, _ := call(t, ts, "POST", "/UserPlayedItems/"+movie+"?userId="+uid+"&datePlayed=yesterday", api, nil); status != http.StatusBadRequest {
		t.Errorf("unparseable datePlayed: status %d, want 400", status)
	}
	// Played and PlayCount are independent: POST UserData can make PlayCount 9, Played false.
	status, b := call(t, ts, "POST", "/UserItems/"+movie+"/UserData?userId="+uid, api, `{"PlayCount":"9","Played":false}`)
	if status != 200 {
		t.Fatalf("POST UserData with a numeric string: %d %s", status, b)
	}
	_ = json.Unmarshal(b, &d)
	if d.PlayCount != 9 || d.Played || d.LastPlayedDate != "2025-03-01T10:00:00.0000000Z" {
		t.Errorf("POST UserData copies given fields only: %+v", d)
	}
}

func TestUserDataUpdateHasNoResumeRules(t *testing.T) {
	s, ts := Start(t, Options{Seed: 2, Movies: 1})
	api, uid, movie := tokenAuth(s.APIKey()), s.UserID("admin"), s.MovieID(0)
	it, _ := s.Item(movie)
	almostEnd := int64(it.RunTime/100) - 10_000_000 // 1 s before the end: playback would mark it played
	call(t, ts, "POST", "/UserItems/"+movie+"/UserData?userId="+uid, api, map[string]any{"PlaybackPositionTicks": almostEnd})
	d, _ := s.UserData("admin", movie)
	if d.Played || d.PlaybackPositionTicks != almostEnd {
		t.Errorf("POST UserData applied resume rules: %+v", d)
	}
	if status, _ := call(t, ts, "POST", "/UserItems/"+movie+"/UserData?userId="+uid, api, `{"PlaybackPositionTicks":"soon"}`); status != http.StatusBadRequest {
		t.Errorf("non-numeric ticks: status %d, want 400", status)
	}
}

func TestPlaybackResumeRules(t *testing.T) {
	s, _ := Start(t, Options{Seed: 4, Movies: 1})
	movie := s.MovieID(0)
	it, _ := s.Item(movie)
	short, err := s.AddItem(NewItem{Type: "Movie", Name: "Short", RunTime: 4 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	run := it.RunTime
	for _, tc := range []struct {
		name      string
		item      string
		stopAt    time.Duration
		played    bool
		position  time.Duration
		completed bool
	}{
		{"under 5 % drops the position", movie, run * 3 / 100, false, 0, false},
		{"in the middle keeps the position", movie, run / 2, false, run / 2, false},
		{"over 90 % is played", movie, run * 95 / 100, true, 0, true},
		{"within a second of the end is played", movie, run - 500*time.Millisecond, true, 0, true},
		{"runtime under 5 minutes is played", short.ID, 2 * time.Minute, true, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = s.SetUserData("admin", tc.item, UserData{})
			p, err := s.StartPlayback("admin", tc.item, PlaybackOptions{})
			if err != nil {
				t.Fatal(err)
			}
			completed, err := p.Stop(tc.stopAt)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := s.UserData("admin", tc.item)
			if completed != tc.completed || d.Played != tc.played || d.PlaybackPositionTicks != int64(tc.position/100) {
				t.Errorf("completed %v played %v position %d; want %v %v %d", completed, d.Played, d.PlaybackPositionTicks, tc.completed, tc.played, int64(tc.position/100))
			}
			if d.PlayCount != 1 || d.LastPlayedDate.IsZero() {
				t.Errorf("the start counts a play and dates it: %+v", d)
			}
		})
	}
	// Progress past 90 % marks played before the stop; a stop without position is a full play.
	_ = s.SetUserData("admin", movie, UserData{})
	p, _ := s.StartPlayback("admin", movie, PlaybackOptions{})
	_ = p.Progress(run * 92 / 100)
	if d, _ := s.UserData("admin", movie); !d.Played {
		t.Error("progress at 92 % did not mark played")
	}
	completed, _ := p.StopWithoutPosition()
	if d, _ := s.UserData("admin", movie); !completed || d.PlayCount != 2 {
		t.Errorf("stop without position: completed %v PlayCount %d; want true 2", completed, d.PlayCount)
	}
}

func TestMinDateLastSavedForUserFiltersItemsNotUserData(t *testing.T) {
	clock := newClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s, ts := Start(t, Options{Seed: 9, Movies: 10, Now: clock.Now})
	api, uid := tokenAuth(s.APIKey()), s.UserID("admin")
	since := "2024-12-31T00:00:00Z"
	watched, refreshed := s.MovieID(3), s.MovieID(5)
	call(t, ts, "POST", "/UserPlayedItems/"+watched+"?userId="+uid+"&datePlayed=20250101000000", api, nil)
	if err := s.TouchItem(refreshed, clock.Now()); err != nil {
		t.Fatal(err)
	}
	var res queryResult
	getJSON(t, ts, "/Items?userId="+uid+"&Recursive=true&IncludeItemTypes=Movie&MinDateLastSavedForUser="+since, api, &res)
	var ids []string
	for _, it := range res.Items {
		ids = append(ids, it["Id"].(string))
	}
	if diff := cmp.Diff([]string{refreshed}, ids); diff != "" {
		t.Errorf("MinDateLastSavedForUser must find the metadata refresh and miss the watch (-want +got):\n%s", diff)
	}
}

func TestMinDateLastSavedAloneFailsBefore1011(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    int
	}{{"10.10.7", http.StatusInternalServerError}, {Version10_11, http.StatusOK}} {
		s, ts := Start(t, Options{Version: tc.version, Movies: 2})
		api := tokenAuth(s.APIKey())
		if status, _ := call(t, ts, "GET", "/Items?Recursive=true&MinDateLastSaved=2020-01-01T00:00:00Z", api, nil); status != tc.want {
			t.Errorf("%s: MinDateLastSaved alone: status %d, want %d", tc.version, status, tc.want)
		}
		if status, _ := call(t, ts, "GET", "/Items?Recursive=true&MinDateLastSaved=2020-01-01T00:00:00Z&MinDateLastSavedForUser=2020-01-01T00:00:00Z", api, nil); status != http.StatusOK {
			t.Errorf("%s: both parameters: status %d, want 200", tc.version, status)
		}
	}
}

// The delta query a backend uses: newest plays first, paging stops at `since`.
func TestDeltaQueryReadsOnlyWhatChanged(t *testing.T) {
	clock := newClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	s, ts := Start(t, Options{Seed: 21, Movies: 2000, Series: 20, SeasonsPerSeries: 2, EpisodesPerSeason: 25, PlayedFraction: 0.3, ResumeFraction: 0.05, Now: clock.Now})
	api, uid := tokenAuth(s.APIKey()), s.UserID("admin")
	since := clock.Now()
	var played []string
	for i := 0; i < 10; i++ {
		clock.Advance(time.Minute)
		id := s.MovieID(100 + i*7)
		if i%2 == 1 {
			id = s.EpisodeID(i, 1, 3)
		}
		p, _ := s.StartPlayback("admin", id, PlaybackOptions{})
		clock.Advance(time.Minute)
		it, _ := s.Item(id)
		if _, err := p.Stop(it.RunTime); err != nil {
			t.Fatal(err)
		}
		played = append([]string{id}, played...) // newest first
	}
	s.ResetStats()
	var got []string
	for start := 0; ; start += 5 {
		var res queryResult
		getJSON(t, ts, "/Items?userId="+uid+"&Recursive=true&IncludeItemTypes=Movie,Episode&Filters=IsPlayed&SortBy=DatePlayed&SortOrder=Descending&Fields=ProviderIds&StartIndex="+itoa(start)+"&Limit=5", api, &res)
		stop := false
		for _, it := range res.Items {
			last, _ := time.Parse(time.RFC3339Nano, it["UserData"].(map[string]any)["LastPlayedDate"].(string))
			if last.Before(since) {
				stop = true
				break
			}
			got = append(got, it["Id"].(string))
		}
		if stop || len(res.Items) == 0 {
			break
		}
	}
	if diff := cmp.Diff(played, got); diff != "" {
		t.Errorf("delta by DatePlayed (-want +got):\n%s", diff)
	}
	if n := s.ItemsReturned(); n > 20 {
		t.Errorf("the delta read %d items; it should read O(10), not the %d-item library", n, s.ItemCount())
	}
}

func TestAnyProviderIdEqualsIsIgnored(t *testing.T) {
	s, ts := Start(t, Options{Seed: 1, Movies: 6})
	var res queryResult
	getJSON(t, ts, "/Items?Recursive=true&IncludeItemTypes=Movie&AnyProviderIdEquals=imdb.tt1000002", tokenAuth(s.APIKey()), &res)
	if res.TotalRecordCount != 6 {
		t.Errorf("Jellyfin has no AnyProviderIdEquals API parameter; got %d items, want the unfiltered 6", res.TotalRecordCount)
	}
}

func TestFaultInjection(t *testing.T) {
	s, ts := Start(t, Options{Movies: 1})
	api := tokenAuth(s.APIKey())
	s.InjectFault(Fault{Route: "GET /Items", Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}, Times: 2})
	for i, want := range []int{429, 429, 200} {
		if got, _ := call(t, ts, "GET", "/Items?Recursive=true", api, nil); got != want {
			t.Errorf("request %d: status %d, want %d", i, got, want)
		}
	}
	remove := s.InjectFault(Fault{Route: "/System/Info", Status: http.StatusUnauthorized})
	if got, _ := call(t, ts, "GET", "/System/Info", api, nil); got != 401 {
		t.Errorf("401 fault: got %d", got)
	}
	remove()
	if got, _ := call(t, ts, "GET", "/System/Info", api, nil); got != 200 {
		t.Errorf("after removing the fault: got %d", got)
	}
	// A slow route gives up when the client does.
	s.InjectFault(Fault{Route: "GET /Sessions", Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/Sessions", nil)
	req.Header.Set("Authorization", `MediaBrowser Token="`+s.APIKey()+`"`)
	if _, err := ts.Client().Do(req); err == nil {
		t.Error("a one-hour delay answered before the client's deadline")
	}
	s.ClearFaults()
	if got := s.Stats()["GET /Items"].Statuses[429]; got != 2 {
		t.Errorf("Stats counted %d 429s, want 2", got)
	}
}

func TestDeterministicLibrary(t *testing.T) {
	a := MustNew(Options{Seed: 42, Movies: 50, Series: 3})
	b := MustNew(Options{Seed: 42, Movies: 50, Series: 3})
	c := MustNew(Options{Seed: 43, Movies: 50, Series: 3})
	if diff := cmp.Diff(a.ListItems(ItemFilter{}), b.ListItems(ItemFilter{})); diff != "" {
		t.Errorf("same seed, different library:\n%s", diff)
	}
	if a.MovieID(0) == c.MovieID(0) || a.ServerID() == c.ServerID() {
		t.Error("different seeds gave the same ids")
	}
	it, ok := a.FindByProviderID("imdb", "tt1000007")
	if ok {
		t.Errorf("movie 7 is one of the movies without an imdb id, found %v", it)
	}
	it, ok = a.FindByProviderID("TMDB", "10007")
	if !ok || it.ID != a.MovieID(7) {
		t.Errorf("FindByProviderID(tmdb 10007) = %v %v, want movie 7", it.ID, ok)
	}
}

func TestOptionErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Movies: -1}, "Movies"},
		{Options{Version: "ten"}, "Version"},
		{Options{PlayedFraction: 1.5}, "PlayedFraction"},
		{Options{Users: []User{{Name: "a"}, {Name: "A"}}}, "Users[1].Name"},
		{Options{ServerID: "xyz"}, "ServerID"},
		{Options{Webhooks: []WebhookTarget{{URL: "not a url"}}}, "Webhooks[0].URL"},
		{Options{Webhooks: []WebhookTarget{{URL: "http://x", Format: 3}}}, "Webhooks[0].Format"},
	} {
		if _, err := New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) error %v, want one naming %s", tc.o, err, tc.want)
		}
	}
}

func TestSessionsShowPlayback(t *testing.T) {
	s, ts := Start(t, Options{Seed: 1, Movies: 1, Users: twoUsers()})
	p, err := s.StartPlayback("alice", s.MovieID(0), PlaybackOptions{Position: time.Minute, Device: "TV"})
	if err != nil {
		t.Fatal(err)
	}
	var sessions []map[string]any
	getJSON(t, ts, "/Sessions", tokenAuth(s.APIKey()), &sessions)
	if len(sessions) != 1 || sessions[0]["UserName"] != "alice" || sessions[0]["NowPlayingItem"].(map[string]any)["Id"] != s.MovieID(0) {
		t.Fatalf("sessions: %v", sessions)
	}
	if ps := sessions[0]["PlayState"].(map[string]any); ps["PositionTicks"] != float64(600000000) {
		t.Errorf("PlayState: %v", ps)
	}
	_, _ = p.Stop(2 * time.Minute)
	getJSON(t, ts, "/Sessions", tokenAuth(s.UserToken("bob")), &sessions)
	if len(sessions) != 0 {
		t.Errorf("bob sees alice's session: %v", sessions)
	}
}

func TestItemQueryFilters(t *testing.T) {
	s, ts := Start(t, Options{Seed: 6, Movies: 8, Series: 2, SeasonsPerSeries: 3, EpisodesPerSeason: 4})
	api, uid := tokenAuth(s.APIKey()), s.UserID("admin")
	_ = s.SetUserData("admin", s.MovieID(2), UserData{Played: true, PlayCount: 1})
	_ = s.SetUserData("admin", s.EpisodeID(1, 2, 3), UserData{PlaybackPositionTicks: 5 * 60 * 10_000_000, PlayCount: 1})
	_ = s.SetUserData("admin", s.MovieID(5), UserData{IsFavorite: true})
	ids := func(path string) []string {
		t.Helper()
		var res queryResult
		getJSON(t, ts, path, api, &res)
		var out []string
		for _, it := range res.Items {
			out = append(out, it["Id"].(string))
		}
		if res.TotalRecordCount < len(out) {
			t.Errorf("%s: TotalRecordCount %d < %d items", path, res.TotalRecordCount, len(out))
		}
		return out
	}
	base := "/Items?userId=" + uid
	for _, tc := range []struct {
		name  string
		query string
		want  []string
	}{
		{"no parent, not recursive: the libraries", "", []string{s.LibraryID("movies"), s.LibraryID("tvshows"), s.LibraryID("music")}},
		{"series children are seasons", "&ParentId=" + s.SeriesID(1), []string{s.SeasonID(1, 1), s.SeasonID(1, 2), s.SeasonID(1, 3)}},
		{"season children are episodes", "&ParentId=" + s.SeasonID(0, 2), []string{s.EpisodeID(0, 2, 1), s.EpisodeID(0, 2, 2), s.EpisodeID(0, 2, 3), s.EpisodeID(0, 2, 4)}},
		{"played movies", "&Recursive=true&IncludeItemTypes=Movie&Filters=IsPlayed", []string{s.MovieID(2)}},
		{"isPlayed=true is the same filter", "&Recursive=true&IncludeItemTypes=Movie&isPlayed=true", []string{s.MovieID(2)}},
		{"resumable", "&Recursive=true&Filters=IsResumable", []string{s.EpisodeID(1, 2, 3)}},
		{"favourites", "&Recursive=true&Filters=IsFavorite", []string{s.MovieID(5)}},
		{"ids", "&Ids=" + s.MovieID(7) + "," + s.MovieID(1), []string{s.MovieID(1), s.MovieID(7)}},
		{"music library is empty", "&Recursive=true&ParentId=" + s.LibraryID("music"), nil},
		{"sort by name descending", "&Recursive=true&IncludeItemTypes=Series&SortBy=SortName&SortOrder=Descending", []string{s.SeriesID(1), s.SeriesID(0)}},
	} {
		if diff := cmp.Diff(tc.want, ids(base+tc.query)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	if n := len(ids(base + "&Recursive=true&IncludeItemTypes=Movie&isPlayed=false")); n != 7 {
		t.Errorf("unplayed movies: %d, want 7", n)
	}
	if n := len(ids(base + "&Recursive=true&ParentId=" + s.LibraryID("tvshows") + "&IncludeItemTypes=Episode")); n != 24 {
		t.Errorf("episodes in the shows library: %d, want 24", n)
	}
	for _, bad := range []string{"&Filters=IsWatched", "&SortBy=Popularity", "&Limit=-1", "&IncludeItemTypes=Film", "&Recursive=maybe", "&MinDateLastSaved=last-week"} {
		if status, body := call(t, ts, "GET", base+bad, api, nil); status != http.StatusBadRequest || !strings.Contains(string(body), "parameter") {
			t.Errorf("%s: status %d body %s; want 400 naming the parameter", bad, status, body)
		}
	}
}
