package fake

import (
	"bytes"
	"encoding/json"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func missingFrom(small, big []string) []string {
	have := map[string]bool{}
	for _, k := range big {
		have[k] = true
	}
	var out []string
	for _, k := range small {
		if !have[k] {
			out = append(out, k)
		}
	}
	return out
}

var embyDateRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$`)

func TestWebhookShapesMatchCaptures(t *testing.T) {
	sink := newSink(t)
	clock := newClock(time.Date(2025, 6, 13, 17, 17, 5, 123456700, time.UTC))
	s, _ := Start(t, Options{Seed: 4, Movies: 2, Series: 1, SeasonsPerSeries: 1, EpisodesPerSeason: 2, Users: users(), Now: clock.Now,
		Webhooks: []WebhookTarget{{URL: sink.URL, Users: []string{"alice"}}}})
	movie, ep := s.MovieID(1), s.EpisodeID(0, 1, 2)
	p, _ := s.StartPlayback("alice", ep, PlaybackOptions{Position: time.Minute})
	_ = p.Pause(2 * time.Minute)
	_ = p.Unpause(2 * time.Minute)
	_ = p.Progress(3 * time.Minute) // Emby sends no progress event
	_, _ = p.Stop(4 * time.Minute)
	p, _ = s.StartPlayback("alice", movie, PlaybackOptions{})
	it, _ := s.Item(movie)
	_, _ = p.Stop(it.RunTime)
	hooks := sink.Drain(t, s)
	var events []string
	bodies := map[string][]map[string]any{}
	for _, h := range hooks {
		if ct := h.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if ua := h.Header.Get("User-Agent"); ua != "Emby Server/4.8.11.0" {
			t.Errorf("User-Agent %q", ua)
		}
		m := decodeHook(t, h)
		ev := m["Event"].(string)
		events = append(events, ev)
		bodies[ev] = append(bodies[ev], m)
		if !embyDateRE.MatchString(m["Date"].(string)) {
			t.Errorf("Date %q is not UTC with 7 decimals", m["Date"])
		}
	}
	want := []string{"playback.start", "playback.pause", "playback.unpause", "playback.stop", "playback.start", "playback.stop"}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	capStop, capStart := fixture(t, "webhook_playback.stop_movie_4.7.13.json"), fixture(t, "webhook_playback.start_episode_4.7.13.json")
	movieStop, epStart := bodies["playback.stop"][1], bodies["playback.start"][0]
	// 4.8 adds Description to the 4.7.13 envelope.
	if diff := cmp.Diff(append(keysOf(capStop), "Description"), keysOf(movieStop), cmp.Transformer("sort", sortStrings)); diff != "" {
		t.Errorf("top-level keys vs the 4.7.13 capture (+Description) (-want +got):\n%s", diff)
	}
	for _, pair := range []struct {
		name      string
		fake, cap map[string]any
	}{{"stop", movieStop, capStop}, {"start", epStart, capStart}} {
		for _, sub := range []string{"PlaybackInfo", "Session", "User", "Server"} {
			if diff := cmp.Diff(keysOf(pair.cap[sub].(map[string]any)), keysOf(pair.fake[sub].(map[string]any))); diff != "" {
				t.Errorf("%s %s keys (-capture +fake):\n%s", pair.name, sub, diff)
			}
		}
		if extra := missingFrom(keysOf(pair.fake["Item"].(map[string]any)), append(keysOf(capStop["Item"].(map[string]any)), keysOf(capStart["Item"].(map[string]any))...)); len(extra) > 0 {
			t.Errorf("%s Item has keys no capture has: %v", pair.name, extra)
		}
	}
	info := movieStop["PlaybackInfo"].(map[string]any)
	if info["PlayedToCompletion"] != true || info["PositionTicks"] != float64(it.RunTime/100) {
		t.Errorf("movie stop at the end: %v", info)
	}
	for _, ev := range []string{"playback.start", "playback.pause", "playback.unpause"} {
		if _, ok := bodies[ev][0]["PlaybackInfo"].(map[string]any)["PlayedToCompletion"]; ok {
			t.Errorf("%s carries PlayedToCompletion; only playback.stop does", ev)
		}
	}
	item := epStart["Item"].(map[string]any)
	if item["Id"] != ep || item["IndexNumber"] != 2.0 || item["ParentIndexNumber"] != 1.0 || item["SeriesId"] != s.SeriesID(0) || item["SeriesName"] == nil {
		t.Errorf("episode Item: %v", item)
	}
	if pi := item["ProviderIds"].(map[string]any); pi["Tvdb"] != "1000001" {
		t.Errorf("episode ProviderIds are the episode's: %v", pi)
	}
	if u := epStart["User"].(map[string]any); u["Name"] != "alice" || u["Id"] != s.UserID("alice") {
		t.Errorf("User: %v", u)
	}
	if srv := epStart["Server"].(map[string]any); srv["Version"] != "4.8.11.0" || srv["Id"] != s.ServerID() {
		t.Errorf("Server: %v", srv)
	}
}

func sortStrings(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

func TestWebhookMarksEchoAndLibraryEvents(t *testing.T) {
	sink := newSink(t)
	s, ts := Start(t, Options{Seed: 4, Movies: 2, Series: 1, Users: users(),
		Webhooks: []WebhookTarget{{URL: sink.URL, Format: WebhookMultipart, Users: []string{"bob"}}}})
	uid := s.UserID("alice")
	call(t, ts, "POST", "/Users/"+uid+"/PlayedItems/"+s.MovieID(0)+"?DatePlayed=20240101000000", tokenAuth(s.APIKey()), nil)
	_ = s.TogglePlayed("bob", s.MovieID(1), false)
	call(t, ts, "POST", "/Users/"+uid+"/Items/"+s.MovieID(0)+"/UserData", tokenAuth(s.APIKey()), map[string]any{"PlaybackPositionTicks": 5})
	if _, err := s.AddItem(NewItem{Type: "Episode", Name: "Pilot", SeriesID: s.SeriesID(0), SeasonNumber: 3, EpisodeNumber: 1, ProviderIDs: map[string]string{"Tvdb": "42"}}); err != nil {
		t.Fatal(err)
	}
	s.SendTestNotification()
	hooks := sink.Drain(t, s)
	var events []string
	var parsed []map[string]any
	for _, h := range hooks {
		mt, params, err := mime.ParseMediaType(h.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" {
			t.Fatalf("Content-Type %q", h.Header.Get("Content-Type"))
		}
		form, err := multipart.NewReader(bytes.NewReader(h.Body), params["boundary"]).ReadForm(1 << 20)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(form.Value["data"][0]), &m); err != nil {
			t.Fatalf("data part: %v", err)
		}
		events = append(events, m["Event"].(string))
		parsed = append(parsed, m)
	}
	// POST UserData sends nothing on Emby; a new episode in a new season announces both.
	want := []string{"item.markplayed", "item.markunplayed", "library.new", "library.new", "system.notificationtest"}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	if _, ok := parsed[0]["User"]; ok {
		t.Error("alice is not in \"Limit user events to\": her event must carry no User")
	}
	if u, _ := parsed[1]["User"].(map[string]any); u["Name"] != "bob" {
		t.Errorf("bob is listed: User %v", parsed[1]["User"])
	}
	if parsed[0]["Item"].(map[string]any)["Id"] != s.MovieID(0) {
		t.Errorf("markplayed Item: %v", parsed[0]["Item"])
	}
	cap := fixture(t, "emby_webhook_item_markplayed.json")
	if missing := missingFrom(keysOf(cap), keysOf(parsed[0])); len(missing) > 0 {
		t.Errorf("item.markplayed lacks keys WatchState's fixture has: %v", missing)
	}
	if ep := parsed[3]["Item"].(map[string]any); ep["Type"] != "Episode" || ep["ParentIndexNumber"] != 3.0 {
		t.Errorf("library.new episode: %v", ep)
	}
	// The 4.8 data-wrapper and 4.9 fixtures carry no key the fake's bodies lack.
	legacy := fixture(t, "emby_webhook_legacy_48_data_wrapper.json")["data"].(map[string]any)
	for _, fx := range []map[string]any{legacy, fixture(t, "emby_webhook_playback_start_v49.json")} {
		if missing := missingFrom(keysOf(fx), keysOf(parsed[1])); len(missing) > 0 {
			t.Errorf("keys missing vs WatchState fixture: %v", missing)
		}
	}
}

func TestWebhook47HasNoDescription(t *testing.T) {
	sink := newSink(t)
	s, _ := Start(t, Options{Version: Version4_7, Movies: 1, Webhooks: []WebhookTarget{{URL: sink.URL}}})
	_ = s.TogglePlayed("admin", s.MovieID(0), true)
	m := decodeHook(t, sink.Drain(t, s)[0])
	if _, ok := m["Description"]; ok {
		t.Error("4.7 bodies have no Description")
	}
	if m["Server"].(map[string]any)["Version"] != Version4_7 {
		t.Errorf("Server: %v", m["Server"])
	}
}
