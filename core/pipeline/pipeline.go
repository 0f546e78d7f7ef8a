package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/core/engine"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/plugins"
)

// Hooks let the daemon observe the pipeline (metrics). Nil fields are skipped.
type Hooks struct {
	// Delivery is called with each delivery's outcome.
	Delivery func(backend, status string)
	// Push is called after each drain of a backend's outbox.
	Push func(backend string, res engine.DrainResult)
	// Refreshed is called after each Refresh rebuilt the directory: new
	// accounts may have mapped new (user, backend) pairs.
	Refreshed func()
}

func (h Hooks) delivery(backend, status string) {
	if h.Delivery != nil {
		h.Delivery(backend, status)
	}
}

func (h Hooks) push(backend string, res engine.DrainResult) {
	if h.Push != nil && (res.Written+res.Failed+res.Retried+res.Dropped > 0 || res.Err != nil) {
		h.Push(backend, res)
	}
}

// Options configure a Pipeline.
type Options struct {
	Store    *store.Store
	Engine   *engine.Engine
	Backends []*Backend
	// Directory maps users to accounts; the engine must have been built
	// with its AccountID as Config.AccountOf.
	Directory *Directory
	Logger    zerolog.Logger
	Hooks     Hooks
	// RefreshEvery is how often backends are checked and their accounts
	// re-listed (default 5 min).
	RefreshEvery time.Duration
}

// Pipeline runs the flows over the configured backends.
type Pipeline struct {
	store    *store.Store
	eng      *engine.Engine
	backends map[string]*Backend
	names    []string
	dir      *Directory
	log      zerolog.Logger
	hooks    Hooks
	refresh  time.Duration

	inboxKick chan struct{}
	pushKick  map[string]chan struct{}

	mu       sync.Mutex
	accounts map[string][]plugins.Account // last good ListAccounts per backend

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds a pipeline; Start runs it.
func New(opts Options) *Pipeline {
	p := &Pipeline{store: opts.Store, eng: opts.Engine, backends: map[string]*Backend{}, dir: opts.Directory,
		log: opts.Logger.With().Str("component", "pipeline").Logger(), hooks: opts.Hooks, refresh: opts.RefreshEvery,
		inboxKick: make(chan struct{}, 1), pushKick: map[string]chan struct{}{}, accounts: map[string][]plugins.Account{}}
	if p.refresh <= 0 {
		p.refresh = 5 * time.Minute
	}
	for _, b := range opts.Backends {
		p.backends[b.Name] = b
		p.names = append(p.names, b.Name)
		if b.Export {
			p.pushKick[b.Name] = make(chan struct{}, 1)
		}
	}
	slices.Sort(p.names)
	return p
}

// Start checks every backend and lists its accounts, then starts the inbox
// processor, one push worker per exporting backend and the refresh loop.
// A backend that does not answer is retried by the refresh loop; it does
// not stop the others.
func (p *Pipeline) Start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.Refresh(ctx)
	p.wg.Go(func() { p.runInbox(ctx) })
	for name, kick := range p.pushKick {
		b := p.backends[name]
		p.wg.Go(func() { p.runPush(ctx, b, kick) })
	}
	p.wg.Go(func() { p.runRefresh(ctx) })
}

// Stop ends the flows and waits for them; what is queued stays queued.
func (p *Pipeline) Stop() {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
}

// KickInbox wakes the inbox processor: a delivery was committed.
func (p *Pipeline) KickInbox() {
	select {
	case p.inboxKick <- struct{}{}:
	default:
	}
}

func (p *Pipeline) runRefresh(ctx context.Context) {
	t := time.NewTicker(p.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.Refresh(ctx)
		}
	}
}

// Refresh checks every backend and re-lists its accounts, then rebuilds the
// directory. A backend that fails keeps its last good account list.
func (p *Pipeline) Refresh(ctx context.Context) {
	var wg sync.WaitGroup
	for _, name := range p.names {
		b := p.backends[name]
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			st := b.Check(cctx)
			if !st.Reachable {
				p.log.Warn().Str("backend", b.Name).Str("detail", st.Detail).Msg("backend not reachable")
			}
			accs, err := b.Client.ListAccounts(cctx)
			if err != nil {
				p.log.Warn().Err(err).Str("backend", b.Name).Msg("list accounts")
				return
			}
			p.mu.Lock()
			p.accounts[b.Name] = accs
			p.mu.Unlock()
		})
	}
	wg.Wait()
	p.mu.Lock()
	accounts := make(map[string][]plugins.Account, len(p.accounts))
	for k, v := range p.accounts {
		accounts[k] = v
	}
	p.mu.Unlock()
	p.dir.Rebuild(accounts)
	if p.hooks.Refreshed != nil {
		p.hooks.Refreshed()
	}
}

