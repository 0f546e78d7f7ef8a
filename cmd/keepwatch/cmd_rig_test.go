package main

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/api"
	"github.com/keepwatch/keepwatch/core/engine"
	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/pipeline"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/host"
	"github.com/keepwatch/keepwatch/tasks"
)

var updateCLIGolden = flag.Bool("update-cli", false, "rewrite cmd/keepwatch/testdata/cli/*.golden")

const rigKey = "cli-test-key"

// rigNow is the rig's clock.
var rigNow = time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)

// cliPlugin is a backend plugin that answers health and accounts; the
// management commands reach nothing else of it.
type cliPlugin struct {
	plugins.Client
	health   plugins.Health
	accounts []plugins.Account
}

func (p *cliPlugin) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{Type: "test", Version: "0.1.0"}, nil
}
func (p *cliPlugin) CheckHealth(context.Context) (plugins.Health, error) { return p.health, nil }
func (p *cliPlugin) ListAccounts(context.Context) ([]plugins.Account, error) {
	return p.accounts, nil
}

// scriptedTasks starts a run the way the scheduler does and moves it
// through a few progress saves to the outcome scripted for its task.
type scriptedTasks struct {
	st      *store.Store
	outcome map[string]store.Run // by task name: Status, Error, Guard
	wg      sync.WaitGroup
	mu      sync.Mutex
	got     map[string]tasks.Request
	busy    map[string]uint64 // tasks running already (refused as the scheduler does), with their run
}

func (s *scriptedTasks) List() []tasks.TaskInfo {
	var out []tasks.TaskInfo
	for name, id := range s.busy {
		out = append(out, tasks.TaskInfo{Name: name, Enabled: true, Running: true, RunID: id, LastRunID: id})
	}
	return out
}

func (s *scriptedTasks) Run(_ context.Context, name string, req tasks.Request) (uint64, <-chan *store.Run, error) {
	out, known := s.outcome[name]
	if !known {
		return 0, nil, fmt.Errorf("tasks: %q: %w", name, tasks.ErrUnknownTask)
	}
	if id, running := s.busy[name]; running {
		return 0, nil, fmt.Errorf("tasks: %s: %w (run %d)", name, tasks.ErrBusy, id)
	}
	s.mu.Lock()
	s.got[name] = req
	s.mu.Unlock()
	run := &store.Run{Kind: name, Backends: req.Backends, User: req.User, Full: req.Full, DryRun: req.DryRun,
		Status: store.RunRunning, StartedAt: rigNow}
	if err := s.st.CreateRun(run); err != nil {
		return 0, nil, err
	}
	done := make(chan *store.Run, 1)
	s.wg.Go(func() {
		for i := 1; i <= 3; i++ {
			run.Counts = map[string]int{"observed": 10 * i, "changed": i, "queued": i}
			_ = s.st.PutRun(run)
		}
		run.Status, run.Error, run.Guard, run.EndedAt = out.Status, out.Error, out.Guard, rigNow.Add(2*time.Second)
		_ = s.st.PutRun(run)
		done <- run
		close(done)
	})
	return run.ID, done, nil
}

// cliRig is a management API over a real store, engine and pipeline (with
// plugin stubs) and scripted tasks, served on loopback, and the environment
// that points the commands at it.
type cliRig struct {
	st    *store.Store
	srv   *httptest.Server
	tasks *scriptedTasks
	env   map[string]string
}

func newCLIRig(t *testing.T) *cliRig {
	t.Helper()
	displayZone = time.UTC
	pollEvery = time.Millisecond
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	seedCLIStore(t, st)

	dir := pipeline.NewDirectory([]pipeline.UserSpec{{Name: "alice", Accounts: map[string]string{"plex-home": "Alice", "jelly": "alice"}}}, true)
	backends := []*pipeline.Backend{
		{Name: "plex-home", Type: "plex", Import: true, Export: true, Client: &cliPlugin{
			health:   plugins.Health{Reachable: true, ServerID: "abc", ServerName: "Home", ServerVersion: "1.41.0"},
			accounts: []plugins.Account{{ID: "1", Name: "Alice", Admin: true}, {ID: "7", Name: "Bob"}}}},
		{Name: "jelly", Type: "jellyfin", Import: true, Export: true, Client: &cliPlugin{
			health:   plugins.Health{Detail: "connection refused"},
			accounts: []plugins.Account{{ID: "ja", Name: "alice"}, {ID: "jb", Name: "bob"}, {ID: "jc", Name: "carol"}}}},
	}
	eng := engine.New(st, engine.Config{AccountOf: dir.AccountID, Guard: engine.GuardConfig{MaxFraction: 0.1, MinItems: 25},
		Backends: map[string]engine.BackendPolicy{"plex-home": {Import: true, Export: true}, "jelly": {Import: true, Export: true}}},
		zerolog.Nop(), engine.WithClock(func() time.Time { return rigNow }))
	p := pipeline.New(pipeline.Options{Store: st, Engine: eng, Backends: backends, Directory: dir, Logger: zerolog.Nop()})
	p.Refresh(context.Background())

	sched := &scriptedTasks{st: st, got: map[string]tasks.Request{}, outcome: map[string]store.Run{
		tasks.TaskImport:     {Status: store.RunOK},
		tasks.TaskImportFull: {Status: store.RunHeld, Guard: map[string]store.GuardCount{"jelly": {Observed: 30, ToUnwatch: 28, Held: true}}},
		tasks.TaskExport:     {Status: store.RunFailed, Error: "plex-home: write: connection refused"},
		tasks.TaskBackup:     {Status: store.RunOK},
	}}
	health := api.NewHealth(time.Second)
	health.AddCheck("store", func(context.Context) error { return st.Check() })
	router := mux.NewRouter()
	// jelly's plugin keeps dying: its last error is what `backends list`
	// shows, not the server check's.
	plugs := func() []host.Status {
		return []host.Status{
			{Name: "jelly", State: host.StateRestarting, Restarts: 2, LastError: "plugin process exited: exit status 2"},
			{Name: "plex-home", State: host.StateReady, PID: 4242},
		}
	}
	api.NewManagement(api.Deps{Backends: p, Engine: eng, Store: st, Tasks: sched, Health: health, Plugins: plugs,
		PublicURL: "http://keepwatch.lan:8686", Now: func() time.Time { return rigNow }}, rigKey, zerolog.Nop()).Register(router)
	srv := httptest.NewServer(router)
	t.Cleanup(func() {
		srv.Close()
		sched.wg.Wait()
		_ = st.Close()
	})
	return &cliRig{st: st, srv: srv, tasks: sched, env: map[string]string{envAddr: srv.URL, envAPIKey: rigKey}}
}

