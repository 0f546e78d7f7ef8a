package plugins_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/plugins"
)

func TestNormalizeGUID(t *testing.T) {
	tests := []struct {
		source, id, want string
		ok               bool
	}{
		{"IMDB", "tt0944947", "imdb:tt0944947", true},
		{" tmdb ", " 63056 ", "tmdb:63056", true},
		{"TheTVDB", "81189", "thetvdb:81189", true},
		{"plex", "5d9c086c46115600200aa2fe", "plex:5d9c086c46115600200aa2fe", true},
		{"", "1", "", false},
		{"imdb", " ", "", false},
		{"im db", "1", "", false},
		{"com.plexapp.agents.imdb", "tt1", "", false},
	}
	for _, tt := range tests {
		got, ok := plugins.NormalizeGUID(tt.source, tt.id)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeGUID(%q, %q) = %q, %v; want %q, %v", tt.source, tt.id, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCheckGUID(t *testing.T) {
	for guid, wantErr := range map[string]string{
		"imdb:tt0944947":  "",
		"tvdb:121361/1/1": "",
		"IMDB:tt1":        "source must be lower-case",
		"tt0944947":       "no ':'",
		":123":            "empty source",
		"imdb:":           "empty id",
		"imdb: tt1":       "spaces around",
	} {
		err := plugins.CheckGUID(guid)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("CheckGUID(%q): %v", guid, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("CheckGUID(%q): %v, want an error saying %q", guid, err, wantErr)
		}
	}
	if src, id, ok := plugins.SplitGUID("tvdb:121361/1/1"); !ok || src != "tvdb" || id != "121361/1/1" {
		t.Errorf("SplitGUID: %q %q %v", src, id, ok)
	}
}

func TestCheckObservation(t *testing.T) {
	good := plugins.Observation{AccountID: "1", ItemID: "2", Kind: plugins.KindMovie, GUIDs: []string{"imdb:tt1"},
		State: plugins.State{WatchedKnown: true, Watched: true}}
	if err := plugins.CheckObservation(good); err != nil {
		t.Errorf("good observation: %v", err)
	}
	bad := plugins.Observation{Kind: "show", GUIDs: []string{"IMDB:tt1"}, ShowGUIDs: []string{"x"},
		State: plugins.State{Watched: true, Progress: time.Second}}
	err := plugins.CheckObservation(bad)
	if err == nil {
		t.Fatal("bad observation passed")
	}
	for _, want := range []string{"account id is empty", "item id is empty", `kind "show"`, "IMDB:tt1", `show guid "x"`,
		"WatchedKnown is false", "ProgressKnown is false"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestCheckAddedItem(t *testing.T) {
	good := plugins.Observation{ItemID: "2", Kind: plugins.KindEpisode, ShowGUIDs: []string{"tvdb:1"}, Season: 1, Episode: 2}
	if err := plugins.CheckAddedItem(good); err != nil {
		t.Errorf("good added item: %v", err)
	}
	bad := plugins.Observation{AccountID: "1", Kind: "season", State: plugins.State{WatchedKnown: true}}
	err := plugins.CheckAddedItem(bad)
	if err == nil {
		t.Fatal("bad added item passed")
	}
	for _, want := range []string{"belongs to no account", "carries no play state", "item id is empty", `kind "season"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestCheckWebhookResult(t *testing.T) {
	movie := plugins.Observation{ItemID: "2", Kind: plugins.KindMovie}
	tests := []struct {
		name string
		res  plugins.WebhookResult
		want string // "" for valid
	}{
		{"ignored", plugins.WebhookResult{Ignored: "test"}, ""},
		{"added only", plugins.WebhookResult{Added: []plugins.Observation{movie}}, ""},
		{"empty", plugins.WebhookResult{}, "must carry observations or added items"},
		{"ignored with items", plugins.WebhookResult{Ignored: "x", Added: []plugins.Observation{movie}}, "must carry neither"},
		{"observation without account", plugins.WebhookResult{Observations: []plugins.Observation{movie}}, "account id is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := plugins.CheckWebhookResult(tt.res)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("CheckWebhookResult = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCheckDescription(t *testing.T) {
	if err := plugins.CheckDescription(plugins.Description{Type: "plex", Version: "1.0.0"}); err != nil {
		t.Error(err)
	}
	for _, d := range []plugins.Description{{Type: "Plex", Version: "1"}, {Type: "9x", Version: "1"}, {Type: "plex"}} {
		if err := plugins.CheckDescription(d); err == nil {
			t.Errorf("%+v passed", d)
		}
	}
}

func TestConfigErrorMessage(t *testing.T) {
	err := plugins.InvalidConfig("url", "ftp://x", "scheme must be http or https")
	if got, want := err.Error(), `config field "url": value "ftp://x": scheme must be http or https`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := plugins.InvalidConfig("token", "", "is empty: set token or token_file").Error(),
		`config field "token": is empty: set token or token_file`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(err, plugins.ErrInvalidConfig) {
		t.Error("a ConfigError does not match ErrInvalidConfig")
	}
}

// TestPluginLoggerWritesHCLogJSON checks the lines a plugin writes are the
// ones go-plugin's host parses with their level: @level, @message and an
// @timestamp in hclog's exact layout.
func TestPluginLoggerWritesHCLogJSON(t *testing.T) {
	var buf bytes.Buffer
	log := plugins.NewPluginLogger(&buf, zerolog.DebugLevel)
	log.Trace().Msg("dropped")
	log.Debug().Str("k", "v").Msg("debug line")
	log.Warn().Int("n", 3).Err(errors.New("boom")).Msg("warn line")
	log.WithLevel(zerolog.FatalLevel).Msg("fatal line")
	log.Log().Msg("no level")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []map[string]any{
		{"@level": "debug", "@message": "debug line", "k": "v"},
		{"@level": "warn", "@message": "warn line", "n": float64(3), "error": "boom"},
		{"@level": "error", "@message": "fatal line"},
		{"@level": "info", "@message": "no level"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d is not JSON: %q", i, line)
		}
		ts, _ := got["@timestamp"].(string)
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err != nil {
			t.Errorf("line %d: @timestamp %q is not in hclog's layout: %v", i, ts, err)
		}
		delete(got, "@timestamp")
		for k, v := range want[i] {
			if got[k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, got[k], v)
			}
		}
		for _, k := range []string{"level", "message"} {
			if _, ok := got[k]; ok {
				t.Errorf("line %d keeps zerolog's %q key: %s", i, k, line)
			}
		}
	}
}
