package plex

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

func TestConformance(t *testing.T) {
	config := func(t *testing.T) plugins.Config {
		srv := fake.MustNew(fake.Options{Seed: 7, Movies: 6, Shows: 2, SeasonsPerShow: 2, EpisodesPerSeason: 3})
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		if _, _, err := srv.SeedWatched("admin", 0.4, 0.3, 1); err != nil {
			t.Fatal(err)
		}
		return plugins.Config{Name: "plex-test", Type: Type, URL: ts.URL, Token: srv.Owner().PlexTVToken,
			Options: map[string]string{"plextv_url": ts.URL}}
	}
	valid := config(t)
	with := func(k, v string) plugins.Config {
		c := valid
		c.Options = map[string]string{"plextv_url": valid.URL, k: v}
		return c
	}
	noToken := valid
	noToken.Token = " "
	ftp := valid
	ftp.URL = "ftp://plex.lan"

	webhooks := map[string]plugins.WebhookRequest{}
	files, _ := filepath.Glob("testdata/*webhook*.json")
	for _, f := range files {
		webhooks[filepath.Base(f)] = multipartDelivery(t, readTestdata(t, filepath.Base(f)), true)
	}
	if len(webhooks) < 5 {
		t.Fatalf("found %d webhook fixtures in testdata, want 5", len(webhooks))
	}

	plugintest.Run(t, plugintest.Suite{
		Factory: New,
		Config:  config,
		BadConfigs: map[string]plugins.Config{
			"no token":             noToken,
			"ftp url":              ftp,
			"page size zero":       with("page_size", "0"),
			"page size not number": with("page_size", "lots"),
			"concurrency too high": with("concurrency", "1000"),
			"bad plextv url":       with("plextv_url", "plex.tv"),
			"bad timeout":          with("timeout", "soon"),
			"unknown option":       with("pagesize", "10"),
			"bad pin":              with("home_pins", "kid=12"),
		},
		Webhooks: webhooks,
		Garbage: map[string]plugins.WebhookRequest{
			"multipart without payload": multipartWithout(t),
			"payload not json":          rawMultipart(t, []byte("not json")),
			"scrobble without account":  rawMultipart(t, []byte(`{"event":"media.scrobble","Server":{"uuid":"x"},"Metadata":{"ratingKey":"1","type":"movie"}}`)),
			"no event":                  rawMultipart(t, []byte(`{"Account":{"id":1}}`)),
			"guid of wrong type":        rawMultipart(t, []byte(`{"event":"media.play","Account":{"id":1},"Server":{"uuid":"x"},"Metadata":{"ratingKey":"1","type":"movie","guid":["x"]}}`)),
			"too big":                   {Method: "POST", Body: []byte(strings.Repeat("x", MaxWebhookBytes+1))},
		},
	})
}

func rawMultipart(t *testing.T, payload []byte) plugins.WebhookRequest {
	return multipartDelivery(t, payload, false)
}

func multipartWithout(t *testing.T) plugins.WebhookRequest {
	r := rawMultipart(t, []byte(`{}`))
	r.Body = []byte(strings.Replace(string(r.Body), `name="payload"`, `name="other"`, 1))
	return r
}
