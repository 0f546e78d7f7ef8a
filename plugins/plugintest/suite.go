package plugintest

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keepwatch/keepwatch/plugins"
)

// Suite describes the backend under test to Run.
type Suite struct {
	// Factory builds the backend. Required unless Connect is set.
	Factory plugins.Factory

	// Config returns a valid configuration for a fresh fake server. It is
	// called once per subtest so that writes in one do not leak into
	// another. The server's first account must have at least three items
	// when the backend imports. Required.
	Config func(t *testing.T) plugins.Config

	// BadConfigs are configurations the backend must refuse with a
	// *plugins.ConfigError, beyond the suite's own (empty and malformed URL).
	BadConfigs map[string]plugins.Config

	// Webhooks are well-formed deliveries that must parse without error:
	// into observations, or ignored with a reason.
	Webhooks map[string]plugins.WebhookRequest

	// Garbage are malformed deliveries the backend must reject, beyond the
	// suite's own (empty, not JSON, truncated, binary, broken multipart ...).
	Garbage map[string]plugins.WebhookRequest

	// Writes are valid writes on the fake server, used to test Apply when
	// the backend cannot import (otherwise the suite picks imported items).
	Writes []plugins.Write

	// Connect reaches a new instance of the backend under test. By default
	// the suite uses Connect(t, Factory): in process, over gRPC on a bufconn,
	// unconfigured. Set it to test through plugins/host and a real plugin
	// process; the instance may then arrive configured.
	Connect func(t *testing.T) plugins.Client
}

// Run is the conformance suite. Each check is a subtest named after what it
// holds the backend to.
func Run(t *testing.T, s Suite) {
	t.Helper()
	if s.Config == nil {
		t.Fatal("plugintest.Suite: Config is nil: give a function returning a valid configuration for a fresh fake server")
	}
	connect := s.Connect
	if connect == nil {
		if s.Factory == nil {
			t.Fatal("plugintest.Suite: both Factory and Connect are nil: set Factory")
		}
		connect = func(t *testing.T) plugins.Client { return Connect(t, s.Factory) }
	}
	r := &runner{s: s, connect: connect}

	c := connect(t)
	desc, err := c.Describe(t.Context())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	r.desc = desc

	t.Run("Describe", r.testDescribe)
	if s.Connect == nil {
		t.Run("RefusesCallsBeforeConfigure", r.testNotConfigured)
	}
	t.Run("RefusesBadConfig", r.testBadConfig)
	t.Run("KeepsConfigAfterRefusal", r.testKeepsConfig)
	t.Run("Health", r.testHealth)
	t.Run("ListAccounts", r.testAccounts)
	if desc.Has(plugins.CapabilityImport) {
		t.Run("Import", r.testImport)
	}
	if desc.Has(plugins.CapabilityExport) {
		t.Run("Apply", r.testApply)
	}
	if desc.Has(plugins.CapabilityResolve) {
		t.Run("Resolve", r.testResolve)
	}
	if desc.Has(plugins.CapabilityWebhook) {
		t.Run("Webhook", r.testWebhook)
	}
	if len(desc.Capabilities) < len(knownCapabilities) {
		t.Run("UnsupportedCapabilities", r.testUnsupported)
	}
}

type runner struct {
	s       Suite
	connect func(t *testing.T) plugins.Client
	desc    plugins.Description
}

// configured connects a new instance and configures it for a fresh server.
func (r *runner) configured(t *testing.T) plugins.Client {
	t.Helper()
	c := r.connect(t)
	cfg := r.s.Config(t)
	if err := c.Configure(t.Context(), cfg); err != nil {
		t.Fatalf("Configure with the suite's valid config: %v", err)
	}
	return c
}

func (r *runner) firstAccount(t *testing.T, c plugins.Client) plugins.Account {
	t.Helper()
	accounts, err := c.ListAccounts(t.Context())
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	if len(accounts) == 0 {
		t.Fatal("ListAccounts answered no account: the fake server needs at least one")
	}
	return accounts[0]
}

var knownCapabilities = map[plugins.Capability]bool{
	plugins.CapabilityWebhook: true, plugins.CapabilityImport: true,
	plugins.CapabilityExport: true, plugins.CapabilityResolve: true,
}

