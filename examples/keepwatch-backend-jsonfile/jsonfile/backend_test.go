package jsonfile_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/examples/keepwatch-backend-jsonfile/jsonfile"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

// freshLibrary copies the test library into a temporary directory, so that
// writes stay in the test.
func freshLibrary(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "library.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "library.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Config is a valid configuration for a fresh copy of the test library.
func Config(t *testing.T) plugins.Config {
	return plugins.Config{Name: "demo", Type: jsonfile.Type, URL: "file://" + freshLibrary(t)}
}

func post(body string) plugins.WebhookRequest {
	return plugins.WebhookRequest{Method: "POST", Body: []byte(body), ReceivedAt: time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC)}
}

// Suite is the conformance suite's view of this backend; the plugin
// process test reuses it with another Connect.
func Suite() plugintest.Suite {
	return plugintest.Suite{
		Factory: jsonfile.New,
		Config:  Config,
		BadConfigs: map[string]plugins.Config{
			"http url":        {Type: jsonfile.Type, URL: "http://example.invalid/library.json"},
			"relative path":   {Type: jsonfile.Type, URL: "file:library.json"},
			"page size words": {Type: jsonfile.Type, URL: "file:///tmp/x.json", Options: map[string]string{"page_size": "lots"}},
		},
		Webhooks: map[string]plugins.WebhookRequest{
			"scrobble":   post(`{"event":"scrobble","server_id":"jsonfile-demo-7f3a","account_id":"2","item_id":"m1","at":"2024-08-01T20:00:00Z"}`),
			"pause":      post(`{"event":"pause","account_id":"1","item_id":"e2","position_ms":700000}`),
			"test":       post(`{"event":"test"}`),
			"no account": post(`{"event":"scrobble","item_id":"m1"}`),
			"unknown":    post(`{"event":"watched","account_id":"1","item_id":"zz"}`),
		},
		Garbage: map[string]plugins.WebhookRequest{
			"unknown event":       post(`{"event":"rate","account_id":"1","item_id":"m1"}`),
			"pause no position":   post(`{"event":"pause","account_id":"1","item_id":"m1"}`),
			"two objects":         post(`{"event":"test"} {"event":"test"}`),
			"event of wrong type": post(`{"event":42}`),
		},
	}
}

func TestConformance(t *testing.T) {
	plugintest.Run(t, Suite())
}

func configured(t *testing.T) plugins.Client {
	t.Helper()
	c := plugintest.Connect(t, jsonfile.New)
	if err := c.Configure(t.Context(), Config(t)); err != nil {
		t.Fatal(err)
	}
	return c
}

