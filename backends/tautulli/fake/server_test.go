package fake_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/backends/tautulli/fake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

type answer struct {
	status int
	env    map[string]any
}

func get(t *testing.T, ts *httptest.Server, params url.Values) answer {
	t.Helper()
	resp, err := http.Get(ts.URL + "/api/v2?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var env map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return answer{resp.StatusCode, env}
}

func response(a answer) map[string]any { return a.env["response"].(map[string]any) }

func serve(t *testing.T, opts fake.Options) (*fake.Server, *httptest.Server) {
	t.Helper()
	return fake.Start(t, opts)
}

func cmd(f *fake.Server, name string, kv ...string) url.Values {
	v := url.Values{"apikey": {f.APIKey()}, "cmd": {name}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestAuthAndCommands(t *testing.T) {
	f, ts := serve(t, fake.Options{})
	tests := []struct {
		name    string
		params  url.Values
		status  int
		message string
	}{
		{"no apikey", url.Values{"cmd": {"get_users"}}, 401, "Parameter apikey is required"},
		{"wrong apikey", url.Values{"apikey": {"nope"}, "cmd": {"get_users"}}, 401, "Invalid apikey"},
		{"no cmd", url.Values{"apikey": {f.APIKey()}}, 400, "Parameter cmd is required. Possible commands are: "},
		{"unknown cmd before key check", url.Values{"apikey": {"nope"}, "cmd": {"get_everything"}}, 400, "Unknown command: get_everything. Possible commands are: "},
		{"ok", cmd(f, "arnold"), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, ts, tt.params)
			r := response(a)
			if a.status != tt.status {
				t.Errorf("status %d, want %d", a.status, tt.status)
			}
			if tt.status == 200 {
				if r["result"] != "success" || r["message"] != nil {
					t.Errorf("success envelope %v", r)
				}
				return
			}
			msg, _ := r["message"].(string)
			if r["result"] != "error" || !strings.HasPrefix(msg, tt.message) {
				t.Errorf("envelope %v, want error %q", r, tt.message)
			}
			if d, ok := r["data"].(map[string]any); !ok || len(d) != 0 {
				t.Errorf("error data %v, want {}", r["data"])
			}
		})
	}
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	}
	return "object"
}

func types(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = jsonType(v)
	}
	return out
}