func (r *runner) testDescribe(t *testing.T) {
	if err := plugins.CheckDescription(r.desc); err != nil {
		t.Error(err)
	}
	for _, c := range r.desc.Capabilities {
		if !knownCapabilities[c] {
			t.Errorf("Describe lists capability %q, which protocol v1 does not know", c)
		}
	}
	c := r.connect(t)
	before, err := c.Describe(t.Context())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	cfg := r.s.Config(t)
	if cfg.Type != "" && cfg.Type != r.desc.Type {
		t.Errorf("the suite's config has type %q but Describe says %q", cfg.Type, r.desc.Type)
	}
	if err := c.Configure(t.Context(), cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	after, err := c.Describe(t.Context())
	if err != nil {
		t.Fatalf("Describe after Configure: %v", err)
	}
	for name, got := range map[string]plugins.Description{"another instance": before, "after Configure": after} {
		if diff := cmp.Diff(r.desc, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Describe is not stable (%s) (-first +now):\n%s", name, diff)
		}
	}
}

func (r *runner) testNotConfigured(t *testing.T) {
	c := r.connect(t)
	if _, err := c.ListAccounts(t.Context()); !errors.Is(err, plugins.ErrNotConfigured) {
		t.Errorf("ListAccounts before Configure: got %v, want ErrNotConfigured", err)
	}
	if _, err := c.CheckHealth(t.Context()); !errors.Is(err, plugins.ErrNotConfigured) {
		t.Errorf("CheckHealth before Configure: got %v, want ErrNotConfigured", err)
	}
}

func (r *runner) badConfigs(t *testing.T) map[string]plugins.Config {
	valid := r.s.Config(t)
	bad := map[string]plugins.Config{}
	emptyURL := valid
	emptyURL.URL = ""
	bad["empty url"] = emptyURL
	malformed := valid
	malformed.URL = "http://[::1"
	bad["malformed url"] = malformed
	for name, cfg := range r.s.BadConfigs {
		bad[name] = cfg
	}
	return bad
}

func (r *runner) testBadConfig(t *testing.T) {
	for name, cfg := range r.badConfigs(t) {
		t.Run(name, func(t *testing.T) {
			c := r.connect(t)
			err := c.Configure(t.Context(), cfg)
			checkConfigError(t, err)
		})
	}
}

func checkConfigError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("Configure accepted a bad configuration")
	}
	if !errors.Is(err, plugins.ErrInvalidConfig) {
		t.Fatalf("Configure refused with %q, which is not a *plugins.ConfigError (use plugins.InvalidConfig)", err)
	}
	var ce *plugins.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Configure error %q matches ErrInvalidConfig but carries no *plugins.ConfigError", err)
	}
	if ce.Field == "" || ce.Problem == "" {
		t.Errorf("config error %q must name the field and the problem: got field %q, problem %q", err, ce.Field, ce.Problem)
	}
}

func (r *runner) testKeepsConfig(t *testing.T) {
	c := r.configured(t)
	for name, cfg := range r.badConfigs(t) {
		checkConfigError(t, c.Configure(t.Context(), cfg))
		h, err := c.CheckHealth(t.Context())
		if err != nil || !h.Reachable {
			t.Errorf("after refusing %s, the previous configuration no longer works: health %+v, error %v", name, h, err)
		}
	}
}

func (r *runner) testHealth(t *testing.T) {
	c := r.configured(t)
	h, err := c.CheckHealth(t.Context())
	if err != nil {
		t.Fatalf("CheckHealth: %v", err)
	}
	if !h.Reachable {
		t.Errorf("CheckHealth says the fake server is unreachable: %q", h.Detail)
	}
	if h.ServerID == "" {
		t.Error("CheckHealth gave no ServerID; webhooks are matched against it")
	}
}

func (r *runner) testAccounts(t *testing.T) {
	c := r.configured(t)
	accounts, err := c.ListAccounts(t.Context())
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	if len(accounts) == 0 {
		t.Fatal("ListAccounts answered no account: the fake server needs at least one")
	}
	seen := map[string]bool{}
	for _, a := range accounts {
		if a.ID == "" || a.Name == "" {
			t.Errorf("account %+v lacks an id or a name", a)
		}
		if seen[a.ID] {
			t.Errorf("account id %q appears twice", a.ID)
		}
		seen[a.ID] = true
	}
}

// importAll collects a whole import and its page sizes.
func importAll(ctx context.Context, c plugins.Client, req plugins.ImportRequest) ([]plugins.Observation, []int, error) {
	var obs []plugins.Observation
	var pages []int
	err := c.Import(ctx, req, func(page []plugins.Observation) error {
		pages = append(pages, len(page))
		obs = append(obs, page...)
		return nil
	})
	return obs, pages, err
}

