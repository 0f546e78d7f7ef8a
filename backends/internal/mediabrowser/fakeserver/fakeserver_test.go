package fakeserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestJSONEscaping(t *testing.T) {
	for _, tc := range []struct {
		in             string
		jellyfin, emby string
	}{
		{`plain`, `"plain"`, `"plain"`},
		{`a "quoted" \ word`, `"a \"quoted\" \\ word"`, `"a \"quoted\" \\ word"`},
		{"a+b<c>&'`", `"a\u002Bb\u003Cc\u003E\u0026\u0027\u0060"`, "\"a+b<c>&'`\""},
		{"é 蜘蛛 😀", `"\u00E9 \u8718\u86DB \uD83D\uDE00"`, `"é 蜘蛛 😀"`},
		{"tab\tnl\n\x01", `"tab\tnl\n\u0001"`, `"tab\tnl\n\u0001"`},
	} {
		for _, jf := range []bool{true, false} {
			w := &jw{jellyfin: jf}
			w.str(tc.in)
			want := tc.emby
			if jf {
				want = tc.jellyfin
			}
			if string(w.b) != want {
				t.Errorf("jellyfin=%v quote(%q) = %s, want %s", jf, tc.in, w.b, want)
			}
			var back string
			if err := json.Unmarshal(w.b, &back); err != nil || back != tc.in {
				t.Errorf("jellyfin=%v: %s decodes to %q (%v)", jf, w.b, back, err)
			}
		}
	}
	w := &jw{}
	w.obj()
	w.kstr("a", "x")
	w.karr("b")
	w.num(1)
	w.obj()
	w.endObj()
	w.null()
	w.endArr()
	w.kobj("c")
	w.endObj()
	w.endObj()
	if string(w.b) != `{"a":"x","b":[1,{},null],"c":{}}` {
		t.Errorf("writer: %s", w.b)
	}
}

func TestDateFormats(t *testing.T) {
	for _, tc := range []struct {
		t        time.Time
		jellyfin string
		emby     string
	}{
		{time.Date(2024, 11, 21, 21, 4, 49, 571_000_000, time.UTC), "2024-11-21T21:04:49.571Z", "2024-11-21T21:04:49.5710000Z"},
		{time.Date(2024, 11, 28, 18, 1, 52, 403_092_800, time.UTC), "2024-11-28T18:01:52.4030928Z", "2024-11-28T18:01:52.4030928Z"},
		{time.Date(1999, 11, 24, 0, 0, 0, 0, time.UTC), "1999-11-24T00:00:00.0000000Z", "1999-11-24T00:00:00.0000000Z"},
		// milliseconds 0 but sub-millisecond ticks: the literal format still applies
		{time.Date(2024, 1, 1, 0, 0, 0, 123_400, time.UTC), "2024-01-01T00:00:00.0001234Z", "2024-01-01T00:00:00.0001234Z"},
	} {
		if got := jellyfinDate(tc.t); got != tc.jellyfin {
			t.Errorf("jellyfinDate(%v) = %s, want %s", tc.t, got, tc.jellyfin)
		}
		if got := embyDate(tc.t); got != tc.emby {
			t.Errorf("embyDate(%v) = %s, want %s", tc.t, got, tc.emby)
		}
	}
	if got := hhmmss(27074985984); got != "00:45:07" {
		t.Errorf("hhmmss = %s", got)
	}
}

func TestItemIDsRoundTrip(t *testing.T) {
	for _, f := range []Flavor{Jellyfin, Emby} {
		s := MustNew(Config{Flavor: f, Seed: 99, Movies: 500, Series: 5})
		if _, err := s.AddItem(NewItem{Type: "Movie", Name: "added"}); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for idx := int32(0); idx < s.itemCount(); idx++ {
			id := s.itemID(idx)
			if seen[id] {
				t.Fatalf("%v: duplicate id %s", f, id)
			}
			seen[id] = true
			back, ok, _ := s.parseItemID(id)
			if !ok || back != idx {
				t.Fatalf("%v: parse(%s) = %d %v, want %d", f, id, back, ok, idx)
			}
		}
		if f == Jellyfin {
			id := s.itemID(7)
			flip := byte('0')
			if id[0] == '0' {
				flip = '1'
			}
			forged := string(flip) + id[1:] // same index bytes, wrong hash bytes
			if _, ok, _ := s.parseItemID(forged); ok {
				t.Errorf("a forged id %s was accepted", forged)
			}
			if _, ok, _ := s.parseItemID(dashed(id)); !ok {
				t.Error("the dashed form of an id was rejected")
			}
		} else if _, ok, _ := s.parseItemID("1"); ok {
			t.Error("an Emby id below the base was accepted")
		}
	}
}

func dashed(id string) string {
	return id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}