// seedCLIStore writes records 1-3, runs 1 (ok import) and 2 (held import),
// deliveries and tokens.
func seedCLIStore(t *testing.T, st *store.Store) {
	t.Helper()
	played := rigNow.Add(-24 * time.Hour)
	err := st.Update(func(tx *store.Tx) error {
		for _, r := range []*model.Record{
			{User: "alice", Item: model.Item{Kind: model.KindMovie, Title: "Alien", Year: 1979, GUIDs: []model.GUID{"imdb:tt0078748"}},
				State: model.State{Watched: true, PlayedAt: played}, UpdatedAt: played, ChangedAt: played, ChangedBy: "plex-home",
				Refs: map[string]model.Ref{"plex-home": {RemoteID: "11", Library: "Movies"}, "jelly": {RemoteID: "aa"}},
				Bases: map[string]model.Base{"plex-home": {State: model.State{Watched: true, PlayedAt: played}, WatchedKnown: true, SeenAt: played},
					"jelly": {State: model.State{Watched: true, PlayedAt: played}, WatchedKnown: true, SeenAt: played.Add(time.Minute), Written: true}}},
			{User: "alice", Item: model.Item{Kind: model.KindEpisode, Title: "Pilot", ShowTitle: "Lost", ShowGUIDs: []model.GUID{"tvdb:73739"}, Season: 1, Episode: 1},
				State: model.State{Progress: 1290 * time.Second}, Refs: map[string]model.Ref{"plex-home": {RemoteID: "12"}},
				Absent: map[string]time.Time{"jelly": played.Add(time.Minute)}},
			{User: "bob", Item: model.Item{Kind: model.KindMovie, Title: "Heat", Year: 1995, GUIDs: []model.GUID{"imdb:tt0113277"}},
				State: model.State{Watched: true, PlayedAt: played}, Refs: map[string]model.Ref{"jelly": {RemoteID: "bb"}}},
		} {
			if err := tx.PutRecord(r); err != nil {
				return err
			}
		}
		for _, r := range []*store.Run{
			{Kind: "import", Status: store.RunOK, StartedAt: played, EndedAt: played.Add(4 * time.Second),
				Counts: map[string]int{"observed": 3, "created": 3, "queued": 2, "written": 2}},
			{Kind: "import", Backends: []string{"jelly"}, Status: store.RunHeld, StartedAt: rigNow.Add(-time.Hour), EndedAt: rigNow.Add(-time.Hour + time.Second),
				Counts: map[string]int{"observed": 300, "held": 40}, Guard: map[string]store.GuardCount{"jelly": {Observed: 300, ToUnwatch: 40, Held: true}}},
		} {
			if err := tx.CreateRun(r); err != nil {
				return err
			}
		}
		return tx.AppendJournal(&model.Event{Origin: model.Origin{Kind: model.OriginRun, ID: 1}, At: played, Kind: model.EventRecordCreated,
			RecordID: 1, User: "alice", Backend: "plex-home", After: &model.State{Watched: true, PlayedAt: played}, Reason: "first seen"})
	})
	if err != nil {
		t.Fatal(err)
	}
	ds := []*store.Delivery{
		{User: "*", Backend: "plex-home", ReceivedAt: rigNow.Add(-3 * time.Minute), Method: "POST"},
		{User: "alice", Backend: "jelly", ReceivedAt: rigNow.Add(-time.Minute), Method: "POST", Body: []byte("{")},
	}
	if err := st.AddDeliveries(ds...); err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.FinishDelivery(ds[0], store.DeliveryApplied, "", 1, rigNow.Add(-3*time.Minute)); err != nil {
			return err
		}
		return tx.FinishDelivery(ds[1], store.DeliveryRejected, "jellyfin: unexpected end of JSON input", 0, rigNow.Add(-time.Minute))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []store.Token{{User: "*", Backend: "plex-home", Token: "plexall"}, {User: "alice", Backend: "jelly", Token: "jellyalice"}} {
		if err := st.PutToken(tok); err != nil {
			t.Fatal(err)
		}
	}
}

// compareCLIGolden compares a command's output with testdata/cli/name.golden.
func compareCLIGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "cli", name+".golden")
	if *updateCLIGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/keepwatch/ -run TestCLI -update-cli)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}
