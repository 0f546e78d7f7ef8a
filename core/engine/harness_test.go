package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// The engine's tests drive it through in-memory fake backends behind the
// Source and Writer interfaces: no network, no plugins. Each fake keeps a
// per-user play state for a shared catalogue of items under its own remote
// ids, like real servers do.

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// catalogue item i: movies have an imdb id; odd items are episodes known by
// their show's tvdb id plus season/episode.
func catalogueItem(i int) model.Item {
	if i%2 == 0 {
		return model.Item{Kind: model.KindMovie, Title: fmt.Sprintf("Movie %d", i), Year: 2000 + i%20,
			GUIDs: []model.GUID{model.GUID(fmt.Sprintf("imdb:tt%07d", 1000+i))}, Duration: 100 * time.Minute}
	}
	return model.Item{Kind: model.KindEpisode, Title: fmt.Sprintf("Episode %d", i), ShowTitle: "Show",
		ShowGUIDs: []model.GUID{"tvdb:81189"}, Season: 1, Episode: i, Duration: 45 * time.Minute}
}

type fakeBackend struct {
	name        string
	clock       *clock
	items       []int                          // catalogue indexes present on this server
	state       map[string]map[int]model.State // user → item → state
	stampWrites bool                           // Plex-like: a written play gets the server's time, not ours
	down        bool                           // every call fails
	writes      int
	failItems   map[int]bool // writes to these items fail permanently
}

func newFakeBackend(name string, c *clock, n int) *fakeBackend {
	fb := &fakeBackend{name: name, clock: c, state: map[string]map[int]model.State{}, failItems: map[int]bool{}}
	for i := range n {
		fb.items = append(fb.items, i)
	}
	return fb
}

func (f *fakeBackend) remoteID(i int) string { return fmt.Sprintf("%s-%d", f.name, i) }

func (f *fakeBackend) get(user string, i int) model.State { return f.state[user][i] }

func (f *fakeBackend) set(user string, i int, s model.State) {
	if f.state[user] == nil {
		f.state[user] = map[int]model.State{}
	}
	f.state[user][i] = s
}

// observe is what this server would report about item i for user: a full
// state (import) when full, else only the parts set.
func (f *fakeBackend) observe(user string, i int) model.Observation {
	s := f.get(user, i)
	return model.Observation{Backend: f.name, User: user, Account: user, RemoteID: f.remoteID(i),
		Item: catalogueItem(i), HasWatched: true, Watched: s.Watched, PlayedAt: s.PlayedAt,
		HasProgress: true, Progress: s.Progress, ObservedAt: f.clock.now()}
}

func (f *fakeBackend) Import(ctx context.Context, req ImportRequest, page func([]model.Observation) error) error {
	if f.down {
		return fmt.Errorf("%s: connection refused", f.name)
	}
	var buf []model.Observation
	for _, i := range f.items {
		buf = append(buf, f.observe(req.Account, i))
		if len(buf) == 7 { // odd page size: page boundaries must not matter
			if err := page(buf); err != nil {
				return err
			}
			buf = nil
		}
	}
	if len(buf) > 0 {
		return page(buf)
	}
	return nil
}

func (f *fakeBackend) Write(ctx context.Context, backend string, ws []Write) ([]WriteResult, error) {
	if f.down {
		return nil, fmt.Errorf("%s: connection refused", f.name)
	}
	out := make([]WriteResult, len(ws))
	for k, w := range ws {
		var i int
		if _, err := fmt.Sscanf(w.RemoteID, f.name+"-%d", &i); err != nil {
			// No reference: as PluginWriter after a lookup by GUID that
			// found nothing.
			out[k] = WriteResult{Err: fmt.Errorf("no item %q", w.RemoteID), Permanent: true, Absent: w.RemoteID == ""}
			continue
		}
		if f.failItems[i] {
			out[k] = WriteResult{Err: fmt.Errorf("item %d refused", i), Permanent: true}
			continue
		}
		s := f.get(w.Account, i)
		if w.SetWatched {
			s.Watched = w.State.Watched
			s.PlayedAt = time.Time{}
			s.Progress = 0
			if w.State.Watched {
				s.PlayedAt = w.State.PlayedAt
				if f.stampWrites {
					s.PlayedAt = f.clock.now()
				}
			}
		}
		if w.SetProgress {
			s.Progress = w.State.Progress
		}
		f.set(w.Account, i, s)
		f.writes++
	}
	return out, nil
}