// Backend returns the named backend.
func (p *Pipeline) Backend(name string) (*Backend, bool) {
	b, ok := p.backends[name]
	return b, ok
}

// Backends returns every backend, sorted by name.
func (p *Pipeline) Backends() []*Backend {
	out := make([]*Backend, len(p.names))
	for i, n := range p.names {
		out[i] = p.backends[n]
	}
	return out
}

// Accounts returns the accounts a backend listed last.
func (p *Pipeline) Accounts(backend string) ([]plugins.Account, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.accounts[backend]
	return slices.Clone(a), ok
}

// Directory returns the account directory.
func (p *Pipeline) Directory() *Directory { return p.dir }

// Selection narrows an import or export run.
type Selection struct {
	Backends []string // names; empty: every backend that imports (or exports)
	User     string   // "" for every user
	Full     bool
	DryRun   bool
}

// ErrUnknownBackend is answered for a selection naming no configured backend.
var ErrUnknownBackend = errors.New("unknown backend")

// ErrUnknownUser is answered for a selection naming no known user.
var ErrUnknownUser = errors.New("unknown user")

func (p *Pipeline) selected(sel Selection, want func(*Backend) bool) ([]*Backend, error) {
	if users := p.dir.Users(); sel.User != "" && !slices.Contains(users, sel.User) {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownUser, sel.User, users)
	}
	var out []*Backend
	if len(sel.Backends) == 0 {
		for _, b := range p.Backends() {
			if want(b) {
				out = append(out, b)
			}
		}
		return out, nil
	}
	for _, n := range sel.Backends {
		b, ok := p.backends[n]
		if !ok {
			return nil, fmt.Errorf("%w %q (configured: %v)", ErrUnknownBackend, n, p.names)
		}
		if want(b) {
			out = append(out, b)
		}
	}
	return out, nil
}

// Import runs an import over the selected backends that import, for every
// mapped account (or one user's). started gets the run id as soon as the run
// exists.
func (p *Pipeline) Import(ctx context.Context, sel Selection, started func(uint64)) (*store.Run, error) {
	bs, err := p.selected(sel, func(b *Backend) bool { return b.Import })
	if err != nil {
		return nil, err
	}
	var targets []engine.ImportTarget
	for _, b := range bs {
		t := engine.ImportTarget{Backend: b.Name, Source: engine.PluginSource{Importer: b.Client, Libraries: b.Libraries}}
		for _, m := range p.dir.Mappings() {
			if m.Backend == b.Name && (sel.User == "" || m.User == sel.User) {
				t.Accounts = append(t.Accounts, engine.AccountRef{User: m.User, Account: m.AccountID})
			}
		}
		targets = append(targets, t)
	}
	run, err := p.eng.Import(ctx, targets, engine.ImportOptions{Full: sel.Full, DryRun: sel.DryRun, User: sel.User, Started: started})
	if err == nil && !sel.DryRun {
		p.KickPush() // the import may have queued writes: push them now
	}
	return run, err
}

// Export runs an export to the selected backends that export. A full export
// first re-reads them (a full import) so the bases it compares with are
// fresh.
func (p *Pipeline) Export(ctx context.Context, sel Selection, started func(uint64)) (*store.Run, error) {
	bs, err := p.selected(sel, func(b *Backend) bool { return b.Export })
	if err != nil {
		return nil, err
	}
	if sel.Full {
		var names []string
		for _, b := range bs {
			if b.Import {
				names = append(names, b.Name)
			}
		}
		if len(names) > 0 {
			if _, err := p.Import(ctx, Selection{Backends: names, User: sel.User, Full: true, DryRun: sel.DryRun}, nil); err != nil {
				return nil, fmt.Errorf("pipeline: full export: re-read backends: %w", err)
			}
		}
	}
	writers := map[string]engine.Writer{}
	for _, b := range bs {
		writers[b.Name] = p.writer(b)
	}
	return p.eng.Export(ctx, writers, engine.ExportOptions{User: sel.User, DryRun: sel.DryRun, Started: started})
}