func (r *runner) testImport(t *testing.T) {
	c := r.configured(t)
	acct := r.firstAccount(t, c)
	full, pages, err := importAll(t.Context(), c, plugins.ImportRequest{AccountID: acct.ID})
	if err != nil {
		t.Fatalf("full import of account %q: %v", acct.ID, err)
	}
	if len(full) < 3 {
		t.Fatalf("full import of account %q gave %d observations; the fake server must give at least 3", acct.ID, len(full))
	}

	t.Run("ObservationsValid", func(t *testing.T) {
		seen := map[string]bool{}
		for _, o := range full {
			if err := plugins.CheckObservation(o); err != nil {
				t.Error(err)
			}
			if o.AccountID != acct.ID {
				t.Errorf("item %q: account id %q, want the imported account %q", o.ItemID, o.AccountID, acct.ID)
			}
			if !o.State.WatchedKnown {
				t.Errorf("item %q: an import row must know the watched flag", o.ItemID)
			}
			if seen[o.ItemID] {
				t.Errorf("item %q imported twice", o.ItemID)
			}
			seen[o.ItemID] = true
		}
		for i, n := range pages {
			if n == 0 {
				t.Errorf("page %d is empty", i)
			}
		}
	})

	t.Run("Stable", func(t *testing.T) {
		again, _, err := importAll(t.Context(), c, plugins.ImportRequest{AccountID: acct.ID})
		if err != nil {
			t.Fatalf("second import: %v", err)
		}
		if diff := cmp.Diff(full, again, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("two imports of unchanged data differ (-first +second):\n%s", diff)
		}
	})

	t.Run("PageSize", func(t *testing.T) {
		small, pages, err := importAll(t.Context(), c, plugins.ImportRequest{AccountID: acct.ID, PageSize: 2})
		if err != nil {
			t.Fatalf("import with page size 2: %v", err)
		}
		for i, n := range pages {
			if n > 2 {
				t.Errorf("page %d holds %d observations, more than the page size 2", i, n)
			}
		}
		if diff := cmp.Diff(full, small, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("import with page size 2 differs from the full import (-full +paged):\n%s", diff)
		}
	})

	t.Run("StopsOnCancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		pages := 0
		err := c.Import(ctx, plugins.ImportRequest{AccountID: acct.ID, PageSize: 1}, func([]plugins.Observation) error {
			pages++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("import cancelled in its first page: got %v, want context.Canceled", err)
		}
		if pages != 1 {
			t.Errorf("import went on after cancel: %d pages emitted, want 1", pages)
		}
	})

	t.Run("StopsOnEmitError", func(t *testing.T) {
		stop := errors.New("plugintest: consumer stops")
		pages := 0
		err := c.Import(t.Context(), plugins.ImportRequest{AccountID: acct.ID, PageSize: 1}, func([]plugins.Observation) error {
			pages++
			return stop
		})
		if !errors.Is(err, stop) {
			t.Errorf("emit failed on the first page: Import answered %v, want emit's error", err)
		}
		if pages != 1 {
			t.Errorf("import went on after emit failed: %d pages emitted, want 1", pages)
		}
	})
}

// conformancePlayedAt is the play date the suite writes.
var conformancePlayedAt = time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)

const (
	conformanceProgress = 2 * time.Minute
	missingItemID       = "keepwatch-conformance-missing-item"
)

