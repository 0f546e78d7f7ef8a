package jellyfin

import (
	"net/http"
	"testing"

	"github.com/keepwatch/keepwatch/backends/jellyfin/fake"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

// smallLibrary is a fake with a few movies and episodes, some played, some part-watched.
func smallLibrary(version string) fake.Options {
	return fake.Options{
		Version: version, Seed: 11, Movies: 6, Series: 2, SeasonsPerSeries: 2, EpisodesPerSeason: 3,
		PlayedFraction: 0.3, ResumeFraction: 0.3,
		Users: []fake.User{{Name: "admin", Admin: true}, {Name: "alice", Password: "pw"}},
	}
}

func configFor(s *fake.Server, url string, opts map[string]string) plugins.Config {
	return plugins.Config{Name: "jelly", Type: Type, URL: url, Token: s.APIKey(), Options: opts}
}

func TestConformance(t *testing.T) {
	samples := map[string]plugins.WebhookRequest{}
	garbage := map[string]plugins.WebhookRequest{
		"multipart from jellyfin": {Method: http.MethodPost, Headers: http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}, Body: []byte("--x\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{}\r\n--x--\r\n")},
		"object without type":     {Method: http.MethodPost, Headers: http.Header{"Content-Type": {"text/plain"}}, Body: []byte(`{"ServerId":"x"}`)},
	}
	for _, f := range webhookFixtures {
		samples[f] = fixture(t, f, "text/plain; charset=utf-8")
	}
	for _, version := range []string{fake.Version10_11, fake.Version12} {
		t.Run(version, func(t *testing.T) {
			plugintest.Run(t, plugintest.Suite{
				Factory: New,
				Config: func(t *testing.T) plugins.Config {
					s, ts := fake.Start(t, smallLibrary(version))
					return configFor(s, ts.URL, nil)
				},
				BadConfigs: map[string]plugins.Config{
					"no token":            {Type: Type, URL: "http://jellyfin:8096"},
					"page size zero":      {Type: Type, URL: "http://jellyfin:8096", Token: "k", Options: map[string]string{"page_size": "0"}},
					"unknown option":      {Type: Type, URL: "http://jellyfin:8096", Token: "k", Options: map[string]string{"pagesize": "10"}},
					"bad date format":     {Type: Type, URL: "http://jellyfin:8096", Token: "k", Options: map[string]string{"date_played_format": "unix"}},
					"bad timeout":         {Type: Type, URL: "http://jellyfin:8096", Token: "k", Options: map[string]string{"timeout": "forever"}},
					"concurrency too big": {Type: Type, URL: "http://jellyfin:8096", Token: "k", Options: map[string]string{"concurrency": "1000"}},
					"ftp url":             {Type: Type, URL: "ftp://jellyfin", Token: "k"},
				},
				Webhooks: samples,
				Garbage:  garbage,
			})
		})
	}
}

var webhookFixtures = []string{
	"webhook_PlaybackStop_episode_10.10.3_sendallproperties.json",
	"webhook_UserDataSaved_TogglePlayed_unplayed_episode_10.10.3.json",
	"webhook_PlaybackStart_episode_10.8.10_sendallproperties.json",
	"webhook_SessionStart_no-item_10.10.3.json",
	"webhook_AuthenticationSuccess_10.10.3.json",
	"jellyfin_webhook_playbackstop.json",
	"jellyfin_webhook_inspect_playbackstop.json",
	"fake_ItemAdded_Movie_10.11.11.json",
	"fake_ItemAdded_Episode_10.11.11.json",
	"fake_ItemAdded_Season_10.11.11.json",
	"fake_ItemAdded_Series_10.11.11.json",
}
