package fake

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func fixtureKeys(t *testing.T, name string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return keysOf(m)
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func subset(small, big []string) []string {
	have := map[string]bool{}
	for _, k := range big {
		have[k] = true
	}
	var missing []string
	for _, k := range small {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	return missing
}

func byType(t *testing.T, hooks []capturedHook) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, h := range hooks {
		m := decodeHook(t, h)
		nt, _ := m["NotificationType"].(string)
		out[nt] = append(out[nt], m)
	}
	return out
}

func TestWebhookShapesMatchCaptures(t *testing.T) {
	sink := newSink(t)
	s, _ := Start(t, Options{Seed: 8, Series: 1, SeasonsPerSeries: 1, EpisodesPerSeason: 3, Users: twoUsers(),
		Webhooks: []WebhookTarget{{URL: sink.URL}}})
	ep := s.EpisodeID(0, 1, 2)
	p, err := s.StartPlayback("alice", ep, PlaybackOptions{Position: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Progress(2 * time.Minute)
	_, _ = p.Stop(3 * time.Minute)
	_ = s.TogglePlayed("alice", ep, false)
	hooks := sink.Drain(t, s)
	for _, h := range hooks {
		if got := h.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type %q, want the Generic destination's text/plain; charset=utf-8", got)
		}
		if got := h.Header.Get("User-Agent"); got != "Jellyfin-Server/10.11.11" {
			t.Errorf("User-Agent %q", got)
		}
	}
	got := byType(t, hooks)
	var order []string
	for _, h := range hooks {
		m := decodeHook(t, h)
		order = append(order, m["NotificationType"].(string)+"/"+strOr(m["SaveReason"]))
	}
	want := []string{"UserDataSaved/PlaybackStart", "PlaybackStart/", "UserDataSaved/PlaybackProgress", "PlaybackProgress/",
		"UserDataSaved/PlaybackFinished", "PlaybackStop/", "UserDataSaved/TogglePlayed"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Fatalf("event order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(fixtureKeys(t, "webhook_PlaybackStop_episode_10.10.3_sendallproperties.json"), keysOf(got["PlaybackStop"][0]), ignoreProviders); diff != "" {
		t.Errorf("PlaybackStop keys differ from the 10.10.3 capture (-capture +fake):\n%s", diff)
	}
	unplayed := got["UserDataSaved"][3]
	if diff := cmp.Diff(fixtureKeys(t, "webhook_UserDataSaved_TogglePlayed_unplayed_episode_10.10.3.json"), keysOf(unplayed), ignoreProviders); diff != "" {
		t.Errorf("UserDataSaved (unplayed) keys differ from the 10.10.3 capture (-capture +fake):\n%s", diff)
	}
	if missing := subset(fixtureKeys(t, "webhook_PlaybackStart_episode_10.8.10_sendallproperties.json"), keysOf(got["PlaybackStart"][0])); len(missing) > 0 {
		t.Errorf("PlaybackStart lacks keys the 10.8.10 capture has: %v", missing)
	}
	if missing := subset(fixtureKeys(t, "jellyfin_webhook_inspect_playbackstop.json"), keysOf(got["PlaybackStop"][0])); len(missing) > 0 {
		t.Errorf("PlaybackStop lacks the identity keys WatchState routes on: %v", missing)
	}
	stop := got["PlaybackStop"][0]
	for k, v := range map[string]any{
		"PlayedToCompletion": false, "PlaybackPositionTicks": float64(1_800_000_000), "PlaybackPosition": "00:03:00",
		"ItemId": ep, "UserId": s.UserID("alice"), "NotificationUsername": "alice", "ItemType": "Episode",
		"SeasonNumber": 1.0, "EpisodeNumber": 2.0, "EpisodeNumber00": "02", "SeriesId": s.SeriesID(0), "Provider_tvdb": "1000001",
		"Video_0_ColorTransfer": nil, "ServerId": s.ServerID(),
	} {
		if !cmp.Equal(stop[k], v) {
			t.Errorf("PlaybackStop[%s] = %#v, want %#v", k, stop[k], v)
		}
	}
	if _, ok := stop["Provider_imdb"]; ok {
		t.Error("episode 1 of the generated show has no imdb id; the webhook must carry the EPISODE's ids only")
	}
	if unplayed["SaveReason"] != "TogglePlayed" || unplayed["Played"] != false || unplayed["PlayCount"] != 0.0 {
		t.Errorf("toggle unplayed: %v %v %v", unplayed["SaveReason"], unplayed["Played"], unplayed["PlayCount"])
	}
}

// Provider_<key> keys follow the item's provider ids, which differ between the capture's
// item and the fake's.
var ignoreProviders = cmpopts.IgnoreSliceElements(func(k string) bool { return strings.HasPrefix(k, "Provider_") })

func strOr(v any) string { s, _ := v.(string); return s }

func TestWebhookEchoesOwnWrites(t *testing.T) {
	sink := newSink(t)
	s, ts := Start(t, Options{Seed: 8, Movies: 3, Webhooks: []WebhookTarget{{URL: sink.URL, Format: WebhookJSON}}})
	api, uid, m := tokenAuth(s.APIKey()), s.UserID("admin"), s.MovieID(1)
	call(t, ts, "POST", "/UserPlayedItems/"+m+"?userId="+uid+"&datePlayed=20240102030405", api, nil)
	call(t, ts, "POST", "/UserItems/"+m+"/UserData?userId="+uid, api, map[string]any{"PlaybackPositionTicks": 42})
	hooks := sink.Drain(t, s)
	if len(hooks) != 2 {
		t.Fatalf("%d webhooks, want 2", len(hooks))
	}
	if ct := hooks[0].Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("WebhookJSON Content-Type %q", ct)
	}
	a, b := decodeHook(t, hooks[0]), decodeHook(t, hooks[1])
	if a["SaveReason"] != "TogglePlayed" || a["LastPlayedDate"] != "2024-01-02T03:04:05.0000000Z" || a["Played"] != true {
		t.Errorf("mark played through the API echoes as TogglePlayed: %v %v %v", a["SaveReason"], a["LastPlayedDate"], a["Played"])
	}
	if b["SaveReason"] != "UpdateUserData" || b["PlaybackPositionTicks"] != 42.0 {
		t.Errorf("POST UserData echoes as UpdateUserData: %v %v", b["SaveReason"], b["PlaybackPositionTicks"])
	}
}

func TestWebhookOnePerSessionUser(t *testing.T) {
	sink := newSink(t)
	s, _ := Start(t, Options{Seed: 1, Movies: 1, Users: twoUsers(),
		Webhooks: []WebhookTarget{{URL: sink.URL, Events: []string{"PlaybackStart"}}}})
	if _, err := s.StartPlayback("alice", s.MovieID(0), PlaybackOptions{AdditionalUsers: []string{"bob"}}); err != nil {
		t.Fatal(err)
	}
	got := byType(t, sink.Drain(t, s))
	if len(got) != 1 || len(got["PlaybackStart"]) != 2 {
		t.Fatalf("want two PlaybackStart (Events filter drops the rest), got %v", keysOfTypes(got))
	}
	a, b := got["PlaybackStart"][0], got["PlaybackStart"][1]
	if a["UserId"] != s.UserID("alice") || b["UserId"] != s.UserID("bob") || b["NotificationUsername"] != "bob" || a["Id"] != b["Id"] {
		t.Errorf("per-user copies: %v/%v %v/%v session %v/%v", a["UserId"], a["NotificationUsername"], b["UserId"], b["NotificationUsername"], a["Id"], b["Id"])
	}
	// both users' plays were counted
	for _, u := range []string{"alice", "bob"} {
		if d, _ := s.UserData(u, s.MovieID(0)); d.PlayCount != 1 {
			t.Errorf("%s PlayCount %d", u, d.PlayCount)
		}
	}
}

func keysOfTypes(m map[string][]map[string]any) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"x"+itoa(len(v)))
	}
	sort.Strings(out)
	return out
}

