package mbbackend

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/backends/internal/httpx"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/plugins"
)

// DefaultPageSize is the page size of imports and library sweeps unless configured.
const DefaultPageSize = 1000

// Dialect is what a server package tells the shared backend about itself.
type Dialect struct {
	// Type is the backend type ("jellyfin"); it prefixes errors.
	Type    string
	Flavor  client.Flavor
	Version string
	// DisplayName and Summary are what Describe shows people.
	DisplayName, Summary string
	// Options parses the server's own options (those named in OptionNames) into the
	// client's options, answering a *plugins.ConfigError for a bad value.
	Options     func(opts map[string]string, co *client.Options) error
	OptionNames []string
}

var commonOptions = []string{"page_size", "concurrency", "retries", "timeout"}

// Backend is the shared Jellyfin/Emby backend. Its zero value is not usable: build it with
// New.
type Backend struct {
	d   Dialect
	log zerolog.Logger

	mu   sync.RWMutex
	conf *conf
}

// conf is one accepted configuration; it is replaced whole, never changed.
type conf struct {
	c           *client.Client
	pageSize    int
	concurrency int
}

var (
	_ plugins.Backend  = (*Backend)(nil)
	_ plugins.Importer = (*Backend)(nil)
	_ plugins.Exporter = (*Backend)(nil)
	_ plugins.Resolver = (*Backend)(nil)
)

// New builds an unconfigured backend.
func New(env plugins.Env, d Dialect) *Backend {
	return &Backend{d: d, log: env.Logger.With().Str("component", d.Type).Logger()}
}

// Describe says what the backend is, from its Dialect.
func (b *Backend) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{Type: b.d.Type, Version: b.d.Version, DisplayName: b.d.DisplayName, Summary: b.d.Summary}, nil
}

// Logger is the backend's logger (with its component field).
func (b *Backend) Logger() zerolog.Logger { return b.log }

// Configure checks and takes a configuration: url, token and the options listed in the
// package documentation and the server's Dialect. It does not contact the server.
func (b *Backend) Configure(_ context.Context, cfg plugins.Config) error {
	const urlFix = "give the server's address, e.g. http://192.168.1.10:8096"
	if strings.TrimSpace(cfg.URL) == "" {
		return plugins.InvalidConfig("url", "", "is empty: "+urlFix)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return plugins.InvalidConfig("url", cfg.URL, "is not an absolute http(s) URL: "+urlFix)
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return plugins.InvalidConfig("token", "", "is empty: create an API key in the server's dashboard (API Keys) and set it as the token")
	}
	known := append(slices.Clone(commonOptions), b.d.OptionNames...)
	for k, v := range cfg.Options {
		if !slices.Contains(known, k) {
			return plugins.InvalidConfig("options."+k, v, "is not an option of "+b.d.Type+"; known options: "+strings.Join(known, ", "))
		}
	}
	pageSize, err := intOption(cfg.Options, "page_size", DefaultPageSize, 1, 10000)
	if err != nil {
		return err
	}
	concurrency, err := intOption(cfg.Options, "concurrency", 4, 1, 32)
	if err != nil {
		return err
	}
	retries, err := intOption(cfg.Options, "retries", 4, 0, 10)
	if err != nil {
		return err
	}
	timeout := 30 * time.Second
	if v, ok := cfg.Options["timeout"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 10*time.Minute {
			return plugins.InvalidConfig("options.timeout", v, "must be a duration from 1s to 10m, like 30s")
		}
		timeout = d
	}
	if retries == 0 {
		retries = -1 // httpx: negative disables, zero is its default
	}
	co := client.Options{
		Flavor: b.d.Flavor, BaseURL: cfg.URL, Token: cfg.Token,
		DeviceID: "keepwatch-" + cfg.Name, Version: b.d.Version,
		HTTP: httpx.Options{Backend: cfg.Name, HTTP: &http.Client{Timeout: timeout}, Concurrency: concurrency, Retries: retries, Logger: b.log},
	}
	if b.d.Options != nil {
		if err := b.d.Options(cfg.Options, &co); err != nil {
			return err
		}
	}
	b.mu.Lock()
	b.conf = &conf{c: client.New(co), pageSize: pageSize, concurrency: concurrency}
	b.mu.Unlock()
	b.log.Info().Str("url", httpx.Redact(cfg.URL)).Int("page_size", pageSize).Int("concurrency", concurrency).Msg("configured")
	return nil
}

func intOption(opts map[string]string, name string, def, lo, hi int) (int, error) {
	v, ok := opts[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		return 0, plugins.InvalidConfig("options."+name, v, fmt.Sprintf("must be a whole number from %d to %d (default %d)", lo, hi, def))
	}
	return n, nil
}

func (b *Backend) current() (*conf, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.conf == nil {
		return nil, plugins.ErrNotConfigured
	}
	return b.conf, nil
}

// Client is the configured client (for tests and the server packages).
func (b *Backend) Client() (*client.Client, error) {
	cf, err := b.current()
	if err != nil {
		return nil, err
	}
	return cf.c, nil
}

// CheckHealth reads /System/Info: the server id webhooks are matched against.
func (b *Backend) CheckHealth(ctx context.Context) (plugins.Health, error) {
	cf, err := b.current()
	if err != nil {
		return plugins.Health{}, err
	}
	info, err := cf.c.SystemInfo(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return plugins.Health{}, ctx.Err()
		}
		return plugins.Health{Reachable: false, Detail: err.Error()}, nil
	}
	return plugins.Health{Reachable: true, ServerID: info.ID, ServerName: info.ServerName, ServerVersion: info.Version}, nil
}

// ListAccounts lists the server's users (the token needs administrator rights).
func (b *Backend) ListAccounts(ctx context.Context) ([]plugins.Account, error) {
	cf, err := b.current()
	if err != nil {
		return nil, err
	}
	users, err := cf.c.Users(ctx)
	if err != nil {
		return nil, b.errorf("list users", err)
	}
	out := make([]plugins.Account, 0, len(users))
	for _, u := range users {
		if u.ID == "" || u.Name == "" {
			continue
		}
		out = append(out, plugins.Account{ID: u.ID, Name: u.Name, Admin: u.Policy.IsAdministrator})
	}
	return out, nil
}

// errorf wraps err with the backend type and what was being done.
func (b *Backend) errorf(doing string, err error) error {
	return fmt.Errorf("%s: %s: %w", b.d.Type, doing, err)
}
