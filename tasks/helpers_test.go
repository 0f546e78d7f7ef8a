package tasks

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/core/store"
)

// wait is how long a test waits for something that should happen promptly;
// generous, because it only bounds a hang.
const wait = 30 * time.Second

// fakeSyncer records its runs in the store the way the daemon's engine-backed
// Syncer does, and runs hook (when set) between creating and finishing them.
type fakeSyncer struct {
	st *store.Store
	// refuse, when set, is returned before any run exists.
	refuse error
	hook   func(ctx context.Context, kind string, req Request) error

	mu    sync.Mutex
	calls []Request
}

func (f *fakeSyncer) Import(ctx context.Context, req Request, started func(uint64)) (*store.Run, error) {
	return f.run(ctx, "import", req, started)
}

func (f *fakeSyncer) Export(ctx context.Context, req Request, started func(uint64)) (*store.Run, error) {
	return f.run(ctx, "export", req, started)
}

func (f *fakeSyncer) run(ctx context.Context, kind string, req Request, started func(uint64)) (*store.Run, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.mu.Unlock()
	if f.refuse != nil {
		return nil, f.refuse
	}
	r := &store.Run{Kind: kind, Backends: req.Backends, User: req.User, Full: req.Full, DryRun: req.DryRun,
		Status: store.RunRunning, StartedAt: time.Now()}
	if err := f.st.CreateRun(r); err != nil {
		return nil, err
	}
	started(r.ID)
	var err error
	if f.hook != nil {
		err = f.hook(ctx, kind, req)
	}
	r.EndedAt, r.Status = time.Now(), store.RunOK
	if err != nil {
		r.Status, r.Error = store.RunFailed, err.Error()
	}
	if perr := f.st.PutRun(r); perr != nil {
		return nil, perr
	}
	return r, err
}

func (f *fakeSyncer) requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.calls...)
}

// clock is a fake time that moves on by step at every reading, so every
// backup gets its own name.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

type fixture struct {
	s       *Scheduler
	st      *store.Store
	syncer  *fakeSyncer
	dataDir string
}

// newFixture opens a real store in a temporary data directory and builds a
// scheduler over it with cfg; the scheduler is stopped when the test ends.
func newFixture(t *testing.T, cfg Config, now func() time.Time, more ...func(*Options)) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, syncer: &fakeSyncer{st: st}, dataDir: dir}
	opts := Options{Store: st, Syncer: f.syncer, Tasks: cfg, DataDir: dir, Now: now,
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)}
	for _, m := range more {
		m(&opts)
	}
	f.s, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := f.s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return f
}

// firedRuns makes the syncer report the kind of every import and export it
// is asked for ("import full" for a full import).
func (f *fixture) firedRuns() chan string {
	fired := make(chan string, 16)
	f.syncer.hook = func(_ context.Context, kind string, req Request) error {
		if req.Full {
			kind += " full"
		}
		fired <- kind
		return nil
	}
	return fired
}

// runAndWait runs task name now and returns its finished run.
func (f *fixture) runAndWait(t *testing.T, name string, req Request) *store.Run {
	t.Helper()
	id, done, err := f.s.Run(context.Background(), name, req)
	if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	run := receive(t, done)
	if run.ID != id {
		t.Fatalf("run %s: done delivered run %d, Run answered %d", name, run.ID, id)
	}
	return run
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("channel closed without a value")
		}
		return v
	case <-time.After(wait):
		t.Fatalf("nothing received within %v", wait)
	}
	panic("unreachable")
}

// gate blocks hooks until it is opened.
type gate struct {
	entered chan string // a hook has begun (its run exists)
	open    chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan string, 16), open: make(chan struct{})} }

func (g *gate) hook(ctx context.Context, kind string, _ Request) error {
	g.entered <- kind
	<-g.open
	return nil
}

var errRefused = errors.New("unknown backend nope")