func readJSON(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// TestShapesMatchCaptures holds every answer to the captured one: the same
// keys with the same JSON types (the numbers-as-strings and int-or-""
// quirks included).
func TestShapesMatchCaptures(t *testing.T) {
	f, ts := serve(t, fake.Options{})
	t.Run("get_history", func(t *testing.T) {
		for fixture, mediaType := range map[string]string{"api_get_history_movies.json": "movie", "api_get_history_episodes_rows-truncated.json": "episode"} {
			capture := readJSON(t, fixture)["response"].(map[string]any)
			a := get(t, ts, cmd(f, "get_history", "media_type", mediaType, "length", "5"))
			got := response(a)
			if diff := cmp.Diff(types(capture), types(got)); diff != "" {
				t.Errorf("%s envelope types (-capture +fake):\n%s", mediaType, diff)
			}
			wantData, gotData := capture["data"].(map[string]any), got["data"].(map[string]any)
			if diff := cmp.Diff(types(wantData), types(gotData)); diff != "" {
				t.Errorf("%s data types (-capture +fake):\n%s", mediaType, diff)
			}
			wantRow := wantData["data"].([]any)[0].(map[string]any)
			rows := gotData["data"].([]any)
			if len(rows) == 0 {
				t.Fatalf("no %s rows", mediaType)
			}
			for _, row := range rows {
				if diff := cmp.Diff(types(wantRow), types(row.(map[string]any))); diff != "" {
					t.Errorf("%s row types (-capture +fake):\n%s", mediaType, diff)
				}
			}
		}
	})
	t.Run("get_users", func(t *testing.T) {
		capture := readJSON(t, "api_get_users.json")["response"].(map[string]any)["data"].([]any)
		got := response(get(t, ts, cmd(f, "get_users")))["data"].([]any)
		for i := range 2 { // Local, then a Plex user
			want, have := types(capture[i].(map[string]any)), types(got[i].(map[string]any))
			// The capture is from an older Tautulli: server_token was
			// dropped since and shared_libraries became an array.
			delete(want, "server_token")
			if want["shared_libraries"] == "string" {
				want["shared_libraries"] = "array"
			}
			if diff := cmp.Diff(want, have); diff != "" {
				t.Errorf("user %d types (-capture +fake):\n%s", i, diff)
			}
		}
	})
	t.Run("get_server_info", func(t *testing.T) {
		capture := readJSON(t, "api_get_server_info_DOCSTRING-data-only.json")
		got := response(get(t, ts, cmd(f, "get_server_info")))["data"].(map[string]any)
		if diff := cmp.Diff(types(capture), types(got)); diff != "" {
			t.Errorf("types (-capture +fake):\n%s", diff)
		}
		if got["pms_identifier"] != f.MachineID() {
			t.Errorf("pms_identifier %v, want the machine id %s", got["pms_identifier"], f.MachineID())
		}
	})
	t.Run("get_activity", func(t *testing.T) {
		capture := readJSON(t, "api_get_activity_empty.json")
		got := get(t, ts, cmd(f, "get_activity"))
		if diff := cmp.Diff(capture, got.env); diff != "" {
			t.Errorf("activity (-capture +fake):\n%s", diff)
		}
	})
}

type historyRow struct {
	RowID     int64 `json:"row_id"`
	Date      int64 `json:"date"`
	UserID    int64 `json:"user_id"`
	RatingKey int64 `json:"rating_key"`
	MediaType string
}

func history(t *testing.T, ts *httptest.Server, params url.Values) (rows []historyRow, filtered int) {
	t.Helper()
	a := get(t, ts, params)
	if a.status != 200 {
		t.Fatalf("get_history %v: %d %v", params, a.status, a.env)
	}
	b, _ := json.Marshal(response(a)["data"])
	var page struct {
		RecordsFiltered int          `json:"recordsFiltered"`
		Data            []historyRow `json:"data"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	return page.Data, page.RecordsFiltered
}

func TestHistoryQueries(t *testing.T) {
	f, ts := serve(t, fake.Options{Seed: 7, PlaysPerUser: 60})
	owner := itoa(f.Owner().ID)

	t.Run("default is 25 rows newest first", func(t *testing.T) {
		rows, filtered := history(t, ts, cmd(f, "get_history"))
		total := 0
		for _, u := range f.Users() {
			total += len(f.History(u.ID))
		}
		if len(rows) != 25 || filtered != total {
			t.Errorf("%d rows of %d", len(rows), filtered)
		}
		if !sort.SliceIsSorted(rows, func(i, j int) bool { return rows[i].Date > rows[j].Date }) {
			t.Error("rows are not newest first")
		}
	})
	t.Run("pages cover the user's history once", func(t *testing.T) {
		seen := map[int64]bool{}
		var all int
		for start := 0; ; start += 7 {
			rows, filtered := history(t, ts, cmd(f, "get_history", "user_id", owner, "start", strconv.Itoa(start), "length", "7"))
			for _, r := range rows {
				if seen[r.RowID] || r.UserID != f.Owner().ID {
					t.Errorf("row %d twice or of user %d", r.RowID, r.UserID)
				}
				seen[r.RowID] = true
			}
			all = filtered
			if len(rows) < 7 {
				break
			}
		}
		if len(seen) != all || all != len(f.History(f.Owner().ID)) {
			t.Errorf("paged %d rows, recordsFiltered %d, history %d", len(seen), all, len(f.History(f.Owner().ID)))
		}
	})
	t.Run("after is a local date", func(t *testing.T) {
		// 03:00 UTC on June 1st is May 31st in the fake's UTC-5.
		start := time.Date(2024, 6, 1, 3, 0, 0, 0, time.UTC)
		if _, err := f.AddPlay(f.Owner().ID, f.Items()[0].RatingKey, start, 50); err != nil {
			t.Fatal(err)
		}
		for after, want := range map[string]bool{"2024-05-31": true, "2024-06-01": false} {
			rows, _ := history(t, ts, cmd(f, "get_history", "user_id", owner, "after", after, "length", "1000"))
			found := false
			for _, r := range rows {
				found = found || r.Date == start.Unix()
			}
			if found != want {
				t.Errorf("after=%s: play at %s found %v, want %v", after, start, found, want)
			}
		}
	})
	t.Run("section and media type", func(t *testing.T) {
		rows, _ := history(t, ts, cmd(f, "get_history", "section_id", "2", "media_type", "episode", "length", "1000"))
		for _, r := range rows {
			if it, _ := f.Item(r.RatingKey); it.Type != "episode" {
				t.Errorf("row %d is a %s", r.RowID, it.Type)
			}
		}
		if none, _ := history(t, ts, cmd(f, "get_history", "section_id", "2", "media_type", "movie")); len(none) != 0 {
			t.Errorf("movies in the TV section: %d", len(none))
		}
	})
	t.Run("bad number fails like Tautulli", func(t *testing.T) {
		a := get(t, ts, cmd(f, "get_history", "start", "abc"))
		if a.status != 500 || !strings.HasPrefix(response(a)["message"].(string), "Check the logs for errors") {
			t.Errorf("start=abc: %d %v", a.status, a.env)
		}
	})
}

func TestFail(t *testing.T) {
	f, ts := serve(t, fake.Options{})
	f.Fail("get_users", 503, 2)
	for i, want := range []int{503, 503, 200} {
		if a := get(t, ts, cmd(f, "get_users")); a.status != want {
			t.Errorf("call %d: status %d, want %d", i, a.status, want)
		}
	}
	if f.Calls("get_users") != 3 {
		t.Errorf("calls %d", f.Calls("get_users"))
	}
}

func TestWebhookGolden(t *testing.T) {
	f := fake.New(fake.Options{Seed: 1})
	owner := f.Owner().ID
	var movie, episode fake.Item
	for _, it := range f.Items() {
		if it.Type == "movie" && movie.RatingKey == 0 {
			movie = it
		}
		if it.Type == "episode" && episode.RatingKey == 0 {
			episode = it
		}
	}
	for name, ev := range map[string]fake.Event{
		"movie_watched":   {Action: "watched", UserID: owner, RatingKey: movie.RatingKey, ViewOffset: 80 * time.Minute},
		"episode_play":    {Action: "play", UserID: owner, RatingKey: episode.RatingKey, ViewOffset: 0},
		"episode_created": {Action: "created", RatingKey: episode.RatingKey},
	} {
		t.Run(name, func(t *testing.T) {
			body, header, err := f.Webhook(ev)
			if err != nil {
				t.Fatal(err)
			}
			if header.Get("Content-Type") != "application/json" || header.Get("User-Agent") != "Tautulli/"+fake.TautulliVersion {
				t.Errorf("headers %v", header)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, body, "", "  "); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
				t.Errorf("webhook body (-golden +now):\n%s", diff)
			}
		})
	}
}

func TestSubstituteLikeTautulli(t *testing.T) {
	got, err := fake.Substitute([]byte(`{"a":"{x}-{unknown}","{x}":null,"n":5,"l":["{x}"]}`), map[string]string{"x": "7"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": "7-{unknown}", "7": nil, "n": float64(5), "l": []any{"7"}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("substituted (-want +got):\n%s", diff)
	}
}

func TestSendWebhook(t *testing.T) {
	// The agent's "Webhook Method": PUT unless set; the body goes with any.
	for option, want := range map[string]string{"": http.MethodPut, "POST": http.MethodPost, "GET": http.MethodGet, "DELETE": http.MethodDelete} {
		t.Run(want, func(t *testing.T) {
			f := fake.New(fake.Options{WebhookMethod: option})
			var method, agent string
			var body []byte
			sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				method, agent = r.Method, r.Header.Get("User-Agent")
				body, _ = io.ReadAll(r.Body)
			}))
			defer sink.Close()
			ev := fake.Event{Action: "stop", UserID: f.Owner().ID, RatingKey: f.Items()[0].RatingKey, ViewOffset: 90 * time.Second}
			if err := f.SendWebhook(t.Context(), sink.Client(), sink.URL+"/webhook/tok", ev); err != nil {
				t.Fatal(err)
			}
			var m struct {
				Event    string
				Metadata struct{ ViewOffset string }
			}
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			if method != want || !strings.HasPrefix(agent, "Tautulli/") || m.Event != "tautulli.stop" || m.Metadata.ViewOffset != "90000" {
				t.Errorf("sent %s agent %q event %q offset %q; want %s", method, agent, m.Event, m.Metadata.ViewOffset, want)
			}
		})
	}
}

func TestOmitWatchedStatus(t *testing.T) {
	for _, omit := range []bool{false, true} {
		f, ts := serve(t, fake.Options{Seed: 3, OmitWatchedStatus: omit})
		a := get(t, ts, cmd(f, "get_history", "length", "50"))
		rows := response(a)["data"].(map[string]any)["data"].([]any)
		if len(rows) == 0 {
			t.Fatal("no history rows")
		}
		for _, r := range rows {
			row := r.(map[string]any)
			_, has := row["watched_status"]
			if _, ok := row["percent_complete"].(float64); has == omit || !ok {
				t.Fatalf("OmitWatchedStatus %v: row %v has watched_status %v, percent_complete %v", omit, row["row_id"], has, row["percent_complete"])
			}
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
