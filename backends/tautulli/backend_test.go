package tautulli_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/backends/tautulli"
	"github.com/keepwatch/keepwatch/backends/tautulli/fake"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

// received is the receive time the webhook samples carry.
var received = time.Date(2024, 6, 1, 20, 30, 0, 0, time.UTC)

// serve starts a fake Tautulli for the test.
func serve(t *testing.T, opts fake.Options) (*fake.Server, *httptest.Server) {
	t.Helper()
	return fake.Start(t, opts)
}

func config(ts *httptest.Server, f *fake.Server) plugins.Config {
	return plugins.Config{Name: "tautulli-test", Type: tautulli.Type, URL: ts.URL, Token: f.APIKey()}
}

// configured is a backend configured for a fresh fake, through the plugin
// wire.
func configured(t *testing.T, opts fake.Options) (plugins.Client, *fake.Server) {
	t.Helper()
	f, ts := serve(t, opts)
	c := plugintest.Connect(t, tautulli.New)
	if err := c.Configure(t.Context(), config(ts, f)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return c, f
}

func put(body []byte, header http.Header) plugins.WebhookRequest {
	return delivery(http.MethodPut, body, header)
}

// delivery is a webhook request as Tautulli's agent sends it with method.
func delivery(method string, body []byte, header http.Header) plugins.WebhookRequest {
	if header == nil {
		header = http.Header{"Content-Type": {"application/json"}}
	}
	return plugins.WebhookRequest{Method: method, Headers: header, Body: body, ReceivedAt: received}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeHook is the fake's delivery of ev.
func fakeHook(t *testing.T, f *fake.Server, ev fake.Event) plugins.WebhookRequest {
	t.Helper()
	body, header, err := f.Webhook(ev)
	if err != nil {
		t.Fatal(err)
	}
	return put(body, header)
}

func firstOf(f *fake.Server, typ string) fake.Item {
	for _, it := range f.Items() {
		if it.Type == typ {
			return it
		}
	}
	panic("fake has no " + typ)
}

func TestConformance(t *testing.T) {
	sample := fake.New(fake.Options{})
	owner := sample.Owner().ID
	movie, episode := firstOf(sample, "movie").RatingKey, firstOf(sample, "episode").RatingKey
	webhooks := map[string]plugins.WebhookRequest{
		"watchstate watched fixture": put(fixture(t, "tautulli_webhook_watched.json"), nil),
		"test notification template": put(fixture(t, "webhook_data_template_watchstate.json"), nil),
		// Tautulli's grouped "recently added" of a season: ignored, its episodes are not named.
		"created season": put([]byte(`{"event":"tautulli.created","Account":{"id":""},"Server":{"uuid":"abc"},"Metadata":{"ratingKey":"1021","type":"season","title":"Season 1"}}`), nil),
	}
	for _, action := range []string{"play", "pause", "resume", "stop", "watched", "created", "buffer"} {
		for kind, key := range map[string]int64{"movie": movie, "episode": episode} {
			hook := fakeHook(t, sample, fake.Event{Action: action, UserID: owner, RatingKey: key, ViewOffset: 10 * time.Minute})
			webhooks[action+" "+kind] = hook
			// POST, Tautulli's default Webhook Method, is accepted as PUT is.
			hook.Method = http.MethodPost
			webhooks[action+" "+kind+" by POST"] = hook
		}
	}
	plugintest.Run(t, plugintest.Suite{
		Factory: tautulli.New,
		Config: func(t *testing.T) plugins.Config {
			f, ts := serve(t, fake.Options{})
			return config(ts, f)
		},
		BadConfigs: map[string]plugins.Config{
			"no token":            {Type: tautulli.Type, URL: "http://tautulli:8181"},
			"ftp url":             {Type: tautulli.Type, URL: "ftp://tautulli:8181", Token: "k"},
			"key in url":          {Type: tautulli.Type, URL: "http://tautulli:8181/api/v2?apikey=k", Token: "k"},
			"page size words":     {Type: tautulli.Type, URL: "http://tautulli:8181", Token: "k", Options: map[string]string{"page_size": "lots"}},
			"page size zero":      {Type: tautulli.Type, URL: "http://tautulli:8181", Token: "k", Options: map[string]string{"page_size": "0"}},
			"watched percent 0":   {Type: tautulli.Type, URL: "http://tautulli:8181", Token: "k", Options: map[string]string{"watched_percent": "0"}},
			"watched percent 101": {Type: tautulli.Type, URL: "http://tautulli:8181", Token: "k", Options: map[string]string{"watched_percent": "101"}},
			"watched percent 8.5": {Type: tautulli.Type, URL: "http://tautulli:8181", Token: "k", Options: map[string]string{"watched_percent": "8.5"}},
			"unknown option":      {Type: tautulli.Type, URL: "http://tautulli:8181", Token: "k", Options: map[string]string{"pagesize": "10"}},
			"token with space":    {Type: tautulli.Type, URL: "http://tautulli:8181", Token: "abc def"},
		},
		Webhooks: webhooks,
		Garbage: map[string]plugins.WebhookRequest{
			"plex event":        put([]byte(`{"event":"media.scrobble","Account":{"id":"1"},"Metadata":{"ratingKey":"1","type":"movie"}}`), nil),
			"no event":          put([]byte(`{"Account":{"id":"1"},"Metadata":{"ratingKey":"1","type":"movie"}}`), nil),
			"no account":        put([]byte(`{"event":"tautulli.watched","Metadata":{"ratingKey":"1","type":"movie"}}`), nil),
			"account not id":    put([]byte(`{"event":"tautulli.watched","Account":{"id":"alice"},"Metadata":{"ratingKey":"1","type":"movie"}}`), nil),
			"no rating key":     put([]byte(`{"event":"tautulli.stop","Account":{"id":"1"},"Metadata":{"type":"movie","viewOffset":"1000"}}`), nil),
			"no media type":     put([]byte(`{"event":"tautulli.stop","Account":{"id":"1"},"Metadata":{"ratingKey":"1"}}`), nil),
			"metadata a string": put([]byte(`{"event":"tautulli.stop","Account":{"id":"1"},"Metadata":"x"}`), nil),
			"object for value":  put([]byte(`{"event":{"a":1}}`), nil),
			"get method":        delivery(http.MethodGet, fixture(t, "tautulli_webhook_watched.json"), nil),
			"delete method":     delivery(http.MethodDelete, fixture(t, "tautulli_webhook_watched.json"), nil),
		},
	})
}

func TestConfigureURLForms(t *testing.T) {
	f, ts := serve(t, fake.Options{})
	for name, u := range map[string]string{
		"base":               ts.URL,
		"trailing slash":     ts.URL + "/",
		"with http root":     ts.URL + "/tautulli",
		"full api url":       ts.URL + "/tautulli/api/v2",
		"full api url slash": ts.URL + "/api/v2/",
	} {
		t.Run(name, func(t *testing.T) {
			c := plugintest.Connect(t, tautulli.New)
			cfg := config(ts, f)
			cfg.URL = u
			if err := c.Configure(t.Context(), cfg); err != nil {
				t.Fatalf("Configure(%q): %v", u, err)
			}
			h, err := c.CheckHealth(t.Context())
			if err != nil || !h.Reachable {
				t.Fatalf("health with url %q: %+v, %v", u, h, err)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	c, f := configured(t, fake.Options{MachineID: "0123456789abcdef0123456789abcdef01234567"})
	got, err := c.CheckHealth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := plugins.Health{
		Reachable: true, ServerID: "0123456789abcdef0123456789abcdef01234567", ServerName: "Fake Plex",
		ServerVersion: fake.PlexVersion, Detail: "Plex Media Server seen through Tautulli " + fake.TautulliVersion,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("health (-want +got):\n%s", diff)
	}

	t.Run("wrong key", func(t *testing.T) {
		_, ts := serve(t, fake.Options{Seed: 99})
		c := plugintest.Connect(t, tautulli.New)
		cfg := config(ts, f) // f's key, another fake's server
		if err := c.Configure(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		h, err := c.CheckHealth(t.Context())
		if err != nil {
			t.Fatalf("CheckHealth with a wrong key answered an error (want unreachable): %v", err)
		}
		if h.Reachable || !strings.Contains(h.Detail, "Invalid apikey") || !strings.Contains(h.Detail, "API key") {
			t.Errorf("health with a wrong key: %+v; want unreachable, naming Tautulli's message and the fix", h)
		}
		if strings.Contains(h.Detail, f.APIKey()) {
			t.Errorf("health detail leaks the API key: %q", h.Detail)
		}
	})

	t.Run("down", func(t *testing.T) {
		f, ts := serve(t, fake.Options{})
		c := plugintest.Connect(t, tautulli.New)
		if err := c.Configure(t.Context(), config(ts, f)); err != nil {
			t.Fatal(err)
		}
		ts.Close()
		h, err := c.CheckHealth(t.Context())
		if err != nil || h.Reachable || h.Detail == "" {
			t.Errorf("health of a stopped server: %+v, %v; want unreachable with a detail", h, err)
		}
	})
}

func TestListAccounts(t *testing.T) {
	c, f := configured(t, fake.Options{Users: 3})
	got, err := c.ListAccounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var want []plugins.Account
	for _, u := range f.Users()[1:] { // Local (user 0) is left out
		want = append(want, plugins.Account{ID: itoa(u.ID), Name: u.Username, Admin: u.Admin})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}
}

func TestListAccountsWrongKey(t *testing.T) {
	f, ts := serve(t, fake.Options{})
	c := plugintest.Connect(t, tautulli.New)
	cfg := config(ts, f)
	cfg.Token = "0123456789abcdef0123456789abcdef"
	if err := c.Configure(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	_, err := c.ListAccounts(t.Context())
	if err == nil || !strings.Contains(err.Error(), "Invalid apikey") || errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("ListAccounts with a wrong key: %v; want Tautulli's \"Invalid apikey\", not marked unavailable", err)
	}
	if strings.Contains(err.Error(), cfg.Token) {
		t.Errorf("error leaks the API key: %v", err)
	}
}

func TestServerDownIsUnavailable(t *testing.T) {
	c, f := configured(t, fake.Options{})
	f.Fail("get_users", http.StatusServiceUnavailable, -1)
	_, err := c.ListAccounts(t.Context())
	if !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("ListAccounts against a failing Tautulli: %v; want ErrUnavailable so the host retries", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
