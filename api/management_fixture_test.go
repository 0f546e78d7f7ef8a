package api

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/core/engine"
	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/pipeline"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/host"
	"github.com/keepwatch/keepwatch/tasks"
)

// The daemon's real parts are what the lead wires into Deps.
var (
	_ Backends = (*pipeline.Pipeline)(nil)
	_ Engine   = (*engine.Engine)(nil)
	_ Store    = (*store.Store)(nil)
	_ Tasks    = (*tasks.Scheduler)(nil)
	_ Checker  = (*Health)(nil)
)

// testKey is the API key of the test management API.
const testKey = "test-api-key-0123456789"

// t0 is the fixture's clock.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// stubClient is a plugin client that describes itself and answers health;
// the management API calls nothing else.
type stubClient struct {
	plugins.Client
	desc   plugins.Description
	health plugins.Health
}

func (c *stubClient) Describe(context.Context) (plugins.Description, error) { return c.desc, nil }
func (c *stubClient) CheckHealth(context.Context) (plugins.Health, error)   { return c.health, nil }

// fakeBackends is the Backends dependency: two backends, accounts listed,
// alice mapped on both, bob on plex only, one unmapped Jellyfin account.
type fakeBackends struct {
	list     []*pipeline.Backend
	accounts map[string][]plugins.Account
	dir      *pipeline.Directory
}

func newFakeBackends() *fakeBackends {
	plex := &pipeline.Backend{Name: "plex-home", Type: "plex", Import: true, Export: true, Client: &stubClient{
		desc:   plugins.Description{Type: "plex", Version: "1.0.0", Capabilities: []plugins.Capability{plugins.CapabilityWebhook, plugins.CapabilityImport}},
		health: plugins.Health{Reachable: true, ServerID: "abc123", ServerName: "Home", ServerVersion: "1.41.0"},
	}}
	jelly := &pipeline.Backend{Name: "jelly", Type: "jellyfin", Import: true, Export: true, Client: &stubClient{
		desc:   plugins.Description{Type: "jellyfin", Version: "1.0.0"},
		health: plugins.Health{Reachable: false, Detail: "dial tcp 10.0.0.2:8096: connection refused"},
	}}
	accounts := map[string][]plugins.Account{
		"plex-home": {{ID: "1", Name: "Alice", Admin: true}, {ID: "2", Name: "bob"}},
		"jelly":     {{ID: "j-a", Name: "alice"}, {ID: "j-c", Name: "carol"}},
	}
	dir := pipeline.NewDirectory([]pipeline.UserSpec{
		{Name: "alice", Accounts: map[string]string{"plex-home": "Alice", "jelly": "alice"}},
		{Name: "bob", Accounts: map[string]string{"plex-home": "bob"}},
	}, false)
	dir.Rebuild(accounts)
	return &fakeBackends{list: []*pipeline.Backend{jelly, plex}, accounts: accounts, dir: dir}
}

// fakePlugins is the host's view: jelly's plugin keeps dying, plex-home's
// answers.
func fakePlugins() []host.Status {
	return []host.Status{
		{Name: "jelly", Type: "jellyfin", Source: host.SourceBuiltin, Path: "/usr/bin/keepwatch", State: host.StateRestarting,
			Since: t0.Add(-time.Minute), Restarts: 3, LastError: "plugin process exited: exit status 2"},
		{Name: "plex-home", Type: "plex", Source: host.SourceBuiltin, Path: "/usr/bin/keepwatch", State: host.StateReady,
			Since: t0.Add(-time.Hour), Protocol: 1, PID: 4242},
	}
}

func (f *fakeBackends) Backends() []*pipeline.Backend { return f.list }
func (f *fakeBackends) Backend(name string) (*pipeline.Backend, bool) {
	for _, b := range f.list {
		if b.Name == name {
			return b, true
		}
	}
	return nil, false
}
func (f *fakeBackends) Accounts(backend string) ([]plugins.Account, bool) {
	a, ok := f.accounts[backend]
	return a, ok
}
func (f *fakeBackends) Directory() *pipeline.Directory { return f.dir }

// fakeEngine answers like the engine: Mark flips the stored record's flag
// in its answer (not in the store), approve and discard need a held run.
type fakeEngine struct{ st *store.Store }

