package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/host"
	"github.com/keepwatch/keepwatch/plugins/internal/memback"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

// waitTimeout is a safety net for tests that wait for the supervisor; it is
// never what a test asserts.
const waitTimeout = 60 * time.Second

func memConfig(name string) plugins.Config {
	return plugins.Config{Name: name, Type: memback.Type, URL: "mem://" + name, Options: map[string]string{memback.OptItems: "7"}}
}

// transitions records every state an instance goes through.
type transitions struct {
	mu     sync.Mutex
	states map[string][]host.Status
	notify chan struct{}
}

func newTransitions() *transitions {
	return &transitions{states: map[string][]host.Status{}, notify: make(chan struct{}, 1)}
}

func (tr *transitions) record(s host.Status) {
	tr.mu.Lock()
	tr.states[s.Name] = append(tr.states[s.Name], s)
	tr.mu.Unlock()
	select {
	case tr.notify <- struct{}{}:
	default:
	}
}

func (tr *transitions) of(name string) []host.State {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []host.State
	for _, s := range tr.states[name] {
		out = append(out, s.State)
	}
	return out
}

// waitFor waits until cond holds over the recorded transitions.
func (tr *transitions) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for !cond() {
		select {
		case <-tr.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func newHost(t *testing.T, tune func(*host.Options)) (*host.Host, *transitions) {
	t.Helper()
	tr := newTransitions()
	opts := host.Options{
		Builtins:      builtinTypes(),
		Logger:        plugintest.TestLogger(t),
		MinBackoff:    20 * time.Millisecond,
		MaxBackoff:    200 * time.Millisecond,
		OnStateChange: tr.record,
	}
	if tune != nil {
		tune(&opts)
	}
	h, err := host.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h, tr
}

func addReady(t *testing.T, h *host.Host, cfg plugins.Config) *host.Instance {
	t.Helper()
	in, err := h.Add(cfg)
	if err != nil {
		t.Fatalf("Add %s: %v", cfg.Name, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := in.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady %s: %v", cfg.Name, err)
	}
	return in
}

func countImport(t *testing.T, c plugins.Client, account string) int {
	t.Helper()
	n := 0
	err := c.Import(t.Context(), plugins.ImportRequest{AccountID: account}, func(p []plugins.Observation) error {
		n += len(p)
		return nil
	})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return n
}

func TestBuiltinPluginReady(t *testing.T) {
	h, _ := newHost(t, nil)
	in := addReady(t, h, memConfig("mem-a"))
	s := in.Status()
	if s.State != host.StateReady || s.Source != host.SourceBuiltin || s.PID <= 0 || s.Protocol != 1 {
		t.Errorf("status %+v: want ready, builtin, a pid, protocol 1", s)
	}
	if s.Version != memback.Version {
		t.Errorf("version %q, want %q", s.Version, memback.Version)
	}
	want := []plugins.Capability{plugins.CapabilityWebhook, plugins.CapabilityImport, plugins.CapabilityExport, plugins.CapabilityResolve}
	if diff := cmp.Diff(want, s.Capabilities); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
	if got := countImport(t, in, "a1"); got != 7 {
		t.Errorf("imported %d observations, want the 7 configured", got)
	}
	if err := h.Ready(); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

func TestConformanceThroughHost(t *testing.T) {
	plugintest.Run(t, plugintest.Suite{
		Config: func(t *testing.T) plugins.Config { return memConfig("mem-conf") },
		Connect: func(t *testing.T) plugins.Client {
			h, _ := newHost(t, nil)
			return addReady(t, h, memConfig("mem-conf"))
		},
		BadConfigs: map[string]plugins.Config{
			"items not a number": {Name: "mem-conf", Type: memback.Type, URL: "mem://x", Options: map[string]string{memback.OptItems: "many"}},
		},
		Webhooks: map[string]plugins.WebhookRequest{
			"watched": {Method: "POST", Body: []byte(`{"event":"watched","server_id":"mem-x","account_id":"a1","item_id":"i1"}`), ReceivedAt: time.Now()},
			"test":    {Method: "POST", Body: []byte(`{"event":"test"}`)},
		},
	})
}

func TestDeadlineCrossesTheWire(t *testing.T) {
	h, _ := newHost(t, nil)
	in := addReady(t, h, memConfig("mem-dl"))
	deadline := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	health, err := in.CheckHealth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The plugin sees the deadline give or take gRPC's rounding to its
	// timeout units; compare at the minute.
	got, err := time.Parse(time.RFC3339, strings.TrimPrefix(health.Detail, "deadline "))
	if err != nil {
		t.Fatalf("plugin saw no deadline: detail %q", health.Detail)
	}
	if got.Truncate(time.Minute) != deadline.Truncate(time.Minute) {
		t.Errorf("plugin saw deadline %s, caller set %s", got, deadline)
	}
}

func TestRestartAfterSIGKILL(t *testing.T) {
	h, tr := newHost(t, nil)
	in := addReady(t, h, memConfig("mem-kill"))
	before := in.Status()
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	tr.waitFor(t, "a restart to ready", func() bool {
		s := in.Status()
		return s.State == host.StateReady && s.PID != before.PID
	})
	after := in.Status()
	if after.Restarts != 1 {
		t.Errorf("restarts %d, want 1", after.Restarts)
	}
	states := tr.of("mem-kill")
	if len(states) < 3 {
		t.Fatalf("transitions %v: want ready, restarting, ..., ready", states)
	}
	if states[0] != host.StateReady || states[1] != host.StateRestarting || states[len(states)-1] != host.StateReady {
		t.Errorf("transitions %v: want ready, restarting, ..., ready", states)
	}
	// The restarted plugin got the same configuration back.
	if got := countImport(t, in, "a1"); got != 7 {
		t.Errorf("after restart: imported %d observations, want the 7 configured", got)
	}
	if err := syscall.Kill(before.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("old process %d still exists: %v", before.PID, err)
	}
}

func TestCallInFlightWhenPluginDies(t *testing.T) {
	h, tr := newHost(t, nil)
	cfg := memConfig("crash")
	cfg.Type = "crashy"
	cfg.Options[memback.OptPageSize] = "2"
	in := addReady(t, h, cfg)
	pid := in.Status().PID
	pages := 0
	err := in.Import(t.Context(), plugins.ImportRequest{AccountID: "a1"}, func([]plugins.Observation) error {
		pages++
		return nil
	})
	if !errors.Is(err, plugins.ErrUnavailable) {
		t.Fatalf("import while the plugin died: got %v, want ErrUnavailable", err)
	}
	if pages > 1 {
		t.Errorf("%d pages arrived; the plugin died after the first", pages)
	}
	tr.waitFor(t, "a restart", func() bool {
		s := in.Status()
		return s.State == host.StateReady && s.PID != pid
	})
	// Calls work again once ready.
	if _, err := in.ListAccounts(t.Context()); err != nil {
		t.Errorf("after restart: %v", err)
	}
}

func TestHungPluginIsRestarted(t *testing.T) {
	h, tr := newHost(t, func(o *host.Options) {
		o.PingInterval = 50 * time.Millisecond
		o.PingTimeout = 200 * time.Millisecond
	})
	in := addReady(t, h, memConfig("mem-hung"))
	pid := in.Status().PID
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	tr.waitFor(t, "the hung plugin to be replaced", func() bool {
		s := in.Status()
		return s.State == host.StateReady && s.PID != pid
	})
	if s := in.Status(); s.Restarts != 1 {
		t.Errorf("restarts %d, want 1", s.Restarts)
	}
	var sawPing bool
	tr.mu.Lock()
	for _, s := range tr.states["mem-hung"] {
		if s.State == host.StateRestarting && strings.Contains(s.LastError, "ping") {
			sawPing = true
		}
	}
	tr.mu.Unlock()
	if !sawPing {
		t.Errorf("no restart blamed a failed ping: %+v", tr.states["mem-hung"])
	}
}

func TestCallWhileRestartingIsUnavailable(t *testing.T) {
	h, tr := newHost(t, func(o *host.Options) {
		// A long backoff holds the instance in restarting while we call.
		o.MinBackoff = time.Hour
		o.MaxBackoff = time.Hour
	})
	in := addReady(t, h, memConfig("mem-down"))
	if err := syscall.Kill(in.Status().PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	tr.waitFor(t, "restarting", func() bool { return in.Status().State == host.StateRestarting })
	_, err := in.ListAccounts(t.Context())
	if !errors.Is(err, plugins.ErrUnavailable) {
		t.Fatalf("call while restarting: got %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "mem-down") || !strings.Contains(err.Error(), "restarting") {
		t.Errorf("error %q should name the backend and its state", err)
	}
	if err := h.Ready(); err == nil || !strings.Contains(err.Error(), `backend "mem-down" is restarting`) {
		t.Errorf("Ready: %v, want it to name the restarting backend", err)
	}
	// Describe still answers from the last start.
	if d, err := in.Describe(t.Context()); err != nil || d.Type != memback.Type {
		t.Errorf("Describe while restarting: %+v, %v", d, err)
	}
}

func TestRefusedConfigFails(t *testing.T) {
	h, _ := newHost(t, nil)
	cfg := memConfig("mem-bad")
	cfg.Options[memback.OptItems] = "lots"
	in, err := h.Add(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	err = in.WaitReady(ctx)
	var ce *plugins.ConfigError
	if !errors.As(err, &ce) || ce.Field != "options.items" || ce.Value != "lots" {
		t.Fatalf("WaitReady: %v; want the plugin's config error on options.items", err)
	}
	if s := in.Status(); s.State != host.StateFailed || !strings.Contains(s.LastError, "options.items") {
		t.Errorf("status %+v: want failed, naming the field", s)
	}
}

func TestReconfigureIsReplayedAfterRestart(t *testing.T) {
	h, tr := newHost(t, nil)
	in := addReady(t, h, memConfig("mem-re"))
	cfg := memConfig("mem-re")
	cfg.Options[memback.OptItems] = "3"
	if err := in.Configure(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	bad := memConfig("mem-re")
	bad.URL = "ftp://x"
	if err := in.Configure(t.Context(), bad); !errors.Is(err, plugins.ErrInvalidConfig) {
		t.Fatalf("bad reconfigure: %v", err)
	}
	pid := in.Status().PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	tr.waitFor(t, "restart", func() bool { s := in.Status(); return s.State == host.StateReady && s.PID != pid })
	if got := countImport(t, in, "a1"); got != 3 {
		t.Errorf("after restart: %d observations, want 3 from the last accepted configuration", got)
	}
}

func TestUnknownTypeNamesTheFix(t *testing.T) {
	dir := t.TempDir()
	h, _ := newHost(t, func(o *host.Options) { o.PluginsDir = dir })
	_, err := h.Add(plugins.Config{Name: "x", Type: "plx"})
	if err == nil {
		t.Fatal("Add accepted an unknown type")
	}
	for _, want := range []string{`"plx"`, "keepwatch-backend-plx", dir, "memory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := h.Add(plugins.Config{Name: "y", Type: "Bad Type"}); err == nil || !strings.Contains(err.Error(), "not a valid type") {
		t.Errorf("invalid type name: %v", err)
	}
}

// writeExternal installs the test binary as an external plugin of typ by a
// wrapper script (the test binary needs its serve arguments).
func writeExternal(t *testing.T, dir, typ, serves string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return writeScript(t, dir, typ, "exec '"+exe+"' plugin serve "+serves)
}

// writeScript installs a shell script as the external plugin of typ.
func writeScript(t *testing.T, dir, typ, body string) string {
	t.Helper()
	path := filepath.Join(dir, host.ExecutablePrefix+typ)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExternalPlugin(t *testing.T) {
	dir := t.TempDir()
	path := writeExternal(t, dir, "memory", "memory")
	// Files that are not plugins are ignored.
	if err := os.WriteFile(filepath.Join(dir, host.ExecutablePrefix+"noexec"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	found, err := host.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]host.Candidate{{Type: "memory", Path: path}}, found); diff != "" {
		t.Errorf("Discover (-want +got):\n%s", diff)
	}

	h, _ := newHost(t, func(o *host.Options) { o.Builtins = nil; o.PluginsDir = dir })
	in := addReady(t, h, memConfig("ext"))
	if s := in.Status(); s.Source != host.SourceExternal || s.Path != path {
		t.Errorf("status %+v: want external from %s", s, path)
	}
	if got := countImport(t, in, "a2"); got != 7 {
		t.Errorf("imported %d, want 7", got)
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	writeExternal(t, dir, "memory", "memory")
	writeExternal(t, dir, "chatty", "chatty")
	writeExternal(t, dir, "liar", "memory") // describes itself as "memory"
	got, err := host.List(t.Context(), host.ListOptions{
		Builtins:   map[string]plugins.Factory{memback.Type: memback.New},
		PluginsDir: dir,
		Logger:     plugintest.TestLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	all := []plugins.Capability{plugins.CapabilityWebhook, plugins.CapabilityImport, plugins.CapabilityExport, plugins.CapabilityResolve}
	want := []host.PluginInfo{
		{Type: "chatty", Source: host.SourceExternal, Path: filepath.Join(dir, "keepwatch-backend-chatty"), Version: memback.Version,
			DisplayName: "In-memory test backend", Capabilities: all, Protocol: 1},
		{Type: "liar", Source: host.SourceExternal, Path: filepath.Join(dir, "keepwatch-backend-liar"),
			Error: `named for type "liar" but describes itself as "memory"`},
		{Type: "memory", Source: host.SourceBuiltin, Version: memback.Version, DisplayName: "In-memory test backend", Capabilities: all, Protocol: 1},
		{Type: "memory", Source: host.SourceExternal, Path: filepath.Join(dir, "keepwatch-backend-memory"), Version: memback.Version,
			DisplayName: "In-memory test backend", Capabilities: all, Protocol: 1, Shadowed: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

// syncBuffer collects the host's JSON log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(b.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestPluginLogsKeepLevelAndName runs the chatty plugin, which logs one
// line at each level, under hosts logging at info, debug and trace: each
// line the host's level lets through arrives at its own level, tagged with
// the backend's name and type and keeping its fields; the others do not
// arrive at all.
func TestPluginLogsKeepLevelAndName(t *testing.T) {
	tag := map[string]any{"backend": "talker", "backend_type": "chatty", "component": "chatty"}
	lines := map[string]map[string]any{
		"trace line": {"level": "trace"},
		"debug line": {"level": "debug"},
		"info line":  {"level": "info", "n": float64(7)},
		"warn line":  {"level": "warn", "key": "value"},
		"error line": {"level": "error", "error": "boom"},
	}
	tests := []struct {
		level  zerolog.Level
		absent []string
	}{
		{zerolog.InfoLevel, []string{"trace line", "debug line"}},
		{zerolog.DebugLevel, []string{"trace line"}},
		{zerolog.TraceLevel, nil},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			if tt.level < zerolog.GlobalLevel() {
				// zerolog's global level (debug unless set) also gates
				// the host's logger, as it does in keepwatch.
				prev := zerolog.GlobalLevel()
				zerolog.SetGlobalLevel(tt.level)
				t.Cleanup(func() { zerolog.SetGlobalLevel(prev) })
			}
			var buf syncBuffer
			h, _ := newHost(t, func(o *host.Options) { o.Logger = zerolog.New(&buf).Level(tt.level) })
			cfg := memConfig("talker")
			cfg.Type = "chatty"
			addReady(t, h, cfg)

			find := func(msg string) map[string]any {
				for _, l := range buf.lines() {
					if l["message"] == msg {
						return l
					}
				}
				return nil
			}
			// The lines are written in order, so once the last is here
			// all those that will come have.
			deadline := time.After(waitTimeout)
			for find("error line") == nil {
				select {
				case <-deadline:
					t.Fatalf("the plugin's log lines never arrived; got %v", buf.lines())
				case <-time.After(20 * time.Millisecond):
				}
			}
			for msg, fields := range lines {
				line := find(msg)
				if slices.Contains(tt.absent, msg) {
					if line != nil {
						t.Errorf("%q logged though the host logs at %s: %v", msg, tt.level, line)
					}
					continue
				}
				if line == nil {
					t.Errorf("line %q missing", msg)
					continue
				}
				for _, want := range []map[string]any{fields, tag} {
					for k, v := range want {
						if line[k] != v {
							t.Errorf("line %q: %s = %v, want %v (line %v)", msg, k, line[k], v, line)
						}
					}
				}
			}
		})
	}
}

func TestCloseStopsPlugins(t *testing.T) {
	h, _ := newHost(t, nil)
	a := addReady(t, h, memConfig("mem-1"))
	b := addReady(t, h, memConfig("mem-2"))
	pids := []int{a.Status().PID, b.Status().PID}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	for _, in := range []*host.Instance{a, b} {
		if s := in.Status(); s.State != host.StateStopped {
			t.Errorf("%s: state %s after Close, want stopped", s.Name, s.State)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after Close: %v", pid, err)
		}
	}
	if _, err := h.Add(memConfig("late")); !errors.Is(err, host.ErrClosed) {
		t.Errorf("Add after Close: %v, want ErrClosed", err)
	}
	if _, err := a.ListAccounts(t.Context()); !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("call after Close: %v, want ErrUnavailable", err)
	}
}

func TestWriteList(t *testing.T) {
	infos := []host.PluginInfo{
		{Type: "jsonfile", Source: host.SourceExternal, Path: "/p/keepwatch-backend-jsonfile", Version: "1.0.0",
			Capabilities: []plugins.Capability{plugins.CapabilityImport, plugins.CapabilityExport}, Protocol: 1},
		{Type: "plex", Source: host.SourceBuiltin, Version: "0.3.0", Capabilities: []plugins.Capability{plugins.CapabilityWebhook}, Protocol: 1},
		{Type: "plex", Source: host.SourceExternal, Path: "/p/keepwatch-backend-plex", Version: "9.0.0", Protocol: 1, Shadowed: true},
		{Type: "zz", Source: host.SourceExternal, Path: "/p/keepwatch-backend-zz", Error: "start: timeout"},
	}
	var table bytes.Buffer
	if err := host.WriteList(&table, infos, false); err != nil {
		t.Fatal(err)
	}
	want := `TYPE      SOURCE    VERSION  CAPABILITIES   PATH                           NOTE
jsonfile  external  1.0.0    import,export  /p/keepwatch-backend-jsonfile  
plex      builtin   0.3.0    webhook        -                              
plex      external  9.0.0    -              /p/keepwatch-backend-plex      not used: the built-in plex wins
zz        external  -        -              /p/keepwatch-backend-zz        error: start: timeout
`
	if diff := cmp.Diff(want, table.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}

	var js bytes.Buffer
	if err := host.WriteList(&js, infos[:2], true); err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	wantJSON := []map[string]any{
		{"type": "jsonfile", "source": "external", "path": "/p/keepwatch-backend-jsonfile", "version": "1.0.0",
			"capabilities": []any{"import", "export"}, "protocol": float64(1)},
		{"type": "plex", "source": "builtin", "version": "0.3.0", "capabilities": []any{"webhook"}, "protocol": float64(1)},
	}
	if diff := cmp.Diff(wantJSON, back); diff != "" {
		t.Errorf("json (-want +got):\n%s", diff)
	}
	var empty bytes.Buffer
	if err := host.WriteList(&empty, nil, true); err != nil || strings.TrimSpace(empty.String()) != "[]" {
		t.Errorf("empty list as JSON: %q, %v", empty.String(), err)
	}
}

func TestPluginExitingAtEveryStartKeepsRestarting(t *testing.T) {
	h, tr := newHost(t, nil)
	in, err := h.Add(plugins.Config{Name: "exits", Type: "exiter", URL: "mem://exits"})
	if err != nil {
		t.Fatal(err)
	}
	const restarts = 4
	tr.waitFor(t, "repeated restarts", func() bool {
		s := in.Status()
		return s.Restarts >= restarts || s.State == host.StateFailed || s.State == host.StateReady
	})
	// Stop the supervisor so that the record below is complete.
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	record := append([]host.Status(nil), tr.states["exits"]...)
	tr.mu.Unlock()
	if last := record[len(record)-1]; last.State != host.StateStopped {
		t.Errorf("last state %s, want stopped after Close", last.State)
	}
	record = record[:len(record)-1]
	for i, s := range record {
		if s.State != host.StateRestarting {
			t.Errorf("transition %d: %s, want restarting only: a plugin that never starts is neither ready nor failed (last error %q)", i, s.State, s.LastError)
			continue
		}
		if s.Restarts != i+1 {
			t.Errorf("transition %d: restarts %d, want %d: the count grows with every restart", i, s.Restarts, i+1)
		}
		if !strings.Contains(s.LastError, "start "+s.Path) || s.PID != 0 {
			t.Errorf("transition %d: status %+v: want the start error and no pid", i, s)
		}
	}
	if len(record) < restarts {
		t.Errorf("%d restarting transitions, want at least %d", len(record), restarts)
	}
}

// TestStartFailuresThatNeedAPerson starts executables that no restart can
// make work. Each must leave the instance failed, its error saying why, and
// not be restarted. The wording asserted here is go-plugin's: it is what
// the host's incompatible() recognises, so a go-plugin upgrade that changes
// it fails this test.
func TestStartFailuresThatNeedAPerson(t *testing.T) {
	tests := []struct {
		name  string
		write func(t *testing.T, dir string) string
		want  []string // in the last error
	}{
		{
			name: "a protocol version the host lacks",
			write: func(t *testing.T, dir string) string {
				return writeExternal(t, dir, memback.Type, "v2only")
			},
			want: []string{"not a compatible keepwatch plugin", "this keepwatch speaks plugin protocol 1", "Plugin version: 2"},
		},
		{
			// A plugin built against another go-plugin major protocol: its
			// handshake's first field (the core version) is not 1. Written
			// by hand; the script then waits to be killed, as a plugin would.
			name: "another go-plugin core protocol",
			write: func(t *testing.T, dir string) string {
				return writeScript(t, dir, memback.Type, "echo '2|1|unix|/nonexistent|grpc'\nexec sleep 600")
			},
			want: []string{"not a compatible keepwatch plugin", "core API version", "Plugin version: 2"},
		},
		{
			name: "not a plugin",
			write: func(t *testing.T, dir string) string {
				return writeScript(t, dir, memback.Type, "echo 'usage: frobnicate FILE'\nexec sleep 600")
			},
			want: []string{"not a compatible keepwatch plugin", "usage: frobnicate FILE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.write(t, dir)
			h, tr := newHost(t, func(o *host.Options) { o.Builtins = nil; o.PluginsDir = dir })
			in, err := h.Add(memConfig("incompatible"))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
			defer cancel()
			if err := in.WaitReady(ctx); err == nil || !strings.Contains(err.Error(), "plugin failed") {
				t.Fatalf("WaitReady: %v, want the plugin failed", err)
			}
			s := in.Status()
			if s.State != host.StateFailed || s.Restarts != 0 || s.PID != 0 {
				t.Errorf("status %+v: want failed, never restarted, no process", s)
			}
			for _, want := range append(tt.want, path) {
				if !strings.Contains(s.LastError, want) {
					t.Errorf("last error %q does not say %q", s.LastError, want)
				}
			}
			// After Close the supervisor is gone and the record complete.
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			if got := tr.of("incompatible"); !cmp.Equal(got, []host.State{host.StateFailed, host.StateStopped}) {
				t.Errorf("transitions %v, want failed, then stopped by Close", got)
			}
		})
	}
}

// TestNewerPluginSpeaksV1 runs a plugin that offers protocol versions 1
// and 2 under a host that offers only 1: they agree on 1.
func TestNewerPluginSpeaksV1(t *testing.T) {
	dir := t.TempDir()
	writeExternal(t, dir, memback.Type, "v1and2")
	h, _ := newHost(t, func(o *host.Options) { o.Builtins = nil; o.PluginsDir = dir })
	in := addReady(t, h, memConfig("v1and2"))
	if s := in.Status(); s.Protocol != 1 {
		t.Errorf("negotiated protocol %d, want 1", s.Protocol)
	}
	if got := countImport(t, in, "a1"); got != 7 {
		t.Errorf("imported %d observations, want 7", got)
	}
}