func (r *runner) testApply(t *testing.T) {
	c := r.configured(t)
	acct := r.firstAccount(t, c)
	canImport := r.desc.Has(plugins.CapabilityImport)

	var writes []plugins.Write
	if canImport {
		full, _, err := importAll(t.Context(), c, plugins.ImportRequest{AccountID: acct.ID})
		if err != nil {
			t.Fatalf("import to pick items to write: %v", err)
		}
		if len(full) < 3 {
			t.Fatalf("import gave %d observations; Apply's test needs 3", len(full))
		}
		writes = []plugins.Write{
			{AccountID: acct.ID, ItemID: full[0].ItemID, Kind: plugins.WriteWatched, PlayedAt: conformancePlayedAt, Duration: full[0].Duration},
			{AccountID: acct.ID, ItemID: full[1].ItemID, Kind: plugins.WriteUnwatched, Duration: full[1].Duration},
			{AccountID: acct.ID, ItemID: full[2].ItemID, Kind: plugins.WriteProgress, Progress: conformanceProgress, Duration: full[2].Duration},
		}
	} else {
		if len(r.s.Writes) == 0 {
			t.Fatal("the backend exports but cannot import: set Suite.Writes to writes valid on the fake server")
		}
		writes = r.s.Writes
	}

	apply := func(t *testing.T, ws []plugins.Write) []plugins.WriteOutcome {
		t.Helper()
		out, err := c.Apply(t.Context(), ws)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if len(out) != len(ws) {
			t.Fatalf("Apply answered %d outcomes for %d writes", len(out), len(ws))
		}
		return out
	}
	wantOK := func(t *testing.T, round string, out []plugins.WriteOutcome) {
		t.Helper()
		for i, o := range out {
			if o.Status != plugins.OutcomeOK {
				t.Errorf("%s: write %d (%s of %q): outcome %+v, want ok", round, i, writes[i].Kind, writes[i].ItemID, o)
			}
		}
	}

	t.Run("Idempotent", func(t *testing.T) {
		wantOK(t, "first apply", apply(t, writes))
		wantOK(t, "same writes again", apply(t, writes))
		if !canImport {
			return
		}
		first := r.snapshot(t, c, acct.ID, writes)
		r.checkWritten(t, writes, first)
		wantOK(t, "third apply", apply(t, writes))
		second := r.snapshot(t, c, acct.ID, writes)
		if diff := cmp.Diff(first, second); diff != "" {
			t.Errorf("applying the same writes again changed the state (-before +after):\n%s", diff)
		}
	})

	t.Run("PerItemOutcome", func(t *testing.T) {
		batch := []plugins.Write{writes[0], {AccountID: acct.ID, ItemID: missingItemID, Kind: plugins.WriteWatched, PlayedAt: conformancePlayedAt}}
		out := apply(t, batch)
		if out[0].Status != plugins.OutcomeOK {
			t.Errorf("a valid write batched with a bad one: outcome %+v, want ok", out[0])
		}
		if out[1].Status != plugins.OutcomeFailed || !out[1].Permanent || out[1].Message == "" {
			t.Errorf("a write to a missing item: outcome %+v, want failed, permanent, with a message", out[1])
		}
	})

	t.Run("EmptyBatch", func(t *testing.T) {
		out, err := c.Apply(t.Context(), nil)
		if err != nil || len(out) != 0 {
			t.Errorf("Apply of no writes: %d outcomes, error %v; want none and nil", len(out), err)
		}
	})
}

// written is the part of an item's state the suite's writes set.
type written struct {
	Watched  bool
	Progress time.Duration // rounded to the second
}

func (r *runner) snapshot(t *testing.T, c plugins.Client, accountID string, writes []plugins.Write) map[string]written {
	t.Helper()
	want := map[string]bool{}
	for _, w := range writes {
		want[w.ItemID] = true
	}
	obs, _, err := importAll(t.Context(), c, plugins.ImportRequest{AccountID: accountID})
	if err != nil {
		t.Fatalf("import after Apply: %v", err)
	}
	snap := map[string]written{}
	for _, o := range obs {
		if want[o.ItemID] {
			snap[o.ItemID] = written{Watched: o.State.Watched, Progress: o.State.Progress.Round(time.Second)}
		}
	}
	return snap
}

func (r *runner) checkWritten(t *testing.T, writes []plugins.Write, snap map[string]written) {
	t.Helper()
	for _, w := range writes {
		got, ok := snap[w.ItemID]
		if !ok {
			t.Errorf("item %q vanished from the import after a %s write", w.ItemID, w.Kind)
			continue
		}
		switch w.Kind {
		case plugins.WriteWatched:
			if !got.Watched {
				t.Errorf("item %q: marked watched, but the import says unwatched", w.ItemID)
			}
		case plugins.WriteUnwatched:
			if got.Watched {
				t.Errorf("item %q: marked unwatched, but the import says watched", w.ItemID)
			}
		case plugins.WriteProgress:
			if d := got.Progress - w.Progress; d < -time.Second || d > time.Second {
				t.Errorf("item %q: progress set to %s, but the import says %s", w.ItemID, w.Progress, got.Progress)
			}
		}
	}
}

func (r *runner) testResolve(t *testing.T) {
	c := r.configured(t)
	acct := r.firstAccount(t, c)
	var queries []plugins.ResolveQuery
	var want []string
	if r.desc.Has(plugins.CapabilityImport) {
		full, _, err := importAll(t.Context(), c, plugins.ImportRequest{AccountID: acct.ID})
		if err != nil {
			t.Fatalf("import to pick items to resolve: %v", err)
		}
		for _, o := range full {
			if len(o.GUIDs) == 0 || len(queries) == 5 {
				continue
			}
			queries = append(queries, plugins.ResolveQuery{
				Kind: o.Kind, GUIDs: o.GUIDs, ShowGUIDs: o.ShowGUIDs, Season: o.Season, Episode: o.Episode, Title: o.Title, Year: o.Year,
			})
			want = append(want, o.ItemID)
		}
	}
	queries = append(queries, plugins.ResolveQuery{Kind: plugins.KindMovie, GUIDs: []string{"imdb:tt99999999999"}, Title: "No Such Film"})
	want = append(want, "")

	got, err := c.Resolve(t.Context(), plugins.ResolveRequest{AccountID: acct.ID, Queries: queries})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if len(got) != len(queries) {
		t.Fatalf("Resolve answered %d resolutions for %d queries", len(got), len(queries))
	}
	for i, q := range queries {
		if got[i].ItemID != want[i] {
			t.Errorf("Resolve %v (%q): item %q, want %q", q.GUIDs, q.Title, got[i].ItemID, want[i])
		}
	}
}