func (e *fakeEngine) Mark(_ context.Context, id uint64, watched bool) (*model.Record, *store.Run, error) {
	recs, err := e.st.RecordsAfter(id-1, 1)
	if err != nil {
		return nil, nil, err
	}
	if len(recs) == 0 || recs[0].ID != id {
		return nil, nil, fmt.Errorf("engine: mark record %d: store: record %d: %w", id, id, store.ErrNotFound)
	}
	r := recs[0]
	r.Watched, r.PlayedAt, r.Progress, r.ChangedBy = watched, t0, 0, "manual"
	return r, &store.Run{ID: 100, Kind: "manual", Status: store.RunOK, StartedAt: t0, EndedAt: t0,
		Counts: map[string]int{"observed": 1, "changed": 1, "queued": 1}}, nil
}

func (e *fakeEngine) decide(id uint64, status string) (*store.Run, error) {
	r, err := e.st.Run(id)
	if err != nil {
		return nil, err
	}
	r.Status = status
	return r, nil
}

func (e *fakeEngine) Approve(_ context.Context, id uint64) (*store.Run, error) {
	return e.decide(id, store.RunApproved)
}

func (e *fakeEngine) Discard(_ context.Context, id uint64) (*store.Run, error) {
	return e.decide(id, store.RunDiscarded)
}

func (e *fakeEngine) Undo(_ context.Context, id uint64) (*store.Run, error) {
	return &store.Run{ID: 101, Kind: "undo", Status: store.RunOK, StartedAt: t0, EndedAt: t0,
		Counts: map[string]int{"changed": 1, "unchanged": 0}}, nil
}

// fakeTasks refuses unknown names, reports export as busy and starts the rest
// as run 42, remembering the requests.
type fakeTasks struct{ got []tasks.Request }

func (f *fakeTasks) Run(_ context.Context, name string, req tasks.Request) (uint64, <-chan *store.Run, error) {
	switch name {
	case tasks.TaskExport:
		return 0, nil, fmt.Errorf("tasks: export: %w (run 7)", tasks.ErrBusy)
	case tasks.TaskImport, tasks.TaskImportFull, tasks.TaskBackup, tasks.TaskPrune:
		f.got = append(f.got, req)
		done := make(chan *store.Run)
		close(done)
		return 42, done, nil
	}
	return 0, nil, fmt.Errorf("tasks: %q: %w", name, tasks.ErrUnknownTask)
}

func (f *fakeTasks) List() []tasks.TaskInfo {
	return []tasks.TaskInfo{
		{Name: "import", Schedule: "@every 1h", Enabled: true, LastRunID: 1, LastStatus: store.RunOK, LastEnded: t0, Next: t0.Add(time.Hour)},
		{Name: "export", Schedule: "@every 1h", Enabled: true, Running: true, RunID: 7},
		{Name: "backup", Schedule: "0 4 * * *", Enabled: false},
	}
}

// mgmtFixture is a management API over a real store holding a few records,
// runs, deliveries and tokens, and fakes of the other dependencies.
type mgmtFixture struct {
	st     *store.Store
	tasks  *fakeTasks
	router *mux.Router
}

func newMgmtFixture(t *testing.T) *mgmtFixture {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	seedStore(t, st)
	health := NewHealth(time.Second)
	health.AddCheck("store", func(context.Context) error { return st.Check() })
	f := &mgmtFixture{st: st, tasks: &fakeTasks{}, router: mux.NewRouter()}
	NewManagement(Deps{
		Backends: newFakeBackends(), Engine: &fakeEngine{st: st}, Store: st, Tasks: f.tasks, Health: health,
		Plugins: fakePlugins, PublicURL: "http://keepwatch.lan:8686", Now: func() time.Time { return t0 },
	}, testKey, zerolog.Nop()).Register(f.router)
	return f
}

