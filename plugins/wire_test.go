package plugins_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

// recorder is a backend that answers canned data and records what reached
// it, so a test can compare both ends of the wire.
type recorder struct {
	mu       sync.Mutex
	cfg      plugins.Config
	webhook  plugins.WebhookRequest
	imp      plugins.ImportRequest
	writes   []plugins.Write
	resolve  plugins.ResolveRequest
	calls    int
	failWith error // ListAccounts answers it when set
	panics   bool  // ListAccounts panics when set

	pages        [][]plugins.Observation
	blockImport  bool       // after the pages, wait for ctx to end
	importCtxErr chan error // what the blocked import saw
	outcomes     []plugins.WriteOutcome
}

func (r *recorder) factory(plugins.Env) plugins.Backend { return r }

func (r *recorder) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{Type: "recorder", Version: "1.2.3", DisplayName: "Recorder", Summary: "records"}, nil
}

func (r *recorder) Configure(_ context.Context, cfg plugins.Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cfg.URL == "" {
		return plugins.InvalidConfig("url", "", "is empty: set url")
	}
	r.cfg = cfg
	return nil
}

func (r *recorder) CheckHealth(context.Context) (plugins.Health, error) {
	return health, nil
}

func (r *recorder) ListAccounts(context.Context) ([]plugins.Account, error) {
	r.mu.Lock()
	r.calls++
	failWith, panics := r.failWith, r.panics
	r.mu.Unlock()
	if panics {
		panic("recorder: boom")
	}
	if failWith != nil {
		return nil, failWith
	}
	return accounts, nil
}

func (r *recorder) ParseWebhook(_ context.Context, req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	r.mu.Lock()
	r.webhook = req
	r.mu.Unlock()
	return webhookResult, nil
}

func (r *recorder) Import(ctx context.Context, req plugins.ImportRequest, emit func([]plugins.Observation) error) error {
	r.mu.Lock()
	r.imp = req
	r.mu.Unlock()
	for _, p := range r.pages {
		if err := emit(p); err != nil {
			return err
		}
	}
	if r.blockImport {
		<-ctx.Done()
		r.importCtxErr <- ctx.Err()
		return ctx.Err()
	}
	return nil
}

func (r *recorder) Apply(_ context.Context, ws []plugins.Write) ([]plugins.WriteOutcome, error) {
	r.mu.Lock()
	r.writes = ws
	r.mu.Unlock()
	if r.outcomes != nil {
		return r.outcomes, nil
	}
	out := make([]plugins.WriteOutcome, len(ws))
	for i := range out {
		out[i] = plugins.Succeeded()
	}
	return out, nil
}

func (r *recorder) Resolve(_ context.Context, req plugins.ResolveRequest) ([]plugins.Resolution, error) {
	r.mu.Lock()
	r.resolve = req
	r.mu.Unlock()
	return resolutions, nil
}

var (
	paris  = time.FixedZone("Paris", 3600)
	health = plugins.Health{Reachable: true, ServerID: "abc123", ServerName: "Home", ServerVersion: "1.40.0", Detail: "ok"}

	accounts = []plugins.Account{{ID: "1", Name: "alice", Admin: true}, {ID: "2", Name: "bob"}}

	// movie and episode set every field, with times that carry nanoseconds
	// and a zone, to catch a converter that drops or rounds anything.
	movie = plugins.Observation{
		AccountID: "1", AccountName: "alice", ItemID: "100", LibraryID: "1", LibraryName: "Movies",
		Kind: plugins.KindMovie, Title: "Heat", Year: 1995, GUIDs: []string{"imdb:tt0113277", "tmdb:949"},
		Duration: 170*time.Minute + 123*time.Millisecond,
		State: plugins.State{
			WatchedKnown: true, Watched: true, PlayedAt: time.Date(2024, 5, 6, 7, 8, 9, 123456789, paris),
			ProgressKnown: true, Progress: 0, EventAt: time.Date(2024, 5, 6, 7, 8, 10, 1, time.UTC), PlayCount: 3,
		},
		Event: "media.scrobble",
	}
	episode = plugins.Observation{
		AccountID: "2", AccountName: "bob", ItemID: "e1", LibraryID: "2", LibraryName: "Shows",
		Kind: plugins.KindEpisode, Title: "Pilot", Year: 2008, GUIDs: []string{"tvdb:349232"},
		ShowID: "s1", ShowTitle: "Breaking Bad", ShowGUIDs: []string{"tvdb:81189", "imdb:tt0903747"}, Season: 1, Episode: 1,
		Duration: 58 * time.Minute,
		State: plugins.State{
			ProgressKnown: true, Progress: 754*time.Second + 500*time.Millisecond, InferCompletion: true, Playing: true,
		},
	}
	webhookResult = plugins.WebhookResult{
		ServerID: "abc123", AccountID: "2", AccountName: "bob", Event: "media.pause",
		Observations: []plugins.Observation{episode},
		// An addition rides beside the observations, item fields only.
		Added: []plugins.Observation{{ItemID: "77", LibraryID: "2", LibraryName: "Films", Kind: plugins.KindMovie,
			Title: "Heat", Year: 1995, GUIDs: []string{"imdb:tt0113277"}, Duration: 170 * time.Minute}},
	}
	resolutions = []plugins.Resolution{{ItemID: "100", LibraryID: "1", LibraryName: "Movies"}, {}}
)

