package memback

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/plugins"
)

// Type is the backend type memback describes itself as.
const Type = "memory"

// Version is memback's plugin version.
const Version = "0.1.0"

// Options understood by Configure (all optional).
const (
	OptItems    = "items"     // number of items (default 10)
	OptAccounts = "accounts"  // number of accounts (default 2)
	OptPageSize = "page_size" // observations per emitted page (default 100)
)

// Base is the play date of item 0; item i was played i hours later.
var Base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Backend is the in-memory backend.
type Backend struct {
	log zerolog.Logger

	mu       sync.Mutex
	cfg      config
	items    []item
	byGUID   map[string]int
	state    map[string]map[string]plugins.State // account id → item id → state
	accounts []plugins.Account
}

type config struct {
	name     string
	items    int
	accounts int
	pageSize int
}

type item struct {
	id, title string
	kind      plugins.ItemKind
	year      int
	guids     []string
	showGUIDs []string
	season    int
	episode   int
	duration  time.Duration
}

var _ plugins.Client = (*Backend)(nil)

// New is memback's plugins.Factory.
func New(env plugins.Env) plugins.Backend {
	return &Backend{log: env.Logger.With().Str("component", "memback").Logger()}
}

func (b *Backend) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{
		Type: Type, Version: Version, DisplayName: "In-memory test backend",
		Summary: "Generated library held in memory, for the plugins packages' tests.",
	}, nil
}

func (b *Backend) Configure(_ context.Context, c plugins.Config) error {
	if c.URL == "" {
		return plugins.InvalidConfig("url", "", "is empty: set url to mem://<name>")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return plugins.InvalidConfig("url", c.URL, "is not a URL: write it as mem://<name>")
	}
	if u.Scheme != "mem" {
		return plugins.InvalidConfig("url", c.URL, "scheme must be mem: write it as mem://<name>")
	}
	cfg := config{name: u.Host, items: 10, accounts: 2, pageSize: 100}
	for key, dst := range map[string]*int{OptItems: &cfg.items, OptAccounts: &cfg.accounts, OptPageSize: &cfg.pageSize} {
		v, ok := c.Options[key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return plugins.InvalidConfig("options."+key, v, "must be a whole number of at least 1")
		}
		*dst = n
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cfg = cfg
	b.generate()
	b.log.Info().Str("backend", c.Name).Int("items", cfg.items).Msg("configured")
	return nil
}

// generate builds the library; b.mu is held.
func (b *Backend) generate() {
	b.items = make([]item, b.cfg.items)
	b.byGUID = make(map[string]int)
	for i := range b.items {
		it := item{id: "i" + strconv.Itoa(i), year: 2000 + i%20, duration: time.Duration(20+i%100) * time.Minute}
		if i%3 == 2 {
			it.kind = plugins.KindEpisode
			it.title = fmt.Sprintf("Episode %d", i)
			it.guids = []string{fmt.Sprintf("tvdb:%d", 900000+i)}
			it.showGUIDs = []string{fmt.Sprintf("tvdb:%d", 1000+i/30)}
			it.season, it.episode = 1+(i/10)%3, 1+i%10
		} else {
			it.kind = plugins.KindMovie
			it.title = fmt.Sprintf("Movie %d", i)
			it.guids = []string{fmt.Sprintf("imdb:tt%07d", i), fmt.Sprintf("tmdb:%d", 500000+i)}
		}
		for _, g := range it.guids {
			b.byGUID[g] = i
		}
		b.items[i] = it
	}
	b.accounts = make([]plugins.Account, b.cfg.accounts)
	b.state = make(map[string]map[string]plugins.State)
	for a := range b.accounts {
		id := "a" + strconv.Itoa(a+1)
		b.accounts[a] = plugins.Account{ID: id, Name: "user" + strconv.Itoa(a+1), Admin: a == 0}
		st := make(map[string]plugins.State)
		for i, it := range b.items {
			s := plugins.State{WatchedKnown: true, ProgressKnown: true}
			if (i+a)%4 == 0 {
				s.Watched, s.PlayedAt, s.PlayCount = true, Base.Add(time.Duration(i)*time.Hour), 1
			} else if (i+a)%5 == 1 {
				s.Progress = 90 * time.Second
			}
			st[it.id] = s
		}
		b.state[id] = st
	}
}

func (b *Backend) configured() error {
	if b.items == nil {
		return plugins.ErrNotConfigured
	}
	return nil
}

func (b *Backend) CheckHealth(ctx context.Context) (plugins.Health, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := plugins.Health{Reachable: true, ServerID: "mem-" + b.cfg.name, ServerName: b.cfg.name, ServerVersion: Version}
	// Detail shows whether the caller's deadline reached us, so that tests
	// can see it cross the wire.
	if dl, ok := ctx.Deadline(); ok {
		h.Detail = "deadline " + dl.UTC().Format(time.RFC3339)
	}
	return h, nil
}

func (b *Backend) ListAccounts(context.Context) ([]plugins.Account, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.configured(); err != nil {
		return nil, err
	}
	return append([]plugins.Account(nil), b.accounts...), nil
}

func (b *Backend) observation(accountID string, it item, s plugins.State) plugins.Observation {
	o := plugins.Observation{
		AccountID: accountID, ItemID: it.id, LibraryID: "1", LibraryName: "Movies",
		Kind: it.kind, Title: it.title, Year: it.year, GUIDs: it.guids, Duration: it.duration, State: s,
	}
	for _, a := range b.accounts {
		if a.ID == accountID {
			o.AccountName = a.Name
		}
	}
	if it.kind == plugins.KindEpisode {
		o.LibraryID, o.LibraryName = "2", "Shows"
		o.ShowID, o.ShowTitle, o.ShowGUIDs = "s"+it.showGUIDs[0][5:], "Show "+it.showGUIDs[0][5:], it.showGUIDs
		o.Season, o.Episode = it.season, it.episode
	}
	return o
}

// Import emits the account's items in library order. It takes a snapshot
// page by page under the lock and emits outside it, so that a slow consumer
// never holds up Apply.
func (b *Backend) Import(ctx context.Context, req plugins.ImportRequest, emit func([]plugins.Observation) error) error {
	b.mu.Lock()
	if err := b.configured(); err != nil {
		b.mu.Unlock()
		return err
	}
	if _, ok := b.state[req.AccountID]; !ok {
		b.mu.Unlock()
		return fmt.Errorf("memback: import: no account %q", req.AccountID)
	}
	n, pageSize := len(b.items), b.cfg.pageSize
	b.mu.Unlock()

	page := make([]plugins.Observation, 0, pageSize)
	for start := 0; start < n; start += pageSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		page = page[:0]
		b.mu.Lock()
		for i := start; i < min(start+pageSize, n); i++ {
			it := b.items[i]
			s := b.state[req.AccountID][it.id]
			if !req.Since.IsZero() && !s.PlayedAt.After(req.Since) && s.Progress == 0 {
				continue
			}
			if !libraryWanted(req.Libraries, it.kind) {
				continue
			}
			page = append(page, b.observation(req.AccountID, it, s))
		}
		b.mu.Unlock()
		if len(page) == 0 {
			continue
		}
		if err := emit(page); err != nil {
			return err
		}
	}
	return nil
}

