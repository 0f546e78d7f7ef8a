package plex

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/plugins"
)

// Type is the backend type configurations name.
const Type = "plex"

// Version is this backend's version.
const Version = "1.0.0"

// Backend is one configured Plex Media Server and the plex.tv account that owns it.
type Backend struct {
	log zerolog.Logger

	// minBackoff overrides httpx's first retry wait (tests only).
	minBackoff time.Duration

	mu sync.RWMutex
	st *state
}

// state is everything one accepted configuration owns. Configure builds a new
// one; a refused configuration leaves the previous in place.
type state struct {
	s     settings
	log   zerolog.Logger
	c     *client
	dir   *directory
	shows *showCache
	index *guidIndex
}

var (
	_ plugins.Backend       = (*Backend)(nil)
	_ plugins.WebhookParser = (*Backend)(nil)
	_ plugins.Importer      = (*Backend)(nil)
	_ plugins.Exporter      = (*Backend)(nil)
	_ plugins.Resolver      = (*Backend)(nil)
)

// New is the plugins.Factory of the Plex backend.
func New(env plugins.Env) plugins.Backend {
	return &Backend{log: env.Logger.With().Str("component", "plex").Logger()}
}

func (b *Backend) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{
		Type:        Type,
		Version:     Version,
		DisplayName: "Plex Media Server",
		Summary:     "Plex Media Server with its Plex Home, managed and shared users (tokens from plex.tv).",
	}, nil
}

// Configure validates the configuration; it does not contact the server.
func (b *Backend) Configure(_ context.Context, cfg plugins.Config) error {
	s, err := parseConfig(cfg)
	if err != nil {
		return err
	}
	log := b.log.With().Str("backend", cfg.Name).Logger()
	c := newClient(s, log, b.minBackoff)
	st := &state{s: s, log: log, c: c, dir: newDirectory(c), shows: newShowCache(showCacheSize, showCacheTTL)}
	st.index = newGUIDIndex(st)
	b.mu.Lock()
	b.st = st
	b.mu.Unlock()
	log.Info().Str("url", s.url).Int("page_size", s.pageSize).Int("concurrency", s.concurrent).Str("plextv_url", s.plexTV).Msg("configured")
	return nil
}

func (b *Backend) state() (*state, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.st == nil {
		return nil, plugins.ErrNotConfigured
	}
	return b.st, nil
}

// CheckHealth reads GET / with the owner's token: it proves the server answers
// and the token is accepted, and gives the id webhooks carry as Server.uuid.
func (b *Backend) CheckHealth(ctx context.Context) (plugins.Health, error) {
	st, err := b.state()
	if err != nil {
		return plugins.Health{}, err
	}
	o := account{kind: kindOwner}
	var mc container
	err = st.dir.withToken(ctx, o, func(tok string) error { return st.c.get(ctx, tok, "/", nil, &mc) })
	if err != nil {
		if ctx.Err() != nil {
			return plugins.Health{}, ctx.Err()
		}
		return plugins.Health{Reachable: false, Detail: err.Error()}, nil
	}
	m := mc.MediaContainer
	if m.MachineIdentifier == "" {
		return plugins.Health{Reachable: false, Detail: "GET / answered no machineIdentifier: is this a Plex Media Server?"}, nil
	}
	return plugins.Health{Reachable: true, ServerID: m.MachineIdentifier, ServerName: m.FriendlyName, ServerVersion: m.Version}, nil
}

// ListAccounts lists the owner (Admin), Plex Home and managed users, and the
// users the server is shared with, by plex.tv id.
func (b *Backend) ListAccounts(ctx context.Context) ([]plugins.Account, error) {
	st, err := b.state()
	if err != nil {
		return nil, err
	}
	as, err := st.dir.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("plex: list accounts: %w", err)
	}
	return pluginAccounts(as), nil
}