// garbage is the suite's own list of malformed deliveries.
func garbage() map[string]plugins.WebhookRequest {
	rng := rand.New(rand.NewPCG(1, 2))
	binary := make([]byte, 512)
	for i := range binary {
		binary[i] = byte(rng.UintN(256))
	}
	post := func(contentType string, body []byte) plugins.WebhookRequest {
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		return plugins.WebhookRequest{Method: http.MethodPost, Headers: h, Body: body, ReceivedAt: time.Now().UTC()}
	}
	return map[string]plugins.WebhookRequest{
		"empty body":            post("", nil),
		"empty json body":       post("application/json", nil),
		"not json":              post("application/json", []byte("hello, keepwatch")),
		"truncated json":        post("application/json", []byte(`{"event": "media.play", "Metadata": {"title": "Al`)),
		"json array":            post("application/json", []byte(`[1, 2, 3]`)),
		"json string":           post("application/json", []byte(`"watched"`)),
		"deeply nested json":    post("application/json", []byte(strings.Repeat("[", 100_000))),
		"binary":                post("application/octet-stream", binary),
		"binary as json":        post("application/json", binary),
		"multipart no parts":    post("multipart/form-data; boundary=kwb", []byte("--kwb--\r\n")),
		"multipart garbage":     post("multipart/form-data; boundary=kwb", []byte("this is not multipart")),
		"multipart no boundary": post("multipart/form-data", []byte("--x\r\n\r\n--x--")),
		"form garbage":          post("application/x-www-form-urlencoded", []byte("%%%=%%%&payload=%zz")),
	}
}

func (r *runner) testWebhook(t *testing.T) {
	c := r.configured(t)
	t.Run("RejectsGarbage", func(t *testing.T) {
		all := garbage()
		for name, req := range r.s.Garbage {
			all[name] = req
		}
		for name, req := range all {
			t.Run(name, func(t *testing.T) {
				res, err := c.ParseWebhook(t.Context(), req)
				if err == nil {
					t.Fatalf("garbage accepted: %+v", res)
				}
				var re *plugins.RejectedError
				if !errors.As(err, &re) {
					t.Fatalf("garbage answered %q; want a rejection made with plugins.Reject (a panic shows up here too)", err)
				}
				if strings.TrimSpace(re.Reason) == "" {
					t.Errorf("rejection without a reason: %q", err)
				}
			})
		}
	})
	t.Run("ParsesSamples", func(t *testing.T) {
		for name, req := range r.s.Webhooks {
			t.Run(name, func(t *testing.T) {
				res, err := c.ParseWebhook(t.Context(), req)
				if err != nil {
					t.Fatalf("ParseWebhook: %v", err)
				}
				if err := plugins.CheckWebhookResult(res); err != nil {
					t.Error(err)
				}
			})
		}
	})
}

func (r *runner) testUnsupported(t *testing.T) {
	c := r.configured(t)
	calls := map[plugins.Capability]func() error{
		plugins.CapabilityWebhook: func() error {
			_, err := c.ParseWebhook(t.Context(), plugins.WebhookRequest{Method: http.MethodPost, Body: []byte("{}")})
			return err
		},
		plugins.CapabilityImport: func() error {
			return c.Import(t.Context(), plugins.ImportRequest{}, func([]plugins.Observation) error { return nil })
		},
		plugins.CapabilityExport: func() error {
			_, err := c.Apply(t.Context(), []plugins.Write{{ItemID: missingItemID, Kind: plugins.WriteWatched}})
			return err
		},
		plugins.CapabilityResolve: func() error {
			_, err := c.Resolve(t.Context(), plugins.ResolveRequest{Queries: []plugins.ResolveQuery{{GUIDs: []string{"imdb:tt0000001"}}}})
			return err
		},
	}
	for capability, call := range calls {
		if r.desc.Has(capability) {
			continue
		}
		if err := call(); !errors.Is(err, plugins.ErrUnsupported) {
			t.Errorf("%s is not in Describe's capabilities, but calling it answered %v, not ErrUnsupported", capability, err)
		}
	}
}