func libraryWanted(f plugins.LibraryFilter, k plugins.ItemKind) bool {
	name := "Movies"
	if k == plugins.KindEpisode {
		name = "Shows"
	}
	for _, x := range f.Exclude {
		if x == name {
			return false
		}
	}
	if len(f.Include) == 0 {
		return true
	}
	for _, x := range f.Include {
		if x == name {
			return true
		}
	}
	return false
}

func (b *Backend) Apply(_ context.Context, writes []plugins.Write) ([]plugins.WriteOutcome, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.configured(); err != nil {
		return nil, err
	}
	out := make([]plugins.WriteOutcome, len(writes))
	for i, w := range writes {
		st, ok := b.state[w.AccountID]
		if !ok {
			out[i] = plugins.Failed(true, fmt.Sprintf("no account %q", w.AccountID))
			continue
		}
		s, ok := st[w.ItemID]
		if !ok {
			out[i] = plugins.Failed(true, fmt.Sprintf("no item %q", w.ItemID))
			continue
		}
		switch w.Kind {
		case plugins.WriteWatched:
			if !s.Watched {
				s.PlayCount++
			}
			s.Watched, s.PlayedAt, s.Progress = true, w.PlayedAt, 0
		case plugins.WriteUnwatched:
			s.Watched, s.PlayedAt, s.Progress, s.PlayCount = false, time.Time{}, 0, 0
		case plugins.WriteProgress:
			s.Progress = w.Progress
		default:
			out[i] = plugins.Failed(true, fmt.Sprintf("unknown write kind %q", w.Kind))
			continue
		}
		st[w.ItemID] = s
		out[i] = plugins.Succeeded()
	}
	return out, nil
}

func (b *Backend) Resolve(_ context.Context, req plugins.ResolveRequest) ([]plugins.Resolution, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.configured(); err != nil {
		return nil, err
	}
	out := make([]plugins.Resolution, len(req.Queries))
	for i, q := range req.Queries {
		for _, g := range q.GUIDs {
			if idx, ok := b.byGUID[g]; ok {
				it := b.items[idx]
				o := b.observation("", it, plugins.State{})
				out[i] = plugins.Resolution{ItemID: it.id, LibraryID: o.LibraryID, LibraryName: o.LibraryName}
				break
			}
		}
	}
	return out, nil
}

// webhook is memback's webhook body.
type webhook struct {
	Event      string `json:"event"`
	ServerID   string `json:"server_id"`
	AccountID  string `json:"account_id"`
	ItemID     string `json:"item_id"`
	PositionMS int64  `json:"position_ms"`
}

func (b *Backend) ParseWebhook(_ context.Context, req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	var w webhook
	if err := json.Unmarshal(req.Body, &w); err != nil {
		return plugins.WebhookResult{}, plugins.Reject("body is not a memback JSON event: %v", err)
	}
	res := plugins.WebhookResult{ServerID: w.ServerID, AccountID: w.AccountID, Event: w.Event}
	switch w.Event {
	case "":
		return plugins.WebhookResult{}, plugins.Reject("body has no event")
	case "test":
		res.Ignored = "test event"
		return res, nil
	case "panic":
		// Lets tests see that a backend panic fails one call, not the plugin.
		panic("memback: panic event")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.configured(); err != nil {
		return plugins.WebhookResult{}, err
	}
	var it *item
	for i := range b.items {
		if b.items[i].id == w.ItemID {
			it = &b.items[i]
		}
	}
	if it == nil {
		res.Ignored = fmt.Sprintf("unknown item %q", w.ItemID)
		return res, nil
	}
	s := plugins.State{EventAt: req.ReceivedAt}
	switch w.Event {
	case "watched":
		s.WatchedKnown, s.Watched, s.PlayedAt = true, true, req.ReceivedAt
	case "progress":
		s.ProgressKnown, s.Progress, s.Playing = true, time.Duration(w.PositionMS)*time.Millisecond, true
	default:
		res.Ignored = fmt.Sprintf("event %q carries no play state", w.Event)
		return res, nil
	}
	o := b.observation(w.AccountID, *it, s)
	o.Event = w.Event
	res.Observations = []plugins.Observation{o}
	return res, nil
}