func TestWebhookUserFilterAndItemAdded(t *testing.T) {
	sink := newSink(t)
	s, _ := Start(t, Options{Seed: 1, Movies: 1, Users: twoUsers(), Webhooks: []WebhookTarget{{URL: sink.URL, Users: []string{"bob"}}}})
	_ = s.TogglePlayed("alice", s.MovieID(0), true) // filtered out: alice is not in UserFilter
	_ = s.TogglePlayed("bob", s.MovieID(0), true)
	it, err := s.AddItem(NewItem{Type: "Movie", Name: "New One", Year: 2024, ProviderIDs: map[string]string{"Tmdb": "999", "Imdb": "tt0999"}})
	if err != nil {
		t.Fatal(err)
	}
	got := byType(t, sink.Drain(t, s))
	if len(got["UserDataSaved"]) != 1 || got["UserDataSaved"][0]["NotificationUsername"] != "bob" {
		t.Errorf("UserFilter: %v", got["UserDataSaved"])
	}
	added := got["ItemAdded"]
	if len(added) != 1 {
		t.Fatalf("ItemAdded: %d", len(added))
	}
	for _, k := range []string{"UserId", "NotificationUsername", "PlaybackPositionTicks"} {
		if _, ok := added[0][k]; ok {
			t.Errorf("ItemAdded carries %s; it has no user", k)
		}
	}
	if added[0]["ItemId"] != it.ID || added[0]["Provider_tmdb"] != "999" || added[0]["Provider_imdb"] != "tt0999" || added[0]["Year"] != 2024.0 {
		t.Errorf("ItemAdded: %v", added[0])
	}
}

