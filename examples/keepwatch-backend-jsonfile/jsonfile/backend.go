package jsonfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/plugins"
)

// Type is the backend type: configurations say `type: jsonfile` and the
// executable is keepwatch-backend-jsonfile.
const Type = "jsonfile"

// Version is this plugin's version.
const Version = "1.0.0"

// DefaultPageSize is how many observations an import page holds unless the
// host asks for fewer. Large enough that per-message costs of the plugin
// wire vanish against decoding the items; small enough that a page stays a
// few hundred kilobytes.
const DefaultPageSize = 1000

// Backend serves one library file.
type Backend struct {
	log zerolog.Logger

	mu       sync.RWMutex // guards cfg; held for writing by Apply while it rewrites the file
	path     string
	pageSize int
}

var (
	_ plugins.Backend       = (*Backend)(nil)
	_ plugins.WebhookParser = (*Backend)(nil)
	_ plugins.Importer      = (*Backend)(nil)
	_ plugins.Exporter      = (*Backend)(nil)
	_ plugins.Resolver      = (*Backend)(nil)
)

// New is the plugins.Factory of the backend.
func New(env plugins.Env) plugins.Backend {
	return &Backend{log: env.Logger.With().Str("component", "jsonfile").Logger()}
}

func (b *Backend) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{
		Type:        Type,
		Version:     Version,
		DisplayName: "JSON file",
		Summary:     "A library and its play state kept in one JSON file (example plugin).",
	}, nil
}

// Configure takes url: file:///path/to/library.json and the option
// page_size. It does not open the file: CheckHealth does.
func (b *Backend) Configure(_ context.Context, cfg plugins.Config) error {
	const fix = "write it as file:///absolute/path/library.json"
	if cfg.URL == "" {
		return plugins.InvalidConfig("url", "", "is empty: "+fix)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return plugins.InvalidConfig("url", cfg.URL, "is not a URL: "+fix)
	}
	if u.Scheme != "file" {
		return plugins.InvalidConfig("url", cfg.URL, fmt.Sprintf("scheme %q is not file: %s", u.Scheme, fix))
	}
	if u.Path == "" || u.Path[0] != '/' {
		return plugins.InvalidConfig("url", cfg.URL, "has no absolute path: "+fix)
	}
	pageSize := DefaultPageSize
	if v, ok := cfg.Options["page_size"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100_000 {
			return plugins.InvalidConfig("options.page_size", v, "must be a whole number from 1 to 100000")
		}
		pageSize = n
	}
	b.mu.Lock()
	b.path, b.pageSize = u.Path, pageSize
	b.mu.Unlock()
	b.log.Info().Str("path", u.Path).Int("page_size", pageSize).Msg("configured")
	return nil
}

func (b *Backend) file() (string, int, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.path == "" {
		return "", 0, plugins.ErrNotConfigured
	}
	return b.path, b.pageSize, nil
}

func (b *Backend) CheckHealth(context.Context) (plugins.Health, error) {
	path, _, err := b.file()
	if err != nil {
		return plugins.Health{}, err
	}
	h, err := readHeader(path)
	if err != nil {
		return plugins.Health{Reachable: false, Detail: err.Error()}, nil
	}
	return plugins.Health{Reachable: true, ServerID: h.ServerID, ServerName: h.ServerName, ServerVersion: Version}, nil
}

func (b *Backend) ListAccounts(context.Context) ([]plugins.Account, error) {
	path, _, err := b.file()
	if err != nil {
		return nil, err
	}
	h, err := readHeader(path)
	if err != nil {
		return nil, fmt.Errorf("jsonfile: list accounts: %w", unavailable(err))
	}
	out := make([]plugins.Account, len(h.Accounts))
	for i, a := range h.Accounts {
		out[i] = plugins.Account{ID: a.ID, Name: a.Name, Admin: a.Admin}
	}
	return out, nil
}

// unavailable marks a missing file as the server being down: the call may
// work later.
func unavailable(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", plugins.ErrUnavailable, err)
	}
	return err
}

// observation builds what the file says about it for one account.
func observation(h *header, it *item, accountID string) plugins.Observation {
	o := plugins.Observation{
		AccountID: accountID,
		ItemID:    it.ID,
		LibraryID: it.Library,
		Kind:      plugins.ItemKind(it.Kind),
		Title:     it.Title,
		Year:      it.Year,
		GUIDs:     it.GUIDs,
		Duration:  time.Duration(it.DurationMS) * time.Millisecond,
		Season:    it.Season,
		Episode:   it.Episode,
		State:     plugins.State{WatchedKnown: true, ProgressKnown: true},
	}
	for _, a := range h.Accounts {
		if a.ID == accountID {
			o.AccountName = a.Name
			break
		}
	}
	for _, l := range h.Libraries {
		if l.ID == it.Library {
			o.LibraryName = l.Name
			break
		}
	}
	if it.Show != nil {
		o.ShowID, o.ShowTitle, o.ShowGUIDs = it.Show.ID, it.Show.Title, it.Show.GUIDs
	}
	if p := it.Plays[accountID]; p != nil {
		o.State.Watched = p.Watched
		o.State.PlayedAt = p.PlayedAt
		o.State.PlayCount = p.PlayCount
		o.State.Progress = time.Duration(p.PositionMS) * time.Millisecond
		o.State.Playing = p.Playing
	}
	return o
}

func wanted(f plugins.LibraryFilter, h *header, libraryID string) bool {
	name := ""
	for _, l := range h.Libraries {
		if l.ID == libraryID {
			name = l.Name
		}
	}
	match := func(list []string) bool {
		return slices.Contains(list, libraryID) || (name != "" && slices.Contains(list, name))
	}
	if match(f.Exclude) {
		return false
	}
	return len(f.Include) == 0 || match(f.Include)
}