func TestApplyPlayState(t *testing.T) {
	const run = 3600 * ticksPerSecond
	for _, tc := range []struct {
		name      string
		runTicks  int64
		pos       *int64
		position  int64
		played    bool
		completed bool
	}{
		{"4.9 % is dropped", run, ptr(run * 49 / 1000), 0, false, false},
		{"5 % is kept", run, ptr(run * 5 / 100), run * 5 / 100, false, false},
		{"90 % is kept", run, ptr(run * 90 / 100), run * 90 / 100, false, false},
		{"90.1 % is played", run, ptr(run * 901 / 1000), 0, true, true},
		{"one second before the end is played", run, ptr(run - ticksPerSecond), 0, true, true},
		{"short item is played", 299 * ticksPerSecond, ptr(100 * ticksPerSecond), 0, true, true},
		{"unknown runtime is played", 0, ptr(100), 0, true, true},
		{"no position means the whole runtime", run, nil, 0, true, true},
	} {
		d := userData{}
		completed := applyPlayState(&d, tc.runTicks, tc.pos)
		if d.position != tc.position || d.played != tc.played || completed != tc.completed {
			t.Errorf("%s: position %d played %v completed %v; want %d %v %v", tc.name, d.position, d.played, completed, tc.position, tc.played, tc.completed)
		}
	}
}

func ptr(v int64) *int64 { return &v }

func TestParseAuthHeader(t *testing.T) {
	for _, tc := range []struct {
		h     string
		emby  bool
		token string
	}{
		{`MediaBrowser Token="abc"`, false, "abc"},
		{`MediaBrowser Client="Jellyfin%20Web", Token=abc`, false, "abc"},
		{`mediabrowser token="a%2Bb"`, false, "a+b"},
		{`Emby Token="abc"`, false, ""},
		{`Emby Token="abc"`, true, "abc"},
		{`Bearer abc`, true, ""},
		{`MediaBrowser`, true, ""},
	} {
		if got := parseAuthHeader(tc.h, tc.emby)["token"]; got != tc.token {
			t.Errorf("parseAuthHeader(%q, %v) token = %q, want %q", tc.h, tc.emby, got, tc.token)
		}
	}
}

// The index-arithmetic path of the import query must return what the general path does.
func TestKindFastPathAgrees(t *testing.T) {
	s := MustNew(Config{Flavor: Jellyfin, Seed: 3, Movies: 23, Series: 4, SeasonsPerSeries: 2, EpisodesPerSeason: 3, PlayedFraction: 0.5})
	if _, err := s.AddItem(NewItem{Type: "Movie", Name: "late movie"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddItem(NewItem{Type: "Episode", Name: "late episode", SeriesID: s.SeriesID(1), SeasonNumber: 5, EpisodeNumber: 1}); err != nil {
		t.Fatal(err)
	}
	yes := true
	var queries []*itemQuery
	for _, inc := range []uint8{0, 1 << kindMovie, 1<<kindMovie | 1<<kindEpisode, 1 << kindSeason, 1 << kindSeries} {
		for _, parent := range []int32{-1, viewMovies, viewShows, viewMusic} {
			for _, win := range [][2]int{{0, -1}, {0, 5}, {7, 10}, {20, 1000}, {100, 5}} {
				queries = append(queries, &itemQuery{user: 0, recursive: true, parent: parent, include: inc, start: win[0], limit: win[1]})
			}
		}
	}
	queries = append(queries, &itemQuery{user: 0, recursive: true, parent: -1, folder: &yes, limit: -1},
		&itemQuery{user: 0, recursive: true, parent: -1, exclude: 1 << kindEpisode, limit: -1})
	for i, q := range queries {
		s.noFastPath = false
		fastPage, fastTotal := s.run(q)
		s.noFastPath = true
		slowPage, slowTotal := s.run(q)
		if fastTotal != slowTotal || !cmp.Equal(fastPage, slowPage) {
			t.Errorf("query %d %+v: fast %v/%d, general %v/%d", i, *q, fastPage, fastTotal, slowPage, slowTotal)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer sink.Close()
	s := MustNew(Config{Flavor: Emby, Seed: 1, Movies: 200, Webhooks: []WebhookTarget{{URL: sink.URL}}})
	ts := httptest.NewServer(s)
	defer ts.Close()
	uid := s.UserID("admin")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				m := s.MovieID((g*20 + i) % 200)
				paths := []string{
					"/Users/" + uid + "/Items?Recursive=true&Limit=20&StartIndex=" + strconv.Itoa(i),
					"/Users/" + uid + "/PlayedItems/" + m,
				}
				for j, p := range paths {
					method := "GET"
					if j == 1 {
						method = "POST"
					}
					req, _ := http.NewRequest(method, ts.URL+p, nil)
					req.Header.Set("X-Emby-Token", s.APIKey())
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					_ = resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("%s %s: %d", method, p, resp.StatusCode)
					}
				}
				_ = s.TogglePlayed("admin", m, i%2 == 0)
			}
		}(g)
	}
	wg.Wait()
	if got := s.RequestCount(); got != 8*20*2 {
		t.Errorf("RequestCount %d, want %d", got, 8*20*2)
	}
	if n := len(s.WrittenUserData("admin")); n == 0 || n > 200 {
		t.Errorf("WrittenUserData holds %d rows", n)
	}
}