func TestWebhookQuoteEscapeQuirk(t *testing.T) {
	sink := newSink(t)
	s, _ := Start(t, Options{Seed: 1, Movies: 8, Webhooks: []WebhookTarget{{URL: sink.URL}, {URL: sink.URL, NoQuoteEscape: true}}})
	quoted := s.MovieID(7) // generated movie 7 has quotes in its name
	_ = s.TogglePlayed("admin", quoted, true)
	hooks := sink.Drain(t, s)
	if len(hooks) != 2 {
		t.Fatalf("%d hooks", len(hooks))
	}
	withQuirk, without := decodeHook(t, hooks[0]), decodeHook(t, hooks[1])
	if withQuirk["Name"] != `The \"Quoted\" Movie 00007` {
		t.Errorf("Escape() quirk: Name decodes to %q, want a backslash before each quote", withQuirk["Name"])
	}
	if without["Name"] != `The "Quoted" Movie 00007` {
		t.Errorf("NoQuoteEscape: Name %q", without["Name"])
	}
	if !strings.Contains(string(hooks[0].Body), `\u0022`) && !strings.Contains(string(hooks[0].Body), `\\\"`) {
		t.Errorf("raw body does not carry an escaped backslash-quote: %s", hooks[0].Body)
	}
}

func TestWebhookGenericForm(t *testing.T) {
	sink := newSink(t)
	s, _ := Start(t, Options{Seed: 1, Movies: 1, Webhooks: []WebhookTarget{{URL: sink.URL, Format: WebhookForm, Fields: map[string]string{"Source": "kw"}}}})
	p, _ := s.StartPlayback("admin", s.MovieID(0), PlaybackOptions{})
	_ = p.Pause(90 * time.Second)
	hooks := sink.Drain(t, s)
	last := hooks[len(hooks)-1]
	if ct := last.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q", ct)
	}
	v, err := url.ParseQuery(string(last.Body))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"NotificationType": "PlaybackProgress", "IsPaused": "true", "PlaybackPositionTicks": "900000000",
		"Video_0_ColorTransfer": "", "Source": "kw", "ItemId": s.MovieID(0)} {
		if got := v.Get(k); got != want {
			t.Errorf("form %s = %q, want %q", k, got, want)
		}
	}
}

func TestWebhookTimestamps(t *testing.T) {
	sink := newSink(t)
	zone := time.FixedZone("CEST", 2*3600)
	for _, tc := range []struct {
		now           time.Time
		local, utcStr string
	}{
		{time.Date(2025, 8, 15, 21, 19, 42, 364477800, time.UTC), "2025-08-15T23:19:42.3644778+02:00", "2025-08-15T21:19:42.3644778Z"},
		// zero milliseconds: the literal format writes a wrong "Z" on the local time
		{time.Date(2025, 8, 15, 21, 19, 42, 0, time.UTC), "2025-08-15T23:19:42.0000000Z", "2025-08-15T21:19:42.0000000Z"},
	} {
		clock := newClock(tc.now)
		s, _ := Start(t, Options{Seed: 1, Movies: 1, Now: clock.Now, Location: zone, Webhooks: []WebhookTarget{{URL: sink.URL}}})
		_ = s.TogglePlayed("admin", s.MovieID(0), false)
		m := decodeHook(t, sink.Drain(t, s)[0])
		if m["Timestamp"] != tc.local || m["UtcTimestamp"] != tc.utcStr {
			t.Errorf("Timestamp %v UtcTimestamp %v; want %s %s", m["Timestamp"], m["UtcTimestamp"], tc.local, tc.utcStr)
		}
	}
}

func TestItemDTOKeysMatchCapture(t *testing.T) {
	s, ts := Start(t, Options{Seed: 1, Series: 1, SeasonsPerSeries: 1, EpisodesPerSeason: 1, Movies: 1, PlayedFraction: 1})
	var res queryResult
	getJSON(t, ts, "/Items?userId="+s.UserID("admin")+"&Recursive=true&IncludeItemTypes=Episode,Movie,Series", tokenAuth(s.APIKey()), &res)
	var capEp, capMix struct{ Items []map[string]any }
	for name, dst := range map[string]any{"api_items_list_episode_played_10.x.json": &capEp, "api_items_list_series_and_movie_10.x.json": &capMix} {
		raw, _ := os.ReadFile(filepath.Join("testdata", name))
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	capture := map[string]map[string]any{"Episode": capEp.Items[0]}
	allowed := keysOf(capEp.Items[0])
	for _, it := range capMix.Items {
		capture[it["Type"].(string)] = it
		allowed = append(allowed, keysOf(it)...)
	}
	for _, it := range res.Items {
		c := capture[it["Type"].(string)]
		if missing := subset(keysOf(it), allowed); len(missing) > 0 {
			t.Errorf("%s has keys no captured list item has: %v", it["Type"], missing)
		}
		cu, fu := keysOf(c["UserData"].(map[string]any)), keysOf(it["UserData"].(map[string]any))
		if missing := subset(fu, cu); len(missing) > 0 {
			t.Errorf("%s UserData has extra keys %v (capture: %v)", it["Type"], missing, cu)
		}
	}
}