// Import decodes the file as a stream and emits pages of observations.
// Delta imports (Since set) keep items whose play state changed after Since.
func (b *Backend) Import(ctx context.Context, req plugins.ImportRequest, emit func([]plugins.Observation) error) error {
	path, pageSize, err := b.file()
	if err != nil {
		return err
	}
	if req.PageSize > 0 && req.PageSize < pageSize {
		pageSize = req.PageSize
	}
	var h *header
	page := make([]plugins.Observation, 0, pageSize)
	err = scan(path,
		func(hd *header) error {
			h = hd
			for _, a := range h.Accounts {
				if a.ID == req.AccountID {
					return nil
				}
			}
			return fmt.Errorf("jsonfile: import: no account %q in %s", req.AccountID, path)
		},
		func(it *item) error {
			if !wanted(req.Libraries, h, it.Library) {
				return nil
			}
			if !req.Since.IsZero() {
				p := it.Plays[req.AccountID]
				if p == nil || !p.UpdatedAt.After(req.Since) {
					return nil
				}
			}
			page = append(page, observation(h, it, req.AccountID))
			if len(page) < pageSize {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := emit(page); err != nil {
				return err
			}
			page = page[:0]
			return nil
		})
	if err != nil {
		return unavailable(err)
	}
	if len(page) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		return emit(page)
	}
	return nil
}

// Apply rewrites the file once for the whole batch. A write that sets what
// is already there changes nothing, not even updated_at.
func (b *Backend) Apply(ctx context.Context, writes []plugins.Write) ([]plugins.WriteOutcome, error) {
	path, _, err := b.file()
	if err != nil {
		return nil, err
	}
	if len(writes) == 0 {
		return []plugins.WriteOutcome{}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	lib, err := load(path)
	if err != nil {
		return nil, fmt.Errorf("jsonfile: apply: %w", unavailable(err))
	}
	byID := make(map[string]*item, len(lib.Items))
	for i := range lib.Items {
		byID[lib.Items[i].ID] = &lib.Items[i]
	}
	accounts := map[string]bool{}
	for _, a := range lib.Accounts {
		accounts[a.ID] = true
	}
	now := time.Now().UTC().Truncate(time.Second)
	out := make([]plugins.WriteOutcome, len(writes))
	changed := false
	for i, w := range writes {
		it, ok := byID[w.ItemID]
		switch {
		case !accounts[w.AccountID]:
			out[i] = plugins.Failed(true, fmt.Sprintf("no account %q", w.AccountID))
			continue
		case !ok:
			out[i] = plugins.Failed(true, fmt.Sprintf("no item %q", w.ItemID))
			continue
		}
		if it.Plays == nil {
			it.Plays = map[string]*play{}
		}
		p := it.Plays[w.AccountID]
		if p == nil {
			p = &play{}
			it.Plays[w.AccountID] = p
		}
		before := *p
		switch w.Kind {
		case plugins.WriteWatched:
			if !p.Watched {
				p.PlayCount++
			}
			p.Watched, p.PositionMS = true, 0
			if !w.PlayedAt.IsZero() {
				p.PlayedAt = w.PlayedAt.UTC()
			} else if p.PlayedAt.IsZero() {
				p.PlayedAt = now
			}
		case plugins.WriteUnwatched:
			p.Watched, p.PlayedAt, p.PlayCount, p.PositionMS = false, time.Time{}, 0, 0
		case plugins.WriteProgress:
			if p.Playing {
				out[i] = plugins.SkippedPlaying()
				continue
			}
			p.PositionMS = w.Progress.Milliseconds()
		default:
			out[i] = plugins.Failed(true, fmt.Sprintf("unknown write kind %q", w.Kind))
			continue
		}
		if *p != before {
			p.UpdatedAt = now
			changed = true
		}
		out[i] = plugins.Succeeded()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if changed {
		if err := save(path, lib); err != nil {
			return nil, fmt.Errorf("jsonfile: apply: write %s: %w", path, err)
		}
	}
	return out, nil
}

// Resolve finds items by their own GUIDs, then episodes by show GUID with
// season and episode numbers.
func (b *Backend) Resolve(_ context.Context, req plugins.ResolveRequest) ([]plugins.Resolution, error) {
	path, _, err := b.file()
	if err != nil {
		return nil, err
	}
	type episodeKey struct {
		show            string
		season, episode int
	}
	byGUID := map[string]plugins.Resolution{}
	byEpisode := map[episodeKey]plugins.Resolution{}
	var h *header
	err = scan(path, func(hd *header) error { h = hd; return nil }, func(it *item) error {
		o := observation(h, it, "")
		r := plugins.Resolution{ItemID: it.ID, LibraryID: o.LibraryID, LibraryName: o.LibraryName}
		for _, g := range it.GUIDs {
			byGUID[g] = r
		}
		if it.Show != nil {
			for _, g := range it.Show.GUIDs {
				byEpisode[episodeKey{g, it.Season, it.Episode}] = r
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("jsonfile: resolve: %w", unavailable(err))
	}
	out := make([]plugins.Resolution, len(req.Queries))
	for i, q := range req.Queries {
		for _, g := range q.GUIDs {
			if r, ok := byGUID[g]; ok {
				out[i] = r
				break
			}
		}
		if out[i].Found() || q.Kind != plugins.KindEpisode {
			continue
		}
		for _, g := range q.ShowGUIDs {
			if r, ok := byEpisode[episodeKey{g, q.Season, q.Episode}]; ok {
				out[i] = r
				break
			}
		}
	}
	return out, nil
}