func importIDs(t *testing.T, c plugins.Client, req plugins.ImportRequest) []string {
	t.Helper()
	var ids []string
	err := c.Import(t.Context(), req, func(p []plugins.Observation) error {
		for _, o := range p {
			ids = append(ids, o.ItemID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestImportFilters(t *testing.T) {
	c := configured(t)
	tests := []struct {
		name string
		req  plugins.ImportRequest
		want []string
	}{
		{"everything", plugins.ImportRequest{AccountID: "1"}, []string{"m1", "m2", "m3", "e1", "e2", "k1"}},
		{"exclude by name", plugins.ImportRequest{AccountID: "1", Libraries: plugins.LibraryFilter{Exclude: []string{"Kids"}}},
			[]string{"m1", "m2", "m3", "e1", "e2"}},
		{"include by id", plugins.ImportRequest{AccountID: "1", Libraries: plugins.LibraryFilter{Include: []string{"2"}}},
			[]string{"e1", "e2"}},
		{"delta", plugins.ImportRequest{AccountID: "1", Since: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}, []string{"m2", "e2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, importIDs(t, c, tt.req)); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImportObservation(t *testing.T) {
	c := configured(t)
	var got []plugins.Observation
	err := c.Import(t.Context(), plugins.ImportRequest{AccountID: "1", Libraries: plugins.LibraryFilter{Include: []string{"Shows"}}},
		func(p []plugins.Observation) error { got = append(got, p...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []plugins.Observation{
		{AccountID: "1", AccountName: "alice", ItemID: "e1", LibraryID: "2", LibraryName: "Shows", Kind: plugins.KindEpisode,
			Title: "Pilot", GUIDs: []string{"tvdb:349232"}, ShowID: "s1", ShowTitle: "Breaking Bad",
			ShowGUIDs: []string{"tvdb:81189", "imdb:tt0903747"}, Season: 1, Episode: 1, Duration: 58 * time.Minute,
			State: plugins.State{WatchedKnown: true, Watched: true, PlayedAt: time.Date(2023, 11, 11, 22, 0, 0, 0, time.UTC),
				ProgressKnown: true, PlayCount: 1}},
		{AccountID: "1", AccountName: "alice", ItemID: "e2", LibraryID: "2", LibraryName: "Shows", Kind: plugins.KindEpisode,
			Title: "Cat's in the Bag...", ShowID: "s1", ShowTitle: "Breaking Bad",
			ShowGUIDs: []string{"tvdb:81189", "imdb:tt0903747"}, Season: 1, Episode: 2, Duration: 48 * time.Minute,
			State: plugins.State{WatchedKnown: true, ProgressKnown: true, Progress: 10 * time.Minute, Playing: true}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
}

func TestProgressToPlayingItemIsSkipped(t *testing.T) {
	c := configured(t)
	out, err := c.Apply(t.Context(), []plugins.Write{{AccountID: "1", ItemID: "e2", Kind: plugins.WriteProgress, Progress: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Status != plugins.OutcomeSkippedPlaying {
		t.Errorf("outcome %+v, want skipped_playing", out[0])
	}
}

func TestResolveEpisodeByShow(t *testing.T) {
	c := configured(t)
	got, err := c.Resolve(t.Context(), plugins.ResolveRequest{Queries: []plugins.ResolveQuery{
		{Kind: plugins.KindEpisode, ShowGUIDs: []string{"imdb:tt0903747"}, Season: 1, Episode: 2},
		{Kind: plugins.KindEpisode, ShowGUIDs: []string{"imdb:tt0903747"}, Season: 9, Episode: 9},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []plugins.Resolution{{ItemID: "e2", LibraryID: "2", LibraryName: "Shows"}, {}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolutions (-want +got):\n%s", diff)
	}
}

func TestWebhookObservation(t *testing.T) {
	c := configured(t)
	res, err := c.ParseWebhook(t.Context(), post(`{"event":"scrobble","server_id":"jsonfile-demo-7f3a","account_id":"2","item_id":"m1","at":"2024-08-01T20:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 8, 1, 20, 0, 0, 0, time.UTC)
	want := plugins.WebhookResult{
		ServerID: "jsonfile-demo-7f3a", AccountID: "2", AccountName: "bob", Event: "scrobble",
		Observations: []plugins.Observation{{
			AccountID: "2", AccountName: "bob", ItemID: "m1", LibraryID: "1", LibraryName: "Movies", Kind: plugins.KindMovie,
			Title: "Heat", Year: 1995, GUIDs: []string{"imdb:tt0113277", "tmdb:949"}, Duration: 170 * time.Minute,
			State: plugins.State{WatchedKnown: true, Watched: true, PlayedAt: at, EventAt: at},
			Event: "scrobble",
		}},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestMissingFileIsUnavailable(t *testing.T) {
	c := plugintest.Connect(t, jsonfile.New)
	path := filepath.Join(t.TempDir(), "gone.json")
	if err := c.Configure(t.Context(), plugins.Config{URL: "file://" + path}); err != nil {
		t.Fatal(err)
	}
	h, err := c.CheckHealth(t.Context())
	if err != nil || h.Reachable {
		t.Errorf("health %+v, %v: want unreachable, no error", h, err)
	}
	if _, err := c.ListAccounts(t.Context()); !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("ListAccounts on a missing file: %v, want ErrUnavailable", err)
	}
}

func TestWriteBuildsALibrary(t *testing.T) {
	var buf bytes.Buffer
	played := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	err := jsonfile.Write(&buf, "gen", []jsonfile.Account{{ID: "1", Name: "alice"}}, []jsonfile.Item{
		{ID: "x", Title: "X", Year: 2000, GUIDs: []string{"imdb:tt1"}, Duration: time.Hour,
			Plays: map[string]jsonfile.Play{"1": {Watched: true, PlayedAt: played, PlayCount: 1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gen.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c := plugintest.Connect(t, jsonfile.New)
	if err := c.Configure(t.Context(), plugins.Config{URL: "file://" + path}); err != nil {
		t.Fatal(err)
	}
	var got []plugins.Observation
	if err := c.Import(t.Context(), plugins.ImportRequest{AccountID: "1"}, func(p []plugins.Observation) error {
		got = append(got, p...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].State.Watched || !got[0].State.PlayedAt.Equal(played) || got[0].LibraryName != "Movies" {
		t.Errorf("imported %+v", got)
	}
}