// seedStore writes records 1-3, runs 1 (ok import), 2 (held import), 3
// (running export), a journal, two finished deliveries, tokens and a queued
// write.
func seedStore(t *testing.T, st *store.Store) {
	t.Helper()
	movie := model.Item{Kind: model.KindMovie, Title: "Fight Club", Year: 1999, GUIDs: []model.GUID{"imdb:tt0137523"}, Duration: 139 * time.Minute}
	episode := model.Item{Kind: model.KindEpisode, Title: "Pilot", ShowTitle: "The Wire", ShowGUIDs: []model.GUID{"tvdb:79126"}, Season: 1, Episode: 1}
	records := []*model.Record{
		{V: 1, User: "alice", Item: movie, State: model.State{Watched: true, PlayedAt: t0.Add(-48 * time.Hour)},
			UpdatedAt: t0.Add(-48 * time.Hour), ChangedAt: t0.Add(-47 * time.Hour), ChangedBy: "plex-home",
			Refs: map[string]model.Ref{"plex-home": {RemoteID: "101", Library: "Movies"}, "jelly": {RemoteID: "f00d"}},
			Bases: map[string]model.Base{
				"plex-home": {State: model.State{Watched: true, PlayedAt: t0.Add(-48 * time.Hour)}, WatchedKnown: true, SeenAt: t0.Add(-47 * time.Hour)},
				"jelly":     {State: model.State{Watched: true, PlayedAt: t0.Add(-48 * time.Hour)}, SeenAt: t0.Add(-46 * time.Hour), Written: true},
			}},
		{V: 1, User: "alice", Item: episode, State: model.State{Progress: 754 * time.Second},
			Refs: map[string]model.Ref{"plex-home": {RemoteID: "202"}}, Absent: map[string]time.Time{"jelly": t0.Add(-time.Hour)}},
		{V: 1, User: "bob", Item: movie, Refs: map[string]model.Ref{"jelly": {RemoteID: "f00d"}}},
	}
	runs := []*store.Run{
		{Kind: "import", Status: store.RunOK, StartedAt: t0.Add(-47 * time.Hour), EndedAt: t0.Add(-47*time.Hour + 3*time.Second),
			Counts: map[string]int{"observed": 3, "created": 3, "changed": 0, "queued": 1}},
		{Kind: "import", Backends: []string{"jelly"}, Status: store.RunHeld, StartedAt: t0.Add(-time.Hour), EndedAt: t0.Add(-time.Hour + time.Second),
			Counts: map[string]int{"observed": 300, "held": 40},
			Guard:  map[string]store.GuardCount{"jelly": {Observed: 300, ToUnwatch: 40, Held: true, HeldChange: 40}}},
		{Kind: "export", Status: store.RunRunning, StartedAt: t0, Counts: map[string]int{"queued": 2}},
	}
	err := st.Update(func(tx *store.Tx) error {
		for _, r := range records {
			if err := tx.PutRecord(r); err != nil {
				return err
			}
		}
		for _, r := range runs {
			if err := tx.CreateRun(r); err != nil {
				return err
			}
		}
		after := model.State{Watched: true, PlayedAt: t0.Add(-48 * time.Hour)}
		for _, ev := range []*model.Event{
			{Origin: model.Origin{Kind: model.OriginRun, ID: 1}, At: t0.Add(-47 * time.Hour), Kind: model.EventRecordCreated,
				RecordID: 1, User: "alice", Backend: "plex-home", After: &after, Reason: "first seen on plex-home"},
			{Origin: model.Origin{Kind: model.OriginRun, ID: 1}, At: t0.Add(-47 * time.Hour), Kind: model.EventRecordCreated,
				RecordID: 2, User: "alice", Backend: "plex-home", After: &model.State{}},
			{Origin: model.Origin{Kind: model.OriginRun, ID: 1}, At: t0.Add(-46 * time.Hour), Kind: model.EventWrite,
				RecordID: 1, User: "alice", Backend: "jelly", Before: &model.State{}, After: &after},
			// Written by the push worker between runs: the record's history
			// shows it too.
			{Origin: model.Origin{Kind: model.OriginPush}, At: t0.Add(-30 * time.Minute), Kind: model.EventWrite,
				RecordID: 1, User: "alice", Backend: "plex-home", Before: &model.State{}, After: &after},
		} {
			if err := tx.AppendJournal(ev); err != nil {
				return err
			}
		}
		return tx.Enqueue("jelly", 2, "alice", t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	ds := []*store.Delivery{
		{User: "*", Backend: "plex-home", ReceivedAt: t0.Add(-2 * time.Minute), Method: "POST", Body: []byte(`{"event":"media.scrobble"}`)},
		{User: "alice", Backend: "jelly", ReceivedAt: t0.Add(-time.Minute), Method: "POST", Body: []byte(`not json`)},
	}
	if err := st.AddDeliveries(ds...); err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.FinishDelivery(ds[0], store.DeliveryApplied, "", 1, t0.Add(-2*time.Minute)); err != nil {
			return err
		}
		return tx.FinishDelivery(ds[1], store.DeliveryRejected, "jellyfin: body is not JSON", 0, t0.Add(-time.Minute))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []store.Token{
		{User: "*", Backend: "plex-home", Token: "tok-plex-all", CreatedAt: t0},
		{User: "alice", Backend: "jelly", Token: "tok-jelly-alice", CreatedAt: t0},
	} {
		if err := st.PutToken(tok); err != nil {
			t.Fatal(err)
		}
	}
}