type env struct {
	t        *testing.T
	ctx      context.Context
	st       *store.Store
	e        *Engine
	clock    *clock
	backends map[string]*fakeBackend
	names    []string
	users    []string
}

func newEnv(t *testing.T, items int, names ...string) *env {
	t.Helper()
	return newEnvWith(t, items, func(*Config) {}, names...)
}

func newEnvWith(t *testing.T, items int, tweak func(*Config), names ...string) *env {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName), store.Options{NoSync: true, BatchDelay: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	cfg := DefaultConfig()
	v := &env{t: t, ctx: context.Background(), st: st, clock: c, backends: map[string]*fakeBackend{}, users: []string{"alice"}}
	for _, n := range names {
		v.addBackend(&cfg, n, items)
	}
	tweak(&cfg)
	v.e = New(st, cfg, zerolog.Nop(), WithClock(c.now))
	return v
}

func (v *env) addBackend(cfg *Config, name string, items int) {
	cfg.Backends[name] = BackendPolicy{Import: true, Export: true}
	v.backends[name] = newFakeBackend(name, v.clock, items)
	v.names = append(v.names, name)
	sort.Strings(v.names)
}

// webhook applies one observation as a delivery would.
func (v *env) webhook(o model.Observation) Result {
	v.t.Helper()
	d := &store.Delivery{Backend: o.Backend, User: o.User, ReceivedAt: v.clock.now()}
	if err := v.st.AddDeliveries(d); err != nil {
		v.t.Fatal(err)
	}
	res, err := v.e.ApplyDelivery(v.ctx, d, []model.Observation{o}, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	return res
}

func (v *env) importFrom(full bool, names ...string) *store.Run {
	v.t.Helper()
	var targets []ImportTarget
	for _, n := range names {
		var accs []AccountRef
		for _, u := range v.users {
			accs = append(accs, AccountRef{User: u, Account: u})
		}
		targets = append(targets, ImportTarget{Backend: n, Source: v.backends[n], Accounts: accs})
	}
	run, err := v.e.Import(v.ctx, targets, ImportOptions{Full: full})
	if err != nil {
		v.t.Fatal(err)
	}
	return run
}

// drainAll drains every outbox until all are empty (writes can queue nothing
// new, so one pass per backend suffices; loop to be sure).
func (v *env) drainAll() DrainResult {
	v.t.Helper()
	var total DrainResult
	for range 5 {
		for _, n := range v.names {
			res, err := v.e.Drain(v.ctx, model.Origin{Kind: model.OriginPush}, n, v.backends[n])
			if err != nil {
				v.t.Fatal(err)
			}
			total.Written += res.Written
			total.Failed += res.Failed
		}
		if v.queued() == 0 {
			break
		}
	}
	return total
}

func (v *env) queued() int {
	v.t.Helper()
	d, err := v.st.OutboxDepths()
	if err != nil {
		v.t.Fatal(err)
	}
	n := 0
	for _, c := range d {
		n += c
	}
	return n
}

// record returns user's record for catalogue item i, or nil.
func (v *env) record(user string, i int) *model.Record {
	v.t.Helper()
	var r *model.Record
	err := v.st.View(func(tx *store.Tx) error {
		it := catalogueItem(i)
		for _, k := range guidKeys(&it) {
			if id, ok := tx.FindByKey(user, k); ok {
				var err error
				r, err = tx.Record(id)
				return err
			}
		}
		return nil
	})
	if err != nil {
		v.t.Fatal(err)
	}
	return r
}

// play marks item i played to completion on backend at the current time.
func (v *env) play(backend, user string, i int) model.Observation {
	fb := v.backends[backend]
	fb.set(user, i, model.State{Watched: true, PlayedAt: v.clock.now()})
	o := fb.observe(user, i)
	o.HasProgress = false
	o.EventAt = v.clock.now()
	return o
}

// unwatch marks item i unplayed on backend.
func (v *env) unwatch(backend, user string, i int) model.Observation {
	fb := v.backends[backend]
	fb.set(user, i, model.State{})
	o := fb.observe(user, i)
	o.EventAt = v.clock.now()
	return o
}

// progress sets item i's position on backend, leaving the watched flag.
func (v *env) progress(backend, user string, i int, p time.Duration) model.Observation {
	fb := v.backends[backend]
	s := fb.get(user, i)
	s.Progress = p
	fb.set(user, i, s)
	o := fb.observe(user, i)
	o.HasWatched = false
	o.EventAt = v.clock.now()
	return o
}