// timesEqual compares instants, not zones: times come back in UTC.
var timesEqual = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func configured(t *testing.T, r *recorder) plugins.Client {
	t.Helper()
	c := plugintest.Connect(t, r.factory)
	if err := c.Configure(t.Context(), plugins.Config{Name: "rec", Type: "recorder", URL: "http://x"}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWireRoundTrip(t *testing.T) {
	r := &recorder{pages: [][]plugins.Observation{{movie, episode}, {episode}}}
	c := plugintest.Connect(t, r.factory)
	ctx := t.Context()

	cfg := plugins.Config{Name: "plex-home", Type: "recorder", URL: "http://plex:32400", Token: "secret", Options: map[string]string{"a": "1"}}
	if err := c.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cfg, r.cfg); diff != "" {
		t.Errorf("config (-sent +received):\n%s", diff)
	}

	desc, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantDesc := plugins.Description{Type: "recorder", Version: "1.2.3", DisplayName: "Recorder", Summary: "records",
		Capabilities: []plugins.Capability{"webhook", "import", "export", "resolve"}}
	if diff := cmp.Diff(wantDesc, desc); diff != "" {
		t.Errorf("describe (-want +got):\n%s", diff)
	}

	h, err := c.CheckHealth(ctx)
	if err != nil || h != health {
		t.Errorf("health %+v, %v; want %+v", h, err, health)
	}
	as, err := c.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(accounts, as); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}

	req := plugins.WebhookRequest{
		Method: http.MethodPost, Query: "a=b",
		Headers:    http.Header{"Content-Type": {"application/json"}, "X-Many": {"1", "2"}},
		Body:       []byte(`{"x":1}`),
		ReceivedAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
	}
	res, err := c.ParseWebhook(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(req, r.webhook, timesEqual); diff != "" {
		t.Errorf("webhook request (-sent +received):\n%s", diff)
	}
	if diff := cmp.Diff(webhookResult, res, timesEqual); diff != "" {
		t.Errorf("webhook result (-sent +received):\n%s", diff)
	}

	ireq := plugins.ImportRequest{AccountID: "1", Since: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Libraries: plugins.LibraryFilter{Include: []string{"Movies"}, Exclude: []string{"Kids"}}, PageSize: 50}
	var got [][]plugins.Observation
	if err := c.Import(ctx, ireq, func(p []plugins.Observation) error {
		got = append(got, append([]plugins.Observation(nil), p...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ireq, r.imp, timesEqual); diff != "" {
		t.Errorf("import request (-sent +received):\n%s", diff)
	}
	if diff := cmp.Diff(r.pages, got, timesEqual); diff != "" {
		t.Errorf("import pages (-sent +received):\n%s", diff)
	}

	writes := []plugins.Write{
		{AccountID: "1", ItemID: "100", Kind: plugins.WriteWatched, PlayedAt: movie.State.PlayedAt, Duration: time.Hour},
		{AccountID: "1", ItemID: "101", Kind: plugins.WriteUnwatched},
		{AccountID: "2", ItemID: "e1", Kind: plugins.WriteProgress, Progress: 90 * time.Second},
	}
	r.outcomes = []plugins.WriteOutcome{plugins.Succeeded(), plugins.Failed(true, "gone"), plugins.SkippedPlaying()}
	outs, err := c.Apply(ctx, writes)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(writes, r.writes, timesEqual); diff != "" {
		t.Errorf("writes (-sent +received):\n%s", diff)
	}
	if diff := cmp.Diff(r.outcomes, outs); diff != "" {
		t.Errorf("outcomes (-sent +received):\n%s", diff)
	}

	rreq := plugins.ResolveRequest{AccountID: "1", Queries: []plugins.ResolveQuery{
		{Kind: plugins.KindMovie, GUIDs: []string{"imdb:tt0113277"}, Title: "Heat", Year: 1995},
		{Kind: plugins.KindEpisode, ShowGUIDs: []string{"tvdb:81189"}, Season: 1, Episode: 2},
	}}
	rs, err := c.Resolve(ctx, rreq)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rreq, r.resolve); diff != "" {
		t.Errorf("resolve request (-sent +received):\n%s", diff)
	}
	if diff := cmp.Diff(resolutions, rs); diff != "" {
		t.Errorf("resolutions (-sent +received):\n%s", diff)
	}
}

func TestZeroTimesStayUnknown(t *testing.T) {
	o := movie
	o.State.PlayedAt, o.State.EventAt = time.Time{}, time.Time{}
	r := &recorder{pages: [][]plugins.Observation{{o}}}
	c := configured(t, r)
	err := c.Import(t.Context(), plugins.ImportRequest{}, func(p []plugins.Observation) error {
		if !p[0].State.PlayedAt.IsZero() || !p[0].State.EventAt.IsZero() {
			t.Errorf("zero times came back as %v, %v", p[0].State.PlayedAt, p[0].State.EventAt)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestErrorsCrossTheWire(t *testing.T) {
	plain := fmt.Errorf("plex: list users: %w", io.ErrUnexpectedEOF)
	tests := []struct {
		name  string
		err   error
		is    []error
		check func(t *testing.T, err error)
	}{
		{name: "plain message kept", err: plain},
		{name: "unsupported", err: fmt.Errorf("plex: %w", plugins.ErrUnsupported), is: []error{plugins.ErrUnsupported}},
		{name: "unavailable", err: fmt.Errorf("plex: server down: %w", plugins.ErrUnavailable), is: []error{plugins.ErrUnavailable}},
		{name: "not configured", err: plugins.ErrNotConfigured, is: []error{plugins.ErrNotConfigured}},
		{name: "cancelled", err: fmt.Errorf("plex: %w", context.Canceled), is: []error{context.Canceled}},
		{name: "deadline", err: fmt.Errorf("plex: %w", context.DeadlineExceeded), is: []error{context.DeadlineExceeded}},
		{
			name: "config error", err: fmt.Errorf("plex: %w", plugins.InvalidConfig("options.section", "x", "must be digits")),
			is: []error{plugins.ErrInvalidConfig},
			check: func(t *testing.T, err error) {
				var ce *plugins.ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("%v is not a *ConfigError", err)
				}
				want := plugins.ConfigError{Field: "options.section", Value: "x", Problem: "must be digits"}
				if *ce != want {
					t.Errorf("config error %+v, want %+v", *ce, want)
				}
			},
		},
		{
			name: "rejected", err: plugins.Reject("payload part missing"), is: []error{plugins.ErrRejected},
			check: func(t *testing.T, err error) {
				var re *plugins.RejectedError
				if !errors.As(err, &re) || re.Reason != "payload part missing" {
					t.Errorf("%v: want a rejection with its reason", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{failWith: tt.err}
			c := configured(t, r)
			_, err := c.ListAccounts(t.Context())
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.err.Error() {
				t.Errorf("message %q, want the backend's %q", err, tt.err)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("%v does not match %v", err, target)
				}
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestCallsBeforeConfigure(t *testing.T) {
	r := &recorder{}
	c := plugintest.Connect(t, r.factory)
	if _, err := c.ListAccounts(t.Context()); !errors.Is(err, plugins.ErrNotConfigured) {
		t.Errorf("ListAccounts before Configure: %v", err)
	}
	if r.calls != 0 {
		t.Errorf("the backend was called %d times before Configure", r.calls)
	}
	if err := c.Configure(t.Context(), plugins.Config{}); !errors.Is(err, plugins.ErrInvalidConfig) {
		t.Fatalf("bad Configure: %v", err)
	}
	if _, err := c.ListAccounts(t.Context()); !errors.Is(err, plugins.ErrNotConfigured) {
		t.Errorf("ListAccounts after a refused Configure: %v", err)
	}
}

func TestPanicFailsOnlyTheCall(t *testing.T) {
	r := &recorder{panics: true}
	c := configured(t, r)
	_, err := c.ListAccounts(t.Context())
	if err == nil || err.Error() != "backend panicked in ListAccounts: recorder: boom" {
		t.Fatalf("panicking call: %v", err)
	}
	r.mu.Lock()
	r.panics = false
	r.mu.Unlock()
	if _, err := c.ListAccounts(t.Context()); err != nil {
		t.Errorf("the call after a panic: %v", err)
	}
}

func TestImportCancelReachesBackend(t *testing.T) {
	r := &recorder{pages: [][]plugins.Observation{{movie}}, blockImport: true, importCtxErr: make(chan error, 1)}
	c := configured(t, r)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := c.Import(ctx, plugins.ImportRequest{}, func([]plugins.Observation) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Import: %v, want context.Canceled", err)
	}
	if got := <-r.importCtxErr; !errors.Is(got, context.Canceled) {
		t.Errorf("the backend's context ended with %v, want context.Canceled", got)
	}
}

func TestImportEmitErrorStopsBackend(t *testing.T) {
	r := &recorder{pages: [][]plugins.Observation{{movie}}, blockImport: true, importCtxErr: make(chan error, 1)}
	c := configured(t, r)
	stop := errors.New("consumer full")
	err := c.Import(t.Context(), plugins.ImportRequest{}, func([]plugins.Observation) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("Import: %v, want the consumer's error", err)
	}
	if got := <-r.importCtxErr; !errors.Is(got, context.Canceled) {
		t.Errorf("the backend's context ended with %v, want context.Canceled", got)
	}
}

func TestImportSplitsOversizedPages(t *testing.T) {
	page := make([]plugins.Observation, 10)
	for i := range page {
		page[i] = movie
		page[i].ItemID = fmt.Sprint(i)
	}
	r := &recorder{pages: [][]plugins.Observation{page}}
	c := configured(t, r)
	var sizes []int
	var ids []string
	err := c.Import(t.Context(), plugins.ImportRequest{PageSize: 3}, func(p []plugins.Observation) error {
		sizes = append(sizes, len(p))
		for _, o := range p {
			ids = append(ids, o.ItemID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{3, 3, 3, 1}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, ids); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestApplyOutcomeCountIsChecked(t *testing.T) {
	r := &recorder{outcomes: []plugins.WriteOutcome{plugins.Succeeded()}}
	c := configured(t, r)
	_, err := c.Apply(t.Context(), []plugins.Write{{ItemID: "1", Kind: plugins.WriteWatched}, {ItemID: "2", Kind: plugins.WriteWatched}})
	if err == nil || err.Error() != "backend broke the contract: Apply answered 1 outcomes for 2 writes" {
		t.Errorf("Apply: %v", err)
	}
}

// onlyBackend hides every capability of the backend it wraps.
type onlyBackend struct{ plugins.Backend }

func TestMissingCapabilitiesAreUnsupported(t *testing.T) {
	factory := func(plugins.Env) plugins.Backend { return onlyBackend{&recorder{}} }
	for name, c := range map[string]plugins.Client{
		"wire":       plugintest.Connect(t, factory),
		"in process": plugins.Adapt(factory(plugins.Env{})),
	} {
		t.Run(name, func(t *testing.T) {
			if err := c.Configure(t.Context(), plugins.Config{URL: "http://x"}); err != nil {
				t.Fatal(err)
			}
			d, err := c.Describe(t.Context())
			if err != nil || len(d.Capabilities) != 0 {
				t.Errorf("Describe: %+v, %v; want no capabilities", d, err)
			}
			_, errW := c.ParseWebhook(t.Context(), plugins.WebhookRequest{})
			errI := c.Import(t.Context(), plugins.ImportRequest{}, func([]plugins.Observation) error { return nil })
			_, errA := c.Apply(t.Context(), nil)
			_, errR := c.Resolve(t.Context(), plugins.ResolveRequest{})
			for capability, err := range map[string]error{"webhook": errW, "import": errI, "export": errA, "resolve": errR} {
				if !errors.Is(err, plugins.ErrUnsupported) {
					t.Errorf("%s: %v, want ErrUnsupported", capability, err)
				}
			}
		})
	}
}
