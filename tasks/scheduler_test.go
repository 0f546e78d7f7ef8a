package tasks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/core/store"
)

func TestNewValidatesConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none: valid
	}{
		{"defaults", nil, nil},
		{"descriptors", Config{"import": {Schedule: "@every 15m", Enabled: true}, "backup": {Schedule: "@daily", Enabled: true}}, nil},
		{"disabled without schedule", Config{"export": {Enabled: false}}, nil},
		{"bad field count", Config{"import_full": {Schedule: "0 3 * *", Enabled: true}},
			[]string{"tasks.import_full.schedule", `"0 3 * *"`, "not a cron schedule", `like "0 3 * * 0"`, "@every 1h"}},
		{"seconds field refused", Config{"export": {Schedule: "0 0 3 * * 0", Enabled: true}},
			[]string{"tasks.export.schedule", `"0 0 3 * * 0"`, "write 5 fields"}},
		{"bad descriptor", Config{"prune": {Schedule: "@sometimes", Enabled: true}},
			[]string{"tasks.prune.schedule", `"@sometimes"`}},
		{"bad schedule while disabled", Config{"import": {Schedule: "every hour", Enabled: false}},
			[]string{"tasks.import.schedule", `"every hour"`}},
		{"enabled without schedule", Config{"backup": {Enabled: true}},
			[]string{"tasks.backup.schedule", "required while the task is enabled", "enabled: false"}},
		{"unknown task", Config{"imports": {Schedule: "@daily", Enabled: true}},
			[]string{"tasks.imports", "no such task", "import, import_full, export, backup, prune"}},
		{"negative keep", Config{"backup": {Schedule: "@daily", Enabled: true, Keep: -1}},
			[]string{"tasks.backup.keep", "-1", "write 1 or more"}},
		{"negative keep_days", Config{"prune": {Schedule: "@daily", Enabled: true, KeepDays: -5}},
			[]string{"tasks.prune.keep_days", "-5", "write 1 or more days"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.Open(t.TempDir()+"/kw.db", store.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			_, err = New(Options{Store: st, Syncer: &fakeSyncer{st: st}, Tasks: tc.cfg, DataDir: t.TempDir()})
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted the config")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestNewRequiresItsParts(t *testing.T) {
	st, err := store.Open(t.TempDir()+"/kw.db", store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no store", Options{Syncer: &fakeSyncer{}, DataDir: "d"}, "Options.Store"},
		{"no syncer", Options{Store: st, DataDir: "d"}, "Options.Syncer"},
		{"no data dir", Options{Store: st, Syncer: &fakeSyncer{}}, "Options.DataDir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestRunAnswersOnceTheRunExists(t *testing.T) {
	for _, tc := range []struct {
		task     string
		req      Request
		wantKind string
		wantReq  Request
	}{
		{"import", Request{Backends: []string{"plex"}, User: "alice"}, "import", Request{Backends: []string{"plex"}, User: "alice"}},
		{"import_full", Request{}, "import", Request{Full: true}},
		{"export", Request{DryRun: true, Full: true}, "export", Request{DryRun: true, Full: true}},
	} {
		t.Run(tc.task, func(t *testing.T) {
			f := newFixture(t, nil, nil)
			g := newGate()
			f.syncer.hook = g.hook
			id, done, err := f.s.Run(context.Background(), tc.task, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			receive(t, g.entered)
			// The hook is blocked, so the run cannot have finished.
			select {
			case r := <-done:
				t.Fatalf("done delivered run %+v before the task finished", r)
			default:
			}
			if r, err := f.st.Run(id); err != nil || r.Status != store.RunRunning {
				t.Fatalf("run %d while the task works: %+v, %v; want it stored running", id, r, err)
			}
			if info := f.info(tc.task); !info.Running || info.RunID != id {
				t.Errorf("List while running: %+v, want running run %d", info, id)
			}
			close(g.open)
			run := receive(t, done)
			if run.ID != id || run.Status != store.RunOK || run.Kind != tc.wantKind {
				t.Errorf("done: %+v, want run %d ok of kind %s", run, id, tc.wantKind)
			}
			if diff := cmp.Diff([]Request{tc.wantReq}, f.syncer.requests()); diff != "" {
				t.Errorf("requests to the syncer (-want +got):\n%s", diff)
			}
			if _, open := <-done; open {
				t.Error("done not closed after the run")
			}
			info := f.info(tc.task)
			if info.Running || info.LastRunID != id || info.LastStatus != store.RunOK {
				t.Errorf("List after the run: %+v, want last run %d ok", info, id)
			}
		})
	}
}

func (f *fixture) info(name string) TaskInfo {
	for _, info := range f.s.List() {
		if info.Name == name {
			return info
		}
	}
	return TaskInfo{}
}

func TestRunRefusesBusyAndUnknownTasks(t *testing.T) {
	f := newFixture(t, nil, nil)
	g := newGate()
	f.syncer.hook = g.hook
	id, done, err := f.s.Run(context.Background(), "import", Request{})
	if err != nil {
		t.Fatal(err)
	}
	receive(t, g.entered)

	_, _, err = f.s.Run(context.Background(), "import", Request{})
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "run ") {
		t.Errorf("second import: %v, want ErrBusy naming the run", err)
	}
	// A full import would read the same servers at the same time.
	if _, _, err := f.s.Run(context.Background(), "import_full", Request{}); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "import is running") {
		t.Errorf("import_full while import runs: %v, want ErrBusy naming import", err)
	}
	// A scheduled start of a busy task is skipped, not queued.
	f.s.runScheduled(f.s.tasks["import"])
	if n := len(f.syncer.requests()); n != 1 {
		t.Errorf("the syncer was called %d times while import was busy, want 1", n)
	}
	// Another task is not held up by a busy one.
	otherID, otherDone, err := f.s.Run(context.Background(), "export", Request{})
	if err != nil {
		t.Fatalf("export while import runs: %v", err)
	}
	receive(t, g.entered)
	if _, _, err := f.s.Run(context.Background(), "nope", Request{}); !errors.Is(err, ErrUnknownTask) || !strings.Contains(err.Error(), "import_full") {
		t.Errorf("unknown task: %v, want ErrUnknownTask listing the tasks", err)
	}

	close(g.open)
	if r := receive(t, done); r.ID != id {
		t.Errorf("import finished as run %d, want %d", r.ID, id)
	}
	if r := receive(t, otherDone); r.ID != otherID {
		t.Errorf("export finished as run %d, want %d", r.ID, otherID)
	}
	// Free again once done has delivered.
	if r := f.runAndWait(t, "import", Request{}); r.Status != store.RunOK {
		t.Errorf("import after the first ended: %+v", r)
	}
}

func TestRunOutlivesTheCallersContext(t *testing.T) {
	f := newFixture(t, nil, nil)
	g := newGate()
	f.syncer.hook = g.hook
	ctx, cancel := context.WithCancel(context.Background())
	_, done, err := f.s.Run(ctx, "export", Request{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	receive(t, g.entered)
	close(g.open)
	if r := receive(t, done); r.Status != store.RunOK {
		t.Errorf("run after the caller's context ended: %+v, want ok", r)
	}
}

func TestSyncerRefusalBeforeTheRunExists(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.syncer.refuse = errRefused

	// On demand, the caller gets the error and no run is recorded.
	if _, _, err := f.s.Run(context.Background(), "import", Request{Backends: []string{"nope"}}); !errors.Is(err, errRefused) {
		t.Fatalf("Run: %v, want the syncer's error", err)
	}
	if runs, _ := f.st.ListRuns(10); len(runs) != 0 {
		t.Fatalf("a refused run on demand left %d runs", len(runs))
	}
	// On schedule nobody would see the error: it becomes a failed run.
	f.s.runScheduled(f.s.tasks["export"])
	runs, err := f.st.ListRuns(10)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs after a refused scheduled export: %d, %v", len(runs), err)
	}
	if r := runs[0]; r.Kind != "export" || r.Status != store.RunFailed || r.Error != errRefused.Error() || r.EndedAt.IsZero() {
		t.Errorf("recorded run %+v, want a failed export with the syncer's error", r)
	}
	if info := f.info("export"); info.Running || info.LastRunID != runs[0].ID || info.LastStatus != store.RunFailed {
		t.Errorf("List: %+v", info)
	}
}

func TestPanicIsAFailedRunAndTheSchedulerLivesOn(t *testing.T) {
	for _, tc := range []struct {
		name        string
		beforeStart bool
	}{
		{"after the run exists", false},
		{"before the run exists", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil, nil)
			if tc.beforeStart {
				f.s.tasks["import"].do = func(context.Context, Request, func(uint64)) (*store.Run, error) { panic("boom") }
			} else {
				f.syncer.hook = func(context.Context, string, Request) error { panic("boom") }
			}
			run := f.runAndWait(t, "import", Request{User: "alice"})
			if run.Status != store.RunFailed || run.Error != "panic: boom" || run.EndedAt.IsZero() {
				t.Errorf("run after a panic: %+v, want failed with the panic message", run)
			}
			stored, err := f.st.Run(run.ID)
			if err != nil || stored.Status != store.RunFailed || stored.Error != "panic: boom" {
				t.Errorf("stored run %+v, %v", stored, err)
			}
			// Alive: the same task runs again, on demand and on schedule.
			f.s.tasks["import"].do = f.syncer.Import
			f.syncer.hook = nil
			if r := f.runAndWait(t, "import", Request{}); r.Status != store.RunOK {
				t.Errorf("run after the panic: %+v", r)
			}
			f.s.runScheduled(f.s.tasks["import"])
			if runs, _ := f.st.ListRuns(1); len(runs) != 1 || runs[0].Status != store.RunOK {
				t.Errorf("scheduled run after the panic: %+v", runs)
			}
		})
	}
}

func TestImportOnStart(t *testing.T) {
	tests := []struct {
		name    string
		enabled bool
		want    []string // the runs Start makes before the hourly schedule is due
	}{
		{"import enabled: one catch-up delta import", true, []string{"import"}},
		{"import disabled: nothing", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{
				"import":      {Schedule: "@every 1h", Enabled: tt.enabled},
				"import_full": {Schedule: "@every 1h", Enabled: true},
				"export":      {Schedule: "@every 1h", Enabled: true},
			}
			f := newFixture(t, cfg, nil, func(o *Options) { o.ImportOnStart = true })
			fired := f.firedRuns()
			f.s.Start()
			// Start claims the catch-up run before it returns, and Stop
			// waits for every claimed run: after both, fired holds all
			// that ran.
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := f.s.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			close(fired)
			var got []string
			for k := range fired {
				got = append(got, k)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("runs at start (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScheduleFires(t *testing.T) {
	cfg := Config{
		"import":      {Schedule: "@every 1s", Enabled: true},
		"import_full": {Schedule: "@every 1s", Enabled: false},
		"export":      {Schedule: "@yearly", Enabled: true},
	}
	f := newFixture(t, cfg, nil)
	fired := f.firedRuns()
	f.s.Start()
	if got := receive(t, fired); got != "import" {
		t.Errorf("scheduled run of %q, want the delta import", got)
	}
	infos := f.s.List()
	var names []string
	for _, info := range infos {
		names = append(names, info.Name)
		if info.Enabled == info.Next.IsZero() {
			t.Errorf("%s: enabled %v but next %v", info.Name, info.Enabled, info.Next)
		}
	}
	if diff := cmp.Diff(Names, names); diff != "" {
		t.Errorf("List order (-want +got):\n%s", diff)
	}
}

func TestStopCancelsAndWaits(t *testing.T) {
	f := newFixture(t, nil, nil)
	cancelled, release := make(chan struct{}, 1), make(chan struct{})
	f.syncer.hook = func(ctx context.Context, _ string, _ Request) error {
		<-ctx.Done()
		cancelled <- struct{}{}
		<-release // still cleaning up after the cancel
		return ctx.Err()
	}
	_, done, err := f.s.Run(context.Background(), "import", Request{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- f.s.Stop(context.Background()) }()
	receive(t, cancelled)
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a task was still running", err)
	default:
	}
	if _, _, err := f.s.Run(context.Background(), "export", Request{}); !errors.Is(err, ErrStopped) {
		t.Errorf("Run after Stop: %v, want ErrStopped", err)
	}
	close(release)
	if err := receive(t, stopped); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if r := receive(t, done); r.Status != store.RunFailed || !strings.Contains(r.Error, "context canceled") {
		t.Errorf("run cut short by Stop: %+v, want failed", r)
	}
}

func TestStopGivesUpAtItsDeadline(t *testing.T) {
	f := newFixture(t, nil, nil)
	release := make(chan struct{})
	g := newGate()
	f.syncer.hook = func(ctx context.Context, kind string, req Request) error {
		g.entered <- kind
		<-release // ignores cancellation for a while
		return nil
	}
	if _, _, err := f.s.Run(context.Background(), "export", Request{}); err != nil {
		t.Fatal(err)
	}
	receive(t, g.entered)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.s.Stop(ctx); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "export") {
		t.Errorf("Stop past its deadline: %v, want context.Canceled naming export", err)
	}
	close(release) // the cleanup's Stop then waits for the task to end
}

func TestStartFailsRunsLeftRunning(t *testing.T) {
	f := newFixture(t, Config{"import": {Schedule: "@yearly", Enabled: true}}, nil)
	// Written directly, as a daemon that crashed mid-run leaves it, but
	// started before this scheduler was made.
	stale := &store.Run{Kind: "import", Status: store.RunRunning, StartedAt: f.s.created.Add(-time.Hour)}
	finished := &store.Run{Kind: "export", Status: store.RunOK, StartedAt: f.s.created.Add(-time.Hour)}
	for _, r := range []*store.Run{stale, finished} {
		if err := f.st.CreateRun(r); err != nil {
			t.Fatal(err)
		}
	}
	f.s.Start()
	for _, tc := range []struct {
		id         uint64
		wantStatus string
		wantError  string
	}{
		{stale.ID, store.RunFailed, "interrupted: daemon stopped"},
		{finished.ID, store.RunOK, ""},
	} {
		r, err := f.st.Run(tc.id)
		if err != nil || r.Status != tc.wantStatus || r.Error != tc.wantError {
			t.Errorf("run %d: %+v, %v; want status %q error %q", tc.id, r, err, tc.wantStatus, tc.wantError)
		}
	}
}

func TestListAfterRestartShowsLastRuns(t *testing.T) {
	f := newFixture(t, nil, nil)
	full := &store.Run{Kind: "import", Full: true, Status: store.RunHeld, StartedAt: time.Now()}
	delta := &store.Run{Kind: "import", Status: store.RunOK, StartedAt: time.Now()}
	for _, r := range []*store.Run{full, delta} {
		if err := f.st.CreateRun(r); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Options{Store: f.st, Syncer: f.syncer, DataDir: f.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, info := range s.List() {
		got[info.Name] = info.LastRunID
	}
	want := map[string]uint64{"import": delta.ID, "import_full": full.ID, "export": 0, "backup": 0, "prune": 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("last runs (-want +got):\n%s", diff)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Error(err)
	}
}
