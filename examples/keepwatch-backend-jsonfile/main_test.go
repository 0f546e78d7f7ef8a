package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/examples/keepwatch-backend-jsonfile/jsonfile"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/host"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

// pluginsDir holds the example plugin, built once by TestMain exactly as a
// user would install it.
var pluginsDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keepwatch-plugins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginsDir = dir
	if err := buildPlugin(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildPlugin(dir string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, host.ExecutablePrefix+jsonfile.Type)
	cmd := exec.Command(goTool, "build", "-o", out, "github.com/keepwatch/keepwatch/examples/keepwatch-backend-jsonfile")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the example plugin: %v\n%s", err, b)
	}
	return nil
}

const waitTimeout = 60 * time.Second

func newHost(tb testing.TB, logger zerolog.Logger) *host.Host {
	tb.Helper()
	h, err := host.New(host.Options{PluginsDir: pluginsDir, Logger: logger, MinBackoff: 20 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = h.Close() })
	return h
}

func startPlugin(tb testing.TB, h *host.Host, cfg plugins.Config) *host.Instance {
	tb.Helper()
	in, err := h.Add(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := in.WaitReady(ctx); err != nil {
		tb.Fatal(err)
	}
	return in
}

func freshLibrary(t *testing.T) plugins.Config {
	b, err := os.ReadFile(filepath.Join("jsonfile", "testdata", "library.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "library.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return plugins.Config{Name: "demo", Type: jsonfile.Type, URL: "file://" + path}
}

// TestConformanceAsExternalPlugin runs the conformance suite against the
// built executable, discovered in the plugins directory and run by the host.
func TestConformanceAsExternalPlugin(t *testing.T) {
	found, err := host.Discover(pluginsDir)
	if err != nil || len(found) != 1 || found[0].Type != jsonfile.Type {
		t.Fatalf("Discover(%s) = %+v, %v; want the jsonfile plugin", pluginsDir, found, err)
	}
	plugintest.Run(t, plugintest.Suite{
		Config: freshLibrary,
		Connect: func(t *testing.T) plugins.Client {
			in := startPlugin(t, newHost(t, plugintest.TestLogger(t)), freshLibrary(t))
			if s := in.Status(); s.Source != host.SourceExternal {
				t.Fatalf("status %+v: want an external plugin", s)
			}
			return in
		},
		BadConfigs: map[string]plugins.Config{
			"http url": {Type: jsonfile.Type, URL: "http://example.invalid/library.json"},
		},
		Webhooks: map[string]plugins.WebhookRequest{
			"scrobble": {Method: "POST", Body: []byte(`{"event":"scrobble","account_id":"2","item_id":"m1","at":"2024-08-01T20:00:00Z"}`)},
			"test":     {Method: "POST", Body: []byte(`{"event":"test"}`)},
		},
	})
}

// writeLibrary generates a library of n items (a third of them episodes)
// with plays for one account, and answers its path.
func writeLibrary(tb testing.TB, dir string, n int) string {
	tb.Helper()
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	items := make([]jsonfile.Item, n)
	for i := range items {
		it := jsonfile.Item{
			ID: fmt.Sprintf("i%06d", i), Title: fmt.Sprintf("Title %d", i), Year: 1950 + i%75,
			GUIDs: []string{fmt.Sprintf("imdb:tt%08d", i), fmt.Sprintf("tmdb:%d", 100000+i)}, Duration: time.Duration(20+i%120) * time.Minute,
			Plays: map[string]jsonfile.Play{},
		}
		if i%3 == 2 {
			it.GUIDs = []string{fmt.Sprintf("tvdb:%d", 5000000+i)}
			it.ShowID, it.ShowTitle = fmt.Sprintf("s%d", i/50), fmt.Sprintf("Show %d", i/50)
			it.ShowGUIDs = []string{fmt.Sprintf("tvdb:%d", 70000+i/50)}
			it.Season, it.Episode = 1+i%50/10, 1+i%10
		}
		switch i % 4 {
		case 0:
			it.Plays["1"] = jsonfile.Play{Watched: true, PlayedAt: base.Add(time.Duration(i) * time.Minute), PlayCount: 1}
		case 1:
			it.Plays["1"] = jsonfile.Play{Position: time.Duration(i%3000) * time.Second}
		}
		items[i] = it
	}
	path := filepath.Join(dir, "library.json")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := jsonfile.Write(f, "generated", []jsonfile.Account{{ID: "1", Name: "alice"}}, items); err != nil {
		tb.Fatal(err)
	}
	return path
}

// sink stands for the engine: it commits each page as it arrives, keyed by
// item, and counts how often each item arrived in the current attempt.
type sink struct {
	committed map[string]plugins.Observation
	seen      map[string]int
}

func (s *sink) attempt() { s.seen = map[string]int{} }

func (s *sink) commit(page []plugins.Observation) error {
	for _, o := range page {
		s.committed[o.ItemID] = o
		s.seen[o.ItemID]++
	}
	return nil
}

// TestKillMidImportThenRetry is the supervisor's promise end to end: the
// plugin process is SIGKILLed while an import streams, the import fails with
// ErrUnavailable after the pages it delivered, the supervisor restarts the
// plugin, and the retried import delivers every item exactly once.
func TestKillMidImportThenRetry(t *testing.T) {
	const items = 20_000
	path := writeLibrary(t, t.TempDir(), items)
	cfg := plugins.Config{Name: "big", Type: jsonfile.Type, URL: "file://" + path, Options: map[string]string{"page_size": "100"}}

	// What the library holds, read in process.
	want := map[string]plugins.Observation{}
	local := plugins.Adapt(jsonfile.New(plugins.Env{Logger: zerolog.Nop()}))
	if err := local.Configure(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if err := local.Import(t.Context(), plugins.ImportRequest{AccountID: "1"}, func(p []plugins.Observation) error {
		for _, o := range p {
			want[o.ItemID] = o
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) != items {
		t.Fatalf("in-process import gave %d items, want %d", len(want), items)
	}

	h := newHost(t, plugintest.TestLogger(t))
	in := startPlugin(t, h, cfg)
	firstPID := in.Status().PID
	s := &sink{committed: map[string]plugins.Observation{}}

	s.attempt()
	killed := false
	err := in.Import(t.Context(), plugins.ImportRequest{AccountID: "1"}, func(p []plugins.Observation) error {
		if !killed {
			killed = true
			if err := syscall.Kill(firstPID, syscall.SIGKILL); err != nil {
				return err
			}
			// Hold the stream until the supervisor has noticed, so the
			// plugin is certainly dead while most of the import is unsent.
			deadline := time.Now().Add(waitTimeout)
			for in.Status().State == host.StateReady && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
		}
		return s.commit(p)
	})
	if !errors.Is(err, plugins.ErrUnavailable) {
		t.Fatalf("import during the kill: got %v, want ErrUnavailable", err)
	}
	delivered := len(s.seen)
	if delivered == 0 || delivered >= items {
		t.Fatalf("first attempt delivered %d of %d items; the kill should land mid-import", delivered, items)
	}
	for id, n := range s.seen {
		if n != 1 {
			t.Errorf("first attempt delivered %s %d times", id, n)
		}
	}
	t.Logf("first attempt: %d of %d items before the kill", delivered, items)

	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := in.WaitReady(ctx); err != nil {
		t.Fatalf("supervisor did not bring the plugin back: %v", err)
	}
	st := in.Status()
	if st.PID == firstPID || st.Restarts != 1 {
		t.Fatalf("after the kill: pid %d (was %d), restarts %d; want a new process and one restart", st.PID, firstPID, st.Restarts)
	}

	s.attempt()
	if err := in.Import(t.Context(), plugins.ImportRequest{AccountID: "1"}, func(p []plugins.Observation) error {
		return s.commit(p)
	}); err != nil {
		t.Fatalf("retried import: %v", err)
	}
	if len(s.seen) != items {
		t.Errorf("retried import delivered %d distinct items, want %d", len(s.seen), items)
	}
	for id, n := range s.seen {
		if n != 1 {
			t.Errorf("retried import delivered %s %d times", id, n)
		}
	}
	if diff := cmp.Diff(want, s.committed); diff != "" {
		t.Errorf("committed state differs from the library (-library +committed):\n%s", diff)
	}
}

// BenchmarkImportThroughPlugin imports the same 100 000-item library in
// process (the backend called directly: the floor) and through the built
// plugin process (host, gRPC stream, page size 1000), alternating, and
// reports the ratio of their times.
func BenchmarkImportThroughPlugin(b *testing.B) {
	const items = 100_000
	path := writeLibrary(b, b.TempDir(), items)
	cfg := plugins.Config{Name: "bench", Type: jsonfile.Type, URL: "file://" + path, Options: map[string]string{"page_size": "1000"}}

	local := plugins.Adapt(jsonfile.New(plugins.Env{Logger: zerolog.Nop()}))
	if err := local.Configure(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	remote := startPlugin(b, newHost(b, zerolog.Nop()), cfg)

	run := func(c plugins.Client) time.Duration {
		n := 0
		start := time.Now()
		err := c.Import(context.Background(), plugins.ImportRequest{AccountID: "1"}, func(p []plugins.Observation) error {
			n += len(p)
			return nil
		})
		d := time.Since(start)
		if err != nil || n != items {
			b.Fatalf("import: %d observations, %v", n, err)
		}
		return d
	}
	run(local) // warm the page cache and both processes
	run(remote)

	var inProcess, plugin time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		inProcess += run(local)
		plugin += run(remote)
	}
	b.StopTimer()
	n := float64(b.N)
	// Fractional milliseconds: Duration.Milliseconds truncates.
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(float64(plugin)/float64(inProcess), "plugin/inprocess")
	b.ReportMetric(ms(inProcess)/n, "inprocess-ms/import")
	b.ReportMetric(ms(plugin)/n, "plugin-ms/import")
	b.ReportMetric(float64(plugin-inProcess)/n/items, "wire-ns/obs")
}
