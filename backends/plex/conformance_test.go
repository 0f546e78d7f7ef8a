package plex

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

func TestConformance(t *testing.T) {
	opts := fake.Options{Seed: 7, Movies: 6, Shows: 2, SeasonsPerShow: 2, EpisodesPerSeason: 3}
	config := func(t *testing.T) plugins.Config {
		srv := fake.MustNew(opts)
		// The items the library.new samples announce, as on their twin below.
		addNewItems(t, srv)
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
	// library.new of a movie, an episode, a show and a season, as a twin of the
	// suite's server (same seed, same additions) delivers them.
	twin := fake.MustNew(opts)
	sink := newHookSink(t)
	if err := twin.AddWebhook(fake.Webhook{URL: sink.ts.URL}); err != nil {
		t.Fatal(err)
	}
	twinItems := addNewItems(t, twin)
	for i, it := range twinItems {
		webhooks[fmt.Sprintf("fake library.new %d %s", i, it.Type)] = sink.next(t)
	}
	// The samples name the suite's items only if the fake is deterministic
	// (addedAt aside: the suite's fakes run on the wall clock).
	ignoreDates := cmpopts.IgnoreFields(fake.Item{}, "AddedAt", "UpdatedAt")
	if diff := cmp.Diff(twinItems, addNewItems(t, fake.MustNew(opts)), ignoreDates); diff != "" {
		t.Fatalf("two fakes of the same options added different items (-twin +suite):\n%s", diff)
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
			"multipart without payload":     multipartWithout(t),
			"payload not json":              rawMultipart(t, []byte("not json")),
			"scrobble without account":      rawMultipart(t, []byte(`{"event":"media.scrobble","Server":{"uuid":"x"},"Metadata":{"ratingKey":"1","type":"movie"}}`)),
			"no event":                      rawMultipart(t, []byte(`{"Account":{"id":1}}`)),
			"guid of wrong type":            rawMultipart(t, []byte(`{"event":"media.play","Account":{"id":1},"Server":{"uuid":"x"},"Metadata":{"ratingKey":"1","type":"movie","guid":["x"]}}`)),
			"library.new without ratingKey": rawMultipart(t, []byte(`{"event":"library.new","Server":{"uuid":"x"},"Metadata":{"type":"show"}}`)),
			"too big":                       {Method: "POST", Body: []byte(strings.Repeat("x", MaxWebhookBytes+1))},
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
