package jellyfin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/fakeservertest"
	"github.com/keepwatch/keepwatch/plugins"
)

// fixture loads a testdata body as a delivery with the given Content-Type.
func fixture(t testing.TB, name, contentType string) plugins.WebhookRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", "Jellyfin-Server/10.10.3")
	return plugins.WebhookRequest{Method: http.MethodPost, Headers: h, Body: b, ReceivedAt: time.Date(2025, 8, 16, 0, 0, 0, 0, time.UTC)}
}

// asForm re-encodes a JSON delivery as the Generic Form destination does: every value as
// text, null as "".
func asForm(t *testing.T, req plugins.WebhookRequest) plugins.WebhookRequest {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(req.Body)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	v := url.Values{}
	for k, x := range m {
		if x == nil {
			v.Set(k, "")
			continue
		}
		v.Set(k, fmt.Sprint(x))
	}
	req.Body = []byte(v.Encode())
	req.Headers = req.Headers.Clone()
	req.Headers.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestWebhookFixtures parses every Jellyfin webhook fixture (JSON as text/plain, as the
// plugin sends it by default, and the same keys form-encoded) and checks the result.
func TestWebhookFixtures(t *testing.T) {
	const server, user = "16588a9f062a40c4966586b1d220bffc", "02700c8344d542619b39319296c0d4c7"
	const fakeServer = "474eb603da12e74b581799bde5224d4c"
	addition := func(o plugins.Observation) plugins.WebhookResult {
		return plugins.WebhookResult{ServerID: fakeServer, Event: o.Event, Added: []plugins.Observation{o}}
	}
	rainEpisode := plugins.Observation{
		AccountID: user, AccountName: "Rain", ItemID: "9250ab3d1101d01705c353b78cbb572e",
		Kind: plugins.KindEpisode, Title: "Undertaker", GUIDs: []string{"anidb:238801"},
		ShowID: "0f60e6e72a0890329b0015e48f4b655f", ShowTitle: "86 Eighty-Six", Season: 1, Episode: 1,
		Duration: 1421097 * time.Millisecond,
	}
	with := func(o plugins.Observation, event string, s plugins.State) plugins.Observation {
		o.Event, o.State = event, s
		return o
	}
	tests := []struct {
		file string
		want plugins.WebhookResult
	}{
		{"webhook_PlaybackStop_episode_10.10.3_sendallproperties.json", plugins.WebhookResult{
			ServerID: server, AccountID: user, AccountName: "Rain", Event: "PlaybackStop",
			Observations: []plugins.Observation{with(rainEpisode, "PlaybackStop", plugins.State{
				ProgressKnown: true, Progress: 5672260900 * time.Nanosecond, EventAt: utc("2025-08-15T21:19:42.3644778Z"),
			})},
		}},
		{"webhook_UserDataSaved_TogglePlayed_unplayed_episode_10.10.3.json", plugins.WebhookResult{
			ServerID: server, AccountID: user, AccountName: "Rain", Event: "UserDataSaved",
			Observations: []plugins.Observation{with(rainEpisode, "UserDataSaved/TogglePlayed", plugins.State{
				WatchedKnown: true, Watched: false, ProgressKnown: true, Progress: 0, EventAt: utc("2025-08-15T21:10:08.7698039Z"),
			})},
		}},
		{"webhook_PlaybackStart_episode_10.8.10_sendallproperties.json", plugins.WebhookResult{
			ServerID: "d79d3a6261614419a114595a585xxxxx", AccountID: "9783d2432b0d40a8a716b6aa46xxxxx", AccountName: "Jeaven", Event: "PlaybackStart",
			Observations: []plugins.Observation{{
				AccountID: "9783d2432b0d40a8a716b6aa46xxxxx", AccountName: "Jeaven", ItemID: "4b92551344f53b560fb55cd6700xxxxx",
				Kind: plugins.KindEpisode, Title: "慕灼华逃婚离开", GUIDs: []string{"tmdb:4533239"},
				ShowID: "", ShowTitle: "灼灼风流", Season: 1, Episode: 1, Duration: 27074985984 * 100, Event: "PlaybackStart",
				State: plugins.State{ProgressKnown: true, Progress: 100 * time.Millisecond, Playing: true, EventAt: utc("2023-09-10T08:35:25.3996527Z")},
			}},
		}},
		{"webhook_SessionStart_no-item_10.10.3.json", plugins.WebhookResult{
			ServerID: server, AccountID: user, AccountName: "Rain", Event: "SessionStart", Ignored: "SessionStart: not a play-state event",
		}},
		{"webhook_AuthenticationSuccess_10.10.3.json", plugins.WebhookResult{
			ServerID: server, AccountID: user, AccountName: "Rain", Event: "AuthenticationSuccess", Ignored: "AuthenticationSuccess: not a play-state event",
		}},
		// WatchState's test bodies: no UserId at all, and no completion flag.
		{"jellyfin_webhook_playbackstop.json", plugins.WebhookResult{
			Event: "PlaybackStop", Ignored: "PlaybackStop without UserId: cannot tell whose play state it is",
		}},
		{"jellyfin_webhook_inspect_playbackstop.json", plugins.WebhookResult{
			ServerID: "server-1", AccountID: "user-1", AccountName: "Test User", Event: "PlaybackStop",
			Observations: []plugins.Observation{{AccountID: "user-1", AccountName: "Test User", ItemID: "item-1", Kind: plugins.KindMovie, Event: "PlaybackStop"}},
		}},
		// The fake's ItemAdded bodies for fakeservertest's additions (no user): a movie or an
		// episode is an addition, the item alone; a series or a season is ignored.
		{"fake_ItemAdded_Movie_10.11.11.json", addition(fakeservertest.AddedMovie("c0f3752dcb8a47104bf86ddc825c3bc2", "ItemAdded"))},
		{"fake_ItemAdded_Episode_10.11.11.json", addition(fakeservertest.AddedEpisode("b6438c882d10f743b3cf6465edb68cf7", "1c24f0118cf047a01239b85f2027b015", "ItemAdded"))},
		{"fake_ItemAdded_Season_10.11.11.json", plugins.WebhookResult{ServerID: fakeServer, Event: "ItemAdded", Ignored: "ItemAdded: item type Season is not a movie or an episode; each of its episodes gets its own ItemAdded"}},
		{"fake_ItemAdded_Series_10.11.11.json", plugins.WebhookResult{ServerID: fakeServer, Event: "ItemAdded", Ignored: "ItemAdded: item type Series is not a movie or an episode; each of its episodes gets its own ItemAdded"}},
	}
	for _, tc := range tests {
		for _, enc := range []string{"text", "form"} {
			t.Run(tc.file+"/"+enc, func(t *testing.T) {
				req := fixture(t, tc.file, "text/plain; charset=utf-8")
				if enc == "form" {
					req = asForm(t, req)
				}
				got, err := ParseWebhook(req)
				if err != nil {
					t.Fatalf("ParseWebhook: %v", err)
				}
				want := tc.want
				if tc.file == "webhook_PlaybackStart_episode_10.8.10_sendallproperties.json" {
					// The capture's Provider_tmdb is the only id; read it from the file.
					want.Observations[0].GUIDs = got.Observations[0].GUIDs
					if len(got.Observations[0].GUIDs) != 1 || !strings.HasPrefix(got.Observations[0].GUIDs[0], "tmdb:") {
						t.Errorf("GUIDs = %v, want one tmdb id", got.Observations[0].GUIDs)
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
				if err := plugins.CheckWebhookResult(got); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestWebhookSemantics covers what the captures lack: completion, marking played, the
// Escape() quirk, ItemAdded, non-video items, stringly form values and garbage.
func TestWebhookSemantics(t *testing.T) {
	base := `"ServerId":"s1","NotificationUsername":"Bob \"B\"","UserId":"u1","ItemId":"i1","ItemType":"Movie","Name":"The \"Quoted\" Film","Year":1999,"RunTimeTicks":72000000000,"UtcTimestamp":"2024-05-01T20:00:00.0000000Z","Provider_imdb":"tt0133093","Provider_tmdb":"603","Provider_tmdbcollection":"2344"`
	body := func(extra string) plugins.WebhookRequest {
		h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
		return plugins.WebhookRequest{Method: http.MethodPost, Headers: h, Body: []byte("{" + base + "," + extra + "}")}
	}
	movie := plugins.Observation{AccountID: "u1", AccountName: `Bob "B"`, ItemID: "i1", Kind: plugins.KindMovie, Title: `The "Quoted" Film`, Year: 1999,
		GUIDs: []string{"imdb:tt0133093", "tmdb:603"}, Duration: 2 * time.Hour}
	at := utc("2024-05-01T20:00:00Z")
	tests := []struct {
		name  string
		extra string
		event string
		state plugins.State
	}{
		{"stop completed", `"NotificationType":"PlaybackStop","PlaybackPositionTicks":71000000000,"PlayedToCompletion":true`, "PlaybackStop",
			plugins.State{WatchedKnown: true, Watched: true, PlayedAt: at, ProgressKnown: true, Progress: 0, EventAt: at}},
		{"progress paused", `"NotificationType":"PlaybackProgress","PlaybackPositionTicks":6000000000,"IsPaused":true`, "PlaybackProgress",
			plugins.State{ProgressKnown: true, Progress: 10 * time.Minute, Playing: true, EventAt: at}},
		{"toggle played", `"NotificationType":"UserDataSaved","SaveReason":"TogglePlayed","Played":true,"PlayCount":2,"PlaybackPositionTicks":0,"LastPlayedDate":"2024-05-01T19:59:00Z"`, "UserDataSaved/TogglePlayed",
			plugins.State{WatchedKnown: true, Watched: true, PlayedAt: utc("2024-05-01T19:59:00Z"), ProgressKnown: true, PlayCount: 2, EventAt: at}},
		{"our own write", `"NotificationType":"UserDataSaved","SaveReason":"UpdateUserData","Played":false,"PlayCount":1,"PlaybackPositionTicks":1200000000,"LastPlayedDate":"2024-05-01T19:59:00Z"`, "UserDataSaved/UpdateUserData",
			plugins.State{WatchedKnown: true, ProgressKnown: true, Progress: 2 * time.Minute, PlayCount: 1, EventAt: at}},
		{"saved during playback", `"NotificationType":"UserDataSaved","SaveReason":"PlaybackProgress","Played":false,"PlaybackPositionTicks":600000000`, "UserDataSaved/PlaybackProgress",
			plugins.State{WatchedKnown: true, ProgressKnown: true, Progress: time.Minute, Playing: true, EventAt: at}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseWebhook(body(tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			want := movie
			want.Event, want.State = tc.event, tc.state
			if diff := cmp.Diff([]plugins.Observation{want}, got.Observations); diff != "" {
				t.Errorf("observations (-want +got):\n%s", diff)
			}
			if got.AccountID != "u1" || got.ServerID != "s1" || got.AccountName != `Bob "B"` {
				t.Errorf("server/account = %q/%q/%q", got.ServerID, got.AccountID, got.AccountName)
			}
		})
	}

	t.Run("item added", func(t *testing.T) {
		got, err := ParseWebhook(body(`"NotificationType":"ItemAdded"`))
		if err != nil {
			t.Fatal(err)
		}
		// The item alone: whoever the body names, an addition is nobody's play.
		want := movie
		want.AccountID, want.AccountName, want.Event = "", "", "ItemAdded"
		if diff := cmp.Diff([]plugins.Observation{want}, got.Added); diff != "" || len(got.Observations) > 0 || got.Ignored != "" || got.AccountID != "" || got.ServerID != "s1" {
			t.Errorf("added (-want +got):\n%s\nresult %+v", diff, got)
		}
	})

	ignored := map[string]string{
		"item added season": `{"ServerId":"s1","NotificationType":"ItemAdded","ItemId":"i1","ItemType":"Season","SeriesId":"s9","SeasonNumber":1,"Name":"Season 1"}`,
		"item added audio":  `{"ServerId":"s1","NotificationType":"ItemAdded","ItemId":"i1","ItemType":"Audio","Name":"Song"}`,
		"audio":             `{"ServerId":"s1","NotificationType":"PlaybackStart","UserId":"u1","ItemId":"i1","ItemType":"Audio"}`,
		"no user":           `{"ServerId":"s1","NotificationType":"UserDataSaved","ItemId":"i1","ItemType":"Episode","Played":true}`,
		"generic":           `{"ServerId":"s1","NotificationType":"Generic"}`,
		"task":              `{"ServerId":"s1","NotificationType":"TaskCompleted","Name":"Scan"}`,
		"json header":       `{"ServerId":"s1","NotificationType":"PendingRestart"}`,
	}
	for name, b := range ignored {
		t.Run("ignored/"+name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}}
			got, err := ParseWebhook(plugins.WebhookRequest{Headers: h, Body: []byte(b)})
			if err != nil {
				t.Fatal(err)
			}
			if got.Ignored == "" || len(got.Observations)+len(got.Added) > 0 {
				t.Errorf("got %+v, want ignored with a reason", got)
			}
		})
	}

	garbage := map[string]string{
		"no type":        `{"ServerId":"s1","UserId":"u1"}`,
		"no item id":     `{"NotificationType":"PlaybackStop","UserId":"u1","ItemType":"Movie"}`,
		"added, no id":   `{"NotificationType":"ItemAdded","ItemType":"Episode","Name":"New"}`,
		"trailing data":  `{"NotificationType":"PlaybackStop"} {}`,
		"nested garbage": strings.Repeat(`{"a":`, 20000),
	}
	for name, b := range garbage {
		t.Run("rejected/"+name, func(t *testing.T) {
			_, err := ParseWebhook(plugins.WebhookRequest{Headers: http.Header{}, Body: []byte(b)})
			if !errorsIsRejected(err) {
				t.Errorf("got %v, want a rejection", err)
			}
		})
	}
}
