package plex

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

// env is a fake Plex (PMS and plex.tv on one URL) and a backend configured
// against it, owner token and all.
type env struct {
	srv *fake.Server
	ts  *httptest.Server
	b   *Backend
	cfg plugins.Config
	n   *requestCounter
}

// requestCounter counts requests by fake route name as they arrive. The fake's
// own Requests counts after answering, so a client may see the answer before
// the count moves; counting on arrival is exact once the client call returned.
type requestCounter struct {
	next http.Handler
	mu   sync.Mutex
	n    map[string]int
}

func (c *requestCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.n[routeOf(r)]++
	c.mu.Unlock()
	c.next.ServeHTTP(w, r)
}

// routeOf names the fake route of the requests the tests count.
func routeOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/library/sections/") && strings.HasSuffix(p, "/all"):
		return fake.RouteSectionAll
	case strings.HasPrefix(p, "/library/metadata/") && strings.Count(p, "/") == 3:
		return fake.RouteMetadata
	}
	return r.Method + " " + p
}

func (e *env) requests(route string) int {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	return e.n.n[route]
}

func (e *env) resetRequests() {
	e.n.mu.Lock()
	e.n.n = map[string]int{}
	e.n.mu.Unlock()
}

func newEnv(t testing.TB, opts fake.Options, options map[string]string) *env {
	t.Helper()
	srv := fake.MustNew(opts)
	n := &requestCounter{next: srv, n: map[string]int{}}
	ts := httptest.NewServer(n)
	t.Cleanup(ts.Close)
	e := newEnvOn(t, srv, ts, options)
	e.n = n
	return e
}

func newEnvOn(t testing.TB, srv *fake.Server, ts *httptest.Server, options map[string]string) *env {
	t.Helper()
	cfg := fakeConfig(srv, ts.URL)
	for k, v := range options {
		cfg.Options[k] = v
	}
	b := New(plugins.Env{Logger: plugintest.TestLogger(t)}).(*Backend)
	b.minBackoff = time.Millisecond
	if err := b.Configure(context.Background(), cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return &env{srv: srv, ts: ts, b: b, cfg: cfg}
}

func fakeConfig(srv *fake.Server, url string) plugins.Config {
	return plugins.Config{
		Name: "plex-test", Type: Type, URL: url, Token: srv.Owner().PlexTVToken,
		Options: map[string]string{optPlexTVURL: url},
	}
}

// importAll runs a whole import and collects it.
func importAll(t testing.TB, b plugins.Importer, req plugins.ImportRequest) []plugins.Observation {
	t.Helper()
	var all []plugins.Observation
	err := b.Import(context.Background(), req, func(p []plugins.Observation) error {
		all = append(all, p...)
		return nil
	})
	if err != nil {
		t.Fatalf("Import %+v: %v", req, err)
	}
	return all
}

func byItem(obs []plugins.Observation) map[string]plugins.Observation {
	m := make(map[string]plugins.Observation, len(obs))
	for _, o := range obs {
		m[o.ItemID] = o
	}
	return m
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// multipartDelivery wraps a payload the way PMS sends it, thumb included.
func multipartDelivery(t testing.TB, payload []byte, thumb bool) plugins.WebhookRequest {
	t.Helper()
	var th []byte
	if thumb {
		th = fake.ThumbJPEG()
	}
	req, err := fake.NewWebhookRequest(context.Background(), "http://keepwatch.invalid/webhook/x", payload, th)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return plugins.WebhookRequest{Method: req.Method, Headers: req.Header, Body: body, ReceivedAt: time.Now().UTC()}
}

// hookSink receives the fake's webhooks as keepwatch's route would.
type hookSink struct {
	ts  *httptest.Server
	got chan plugins.WebhookRequest
}

func newHookSink(t testing.TB) *hookSink {
	h := &hookSink{got: make(chan plugins.WebhookRequest, 64)}
	h.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBytes+1))
		h.got <- plugins.WebhookRequest{Method: r.Method, Headers: r.Header.Clone(), Body: bytes.Clone(body), ReceivedAt: time.Now().UTC()}
	}))
	t.Cleanup(h.ts.Close)
	return h
}

func (h *hookSink) next(t testing.TB) plugins.WebhookRequest {
	t.Helper()
	select {
	case r := <-h.got:
		return r
	default:
		t.Fatal("no webhook delivered")
		return plugins.WebhookRequest{}
	}
}
