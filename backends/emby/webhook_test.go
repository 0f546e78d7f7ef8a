package emby

import (
	"bytes"
	"errors"
	"mime/multipart"
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

// delivery loads a testdata body in one of the encodings Emby uses.
func delivery(t testing.TB, name, encoding string) plugins.WebhookRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return encode(t, b, encoding)
}

func encode(t testing.TB, b []byte, encoding string) plugins.WebhookRequest {
	t.Helper()
	h := http.Header{"User-Agent": {"Emby Server/4.8.11.0"}}
	switch encoding {
	case "json":
		h.Set("Content-Type", "application/json; charset=utf-8")
	case "multipart":
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, err := mw.CreateFormField("data")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(b)
		_ = mw.Close()
		h.Set("Content-Type", mw.FormDataContentType())
		b = buf.Bytes()
	case "form":
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		b = []byte(url.Values{"data": {string(b)}}.Encode())
	}
	return plugins.WebhookRequest{Method: http.MethodPost, Headers: h, Body: b}
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestWebhookFixtures parses every Emby webhook fixture in each encoding Emby sends.
func TestWebhookFixtures(t *testing.T) {
	const server, admin = "f40a5bd0c6b64051bdbed00580fa1118", "e6a9dd89fd954d689870e7e0e3e72947"
	const fakeServer = "fa3fa22b41568c8069f94a65559d48f1"
	addition := func(o plugins.Observation) plugins.WebhookResult {
		return plugins.WebhookResult{ServerID: fakeServer, Event: o.Event, Added: []plugins.Observation{o}}
	}
	tests := []struct {
		file string
		want plugins.WebhookResult
	}{
		{"webhook_playback.stop_movie_4.7.13.json", plugins.WebhookResult{
			ServerID: server, AccountID: admin, AccountName: "admin", Event: "playback.stop",
			Observations: []plugins.Observation{{
				AccountID: admin, AccountName: "admin", ItemID: "240270", Kind: plugins.KindMovie, Title: "蜘蛛侠：纵横宇宙", Year: 2023,
				GUIDs: []string{"imdb:tt9362722", "tmdb:569094"}, Duration: 80439590000 * 100, Event: "playback.stop",
				State: plugins.State{ProgressKnown: true, Progress: 17431791950 * 100, EventAt: date("2023-08-19T00:49:07.8523469Z")},
			}},
		}},
		{"webhook_playback.start_episode_4.7.13.json", plugins.WebhookResult{
			ServerID: server, AccountID: admin, AccountName: "admin", Event: "playback.start",
			Observations: []plugins.Observation{{
				AccountID: admin, AccountName: "admin", ItemID: "240252", Kind: plugins.KindEpisode, Title: "第 11 集",
				GUIDs: []string{"tmdb:4533239"}, ShowID: "240202", ShowTitle: "长风渡", Season: 1, Episode: 11,
				Duration: 28021450000 * 100, Event: "playback.start",
				State: plugins.State{ProgressKnown: true, Progress: 14256663550 * 100, Playing: true, EventAt: date("2023-08-19T00:52:20.5200050Z")},
			}},
		}},
		{"emby_webhook_playback_start_v49.json", plugins.WebhookResult{
			ServerID: "server-1", AccountID: "user-1", AccountName: "Test User", Event: "playback.start",
			Observations: []plugins.Observation{{AccountID: "user-1", AccountName: "Test User", ItemID: "item-1", Kind: plugins.KindMovie, Event: "playback.start", State: plugins.State{Playing: true}}},
		}},
		{"emby_webhook_legacy_48_data_wrapper.json", plugins.WebhookResult{
			ServerID: "server-1", AccountID: "user-1", AccountName: "Test User", Event: "playback.start",
			Observations: []plugins.Observation{{AccountID: "user-1", AccountName: "Test User", ItemID: "item-1", Kind: plugins.KindMovie, Event: "playback.start", State: plugins.State{Playing: true}}},
		}},
		{"emby_webhook_item_markplayed.json", plugins.WebhookResult{
			Event: "item.markplayed", Ignored: `item.markplayed without User: add the user to the webhook's "Limit user events to" list`,
		}},
		// The fake's library.new bodies for fakeservertest's additions (no user): a movie or an
		// episode is an addition, the item alone; a series or a season is ignored.
		{"fake_library.new_Movie_4.8.json", addition(fakeservertest.AddedMovie("779003", "library.new"))},
		{"fake_library.new_Episode_4.8.json", addition(fakeservertest.AddedEpisode("779006", "779004", "library.new"))},
		{"fake_library.new_Season_4.8.json", plugins.WebhookResult{ServerID: fakeServer, Event: "library.new", Ignored: "library.new: item type Season is not a movie or an episode; each of its episodes gets its own library.new"}},
		{"fake_library.new_Series_4.8.json", plugins.WebhookResult{ServerID: fakeServer, Event: "library.new", Ignored: "library.new: item type Series is not a movie or an episode; each of its episodes gets its own library.new"}},
	}
	for _, tc := range tests {
		for _, enc := range []string{"json", "multipart", "form"} {
			t.Run(tc.file+"/"+enc, func(t *testing.T) {
				got, err := ParseWebhook(delivery(t, tc.file, enc))
				if err != nil {
					t.Fatalf("ParseWebhook: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
				if err := plugins.CheckWebhookResult(got); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func TestWebhookEvents(t *testing.T) {
	const head = `"Date":"2024-05-01T20:00:00.0000000Z","User":{"Name":"bob","Id":"b0b"},"Server":{"Id":"srv","Version":"4.9.5.0"},"Item":{"Id":"42","Type":"Movie","Name":"M","ProductionYear":1999,"ProviderIds":{"Imdb":"tt0133093","Official Website":"https://x"}`
	at := date("2024-05-01T20:00:00Z")
	tests := []struct {
		name, body string
		want       plugins.State
	}{
		{"stop completed", `{"Event":"playback.stop",` + head + `},"PlaybackInfo":{"PlayedToCompletion":true,"PositionTicks":71000000000}}`,
			plugins.State{WatchedKnown: true, Watched: true, PlayedAt: at, ProgressKnown: true, EventAt: at}},
		{"pause", `{"Event":"playback.pause",` + head + `},"PlaybackInfo":{"PositionTicks":600000000}}`,
			plugins.State{ProgressKnown: true, Progress: time.Minute, Playing: true, EventAt: at}},
		{"unpause", `{"Event":"playback.unpause",` + head + `},"PlaybackInfo":{"PositionTicks":1200000000}}`,
			plugins.State{ProgressKnown: true, Progress: 2 * time.Minute, Playing: true, EventAt: at}},
		{"mark played", `{"Event":"item.markplayed",` + head + `}}`,
			plugins.State{WatchedKnown: true, Watched: true, PlayedAt: at, ProgressKnown: true, EventAt: at}},
		{"mark played with user data", `{"Event":"item.markplayed",` + head + `,"UserData":{"Played":true,"PlayCount":3,"LastPlayedDate":"2024-04-30T10:00:00Z"}}}`,
			plugins.State{WatchedKnown: true, Watched: true, PlayedAt: date("2024-04-30T10:00:00Z"), ProgressKnown: true, PlayCount: 3, EventAt: at}},
		{"mark unplayed", `{"Event":"item.markunplayed",` + head + `}}`,
			plugins.State{WatchedKnown: true, ProgressKnown: true, EventAt: at}},
		// BaseItemDto has no Played: the event names the state, whatever such a key says.
		{"mark unplayed, a Played key beside the item", `{"Event":"item.markunplayed",` + head + `,"Played":true}}`,
			plugins.State{WatchedKnown: true, ProgressKnown: true, EventAt: at}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseWebhook(encode(t, []byte(tc.body), "json"))
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Observations) != 1 {
				t.Fatalf("%+v", got)
			}
			o := got.Observations[0]
			if diff := cmp.Diff(tc.want, o.State); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			if o.AccountID != "b0b" || got.ServerID != "srv" || o.Year != 1999 || cmp.Diff([]string{"imdb:tt0133093"}, o.GUIDs) != "" {
				t.Errorf("observation %+v", o)
			}
		})
	}
	t.Run("library.new", func(t *testing.T) {
		got, err := ParseWebhook(encode(t, []byte(`{"Event":"library.new",`+head+`}}`), "json"))
		if err != nil {
			t.Fatal(err)
		}
		// The item alone: whoever the body names, an addition is nobody's play.
		want := plugins.WebhookResult{ServerID: "srv", Event: "library.new", Added: []plugins.Observation{{
			ItemID: "42", Kind: plugins.KindMovie, Title: "M", Year: 1999, GUIDs: []string{"imdb:tt0133093"}, Event: "library.new",
		}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
	})
	for name, body := range map[string]string{
		"test notification": `{"Event":"system.notificationtest","Title":"Test","Date":"2024-05-01T20:00:00Z","Server":{"Id":"srv"}}`,
		"new season":        `{"Event":"library.new","Server":{"Id":"srv"},"Item":{"Id":"7","Type":"Season","Name":"Season 1","SeriesId":"6"}}`,
		"new audio":         `{"Event":"library.new","Server":{"Id":"srv"},"Item":{"Id":"8","Type":"Audio","Name":"Song"}}`,
		"rating":            `{"Event":"item.rate",` + head + `}}`,
		"login":             `{"Event":"user.authenticated","User":{"Name":"bob","Id":"b0b"}}`,
		"audio":             `{"Event":"playback.start","User":{"Name":"bob","Id":"b0b"},"Item":{"Id":"9","Type":"Audio"}}`,
	} {
		t.Run("ignored/"+name, func(t *testing.T) {
			got, err := ParseWebhook(encode(t, []byte(body), "json"))
			if err != nil || got.Ignored == "" || len(got.Observations)+len(got.Added) > 0 {
				t.Errorf("got %+v, %v; want accepted and ignored with a reason", got, err)
			}
		})
	}
	for name, req := range map[string]plugins.WebhookRequest{
		"no event":            encode(t, []byte(`{"Item":{"Id":"1"}}`), "json"),
		"no item":             encode(t, []byte(`{"Event":"playback.stop","User":{"Id":"u"}}`), "json"),
		"library.new no item": encode(t, []byte(`{"Event":"library.new","Server":{"Id":"srv"}}`), "json"),
		"multipart no data":   {Headers: http.Header{"Content-Type": {"multipart/form-data; boundary=b"}}, Body: []byte("--b\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n{}\r\n--b--\r\n")},
		"data not json":       encode(t, []byte(`{"data":"not json"}`), "json"),
		"provider ids typed":  encode(t, []byte(`{"Event":"playback.stop","User":{"Id":"u"},"Item":{"Id":"1","Type":"Movie","ProviderIds":[1]}}`), "json"),
	} {
		t.Run("rejected/"+name, func(t *testing.T) {
			if _, err := ParseWebhook(req); !errors.Is(err, plugins.ErrRejected) {
				t.Errorf("got %v, want a rejection", err)
			}
		})
	}
}

// TestEmptyTestNotification: before 4.9.0.37 "Send test notification" posted no data, so an
// empty body from Emby is that test, accepted and ignored; from anything else it is garbage.
func TestEmptyTestNotification(t *testing.T) {
	for name, tc := range map[string]struct {
		agent, contentType, body string
		accepted                 bool
	}{
		"from emby":                 {"Emby Server/4.8.11.0", "application/json; charset=utf-8", "", true},
		"from emby, blank":          {"Emby Server/4.7.13.0", "", " \r\n", true},
		"from emby, multipart type": {"Emby Server/4.8.11.0", "multipart/form-data; boundary=b", "", true},
		"without a user agent":      {"", "application/json", "", false},
		"from another sender":       {"curl/8.5.0", "application/json", "", false},
		"from jellyfin":             {"Jellyfin-Server/10.11.0", "text/plain", "", false},
	} {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			if tc.agent != "" {
				h.Set("User-Agent", tc.agent)
			}
			if tc.contentType != "" {
				h.Set("Content-Type", tc.contentType)
			}
			got, err := ParseWebhook(plugins.WebhookRequest{Method: http.MethodPost, Headers: h, Body: []byte(tc.body)})
			if !tc.accepted {
				if !errors.Is(err, plugins.ErrRejected) {
					t.Errorf("got %+v, %v; want a rejection", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Event != "system.notificationtest" || !strings.Contains(got.Ignored, "test notification") || len(got.Observations)+len(got.Added) > 0 {
				t.Errorf("got %+v; want the test notification, ignored", got)
			}
			if err := plugins.CheckWebhookResult(got); err != nil {
				t.Error(err)
			}
		})
	}
}
