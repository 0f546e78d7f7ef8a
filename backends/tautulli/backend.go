package tautulli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/backends/internal/httpx"
	"github.com/keepwatch/keepwatch/plugins"
)

// Type is the backend type configurations name.
const Type = "tautulli"

// Version is this backend's version.
const Version = "1.0.0"

// DefaultPageSize is how many history rows one get_history call asks for
// unless options.page_size says otherwise.
const DefaultPageSize = 1000

// DefaultWatchedPercent is options.watched_percent unless set: the default
// of keepwatch's sync.watched_percent (DESIGN rule 6).
const DefaultWatchedPercent = 90

// maxPageSize bounds options.page_size: Tautulli builds each page in memory
// with SQLite and Python, and larger pages only slow its answer.
const maxPageSize = 10_000

// Backend reads one Tautulli server: its webhooks and its play history.
// It implements plugins.WebhookParser and plugins.Importer, not Exporter
// (Tautulli has no way to set play state) nor Resolver (it only knows items
// that were played).
type Backend struct {
	log zerolog.Logger

	mu  sync.RWMutex
	cfg *settings // nil until Configure succeeds
}

// settings is one accepted configuration.
type settings struct {
	name     string
	log      zerolog.Logger
	api      *client
	pageSize int
	// watchedPercent decides a history row that lacks watched_status.
	watchedPercent int
}

var (
	_ plugins.Backend       = (*Backend)(nil)
	_ plugins.WebhookParser = (*Backend)(nil)
	_ plugins.Importer      = (*Backend)(nil)
)

// New is the plugins.Factory of the Tautulli backend.
func New(env plugins.Env) plugins.Backend {
	return &Backend{log: env.Logger.With().Str("component", "tautulli").Logger()}
}

func (b *Backend) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{
		Type:        Type,
		Version:     Version,
		DisplayName: "Tautulli",
		Summary:     "Plex play history and webhooks through Tautulli (read-only: webhooks without Plex Pass, history import).",
	}, nil
}

// knownOptions are the options Configure takes; anything else is a typo.
var knownOptions = []string{"page_size", "watched_percent"}

// Configure takes the Tautulli base URL (with its HTTP root, if any; a
// trailing /api/v2 is tolerated), the API key as token, options.page_size
// and options.watched_percent.
func (b *Backend) Configure(_ context.Context, cfg plugins.Config) error {
	endpoint, err := apiEndpoint(cfg.URL)
	if err != nil {
		return err
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return plugins.InvalidConfig("token", "", "is empty: set it to Tautulli's API key (Settings > Web Interface > API key)")
	}
	if strings.ContainsAny(cfg.Token, " \t\r\n") {
		return plugins.InvalidConfig("token", "", "contains white space: copy Tautulli's API key exactly")
	}
	for k := range cfg.Options {
		if !slices.Contains(knownOptions, k) {
			return plugins.InvalidConfig("options."+k, cfg.Options[k], "is not an option of the tautulli backend (known: "+strings.Join(knownOptions, ", ")+")")
		}
	}
	pageSize := DefaultPageSize
	if v, ok := cfg.Options["page_size"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > maxPageSize {
			return plugins.InvalidConfig("options.page_size", v, fmt.Sprintf("must be a whole number from 1 to %d (history rows per get_history call; default %d)", maxPageSize, DefaultPageSize))
		}
		pageSize = n
	}
	watchedPercent := DefaultWatchedPercent
	if v, ok := cfg.Options["watched_percent"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 100 {
			return plugins.InvalidConfig("options.watched_percent", v, "must be a whole number from 1 to 100 (the percent of an item at which a history row without watched_status counts as watched; default: sync.watched_percent)")
		}
		watchedPercent = n
	}
	s := &settings{
		name:     cfg.Name,
		log:      b.log,
		api:      &client{endpoint: endpoint, apiKey: cfg.Token, http: httpx.New(httpx.Options{Backend: cfg.Name, Logger: b.log})},
		pageSize: pageSize,

		watchedPercent: watchedPercent,
	}
	b.mu.Lock()
	b.cfg = s
	b.mu.Unlock()
	b.log.Info().Str("url", httpx.Redact(endpoint)).Int("page_size", pageSize).Int("watched_percent", watchedPercent).Msg("configured")
	return nil
}

// apiEndpoint checks the configured URL and answers {base}/api/v2.
func apiEndpoint(raw string) (string, error) {
	const fix = "write Tautulli's address as http(s)://host:8181, plus its HTTP root if it has one"
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", plugins.InvalidConfig("url", "", "is empty: "+fix)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", plugins.InvalidConfig("url", raw, "is not a URL: "+fix)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", plugins.InvalidConfig("url", raw, fmt.Sprintf("scheme %q is not http or https: %s", u.Scheme, fix))
	}
	if u.Host == "" {
		return "", plugins.InvalidConfig("url", raw, "has no host: "+fix)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", plugins.InvalidConfig("url", httpx.Redact(raw), "has a query or fragment: "+fix+" (the API key goes in token)")
	}
	path := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v2")
	u.Path, u.RawPath = strings.TrimSuffix(path, "/")+"/api/v2", ""
	return u.String(), nil
}

func (b *Backend) settings() (*settings, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.cfg == nil {
		return nil, plugins.ErrNotConfigured
	}
	return b.cfg, nil
}

// CheckHealth asks Tautulli for the Plex server it watches
// (get_server_info): the server id is Plex's machineIdentifier, so
// webhook.match_server compares it with what the Plex backend reports, and
// the version is Plex's. Tautulli's own version goes in Detail.
func (b *Backend) CheckHealth(ctx context.Context) (plugins.Health, error) {
	s, err := b.settings()
	if err != nil {
		return plugins.Health{}, err
	}
	var info serverInfo
	if err := s.api.call(ctx, "get_server_info", nil, &info); err != nil {
		if ctx.Err() != nil {
			return plugins.Health{}, ctx.Err()
		}
		return plugins.Health{Reachable: false, Detail: healthDetail(err)}, nil
	}
	h := plugins.Health{Reachable: true, ServerID: text(info.Identifier), ServerName: text(info.Name), ServerVersion: text(info.Version)}
	var ti tautulliInfo
	tv := "Tautulli"
	if err := s.api.call(ctx, "get_tautulli_info", nil, &ti); err == nil && text(ti.Version) != "" {
		tv += " " + text(ti.Version)
	}
	if h.ServerID == "" {
		h.Detail = tv + " is not connected to a Plex server yet (get_server_info has no pms_identifier): finish Tautulli's setup"
	} else {
		h.Detail = "Plex Media Server seen through " + tv
	}
	return h, nil
}

func healthDetail(err error) string {
	var ae *httpx.AuthError
	if errors.As(err, &ae) {
		return "Tautulli refused the API key (" + err.Error() + "): set token to the key under Settings > Web Interface > API"
	}
	return err.Error()
}

// ListAccounts lists Tautulli's users (get_users): their ids are Plex
// account ids. The "Local" pseudo-user (user_id 0, plays by no Plex
// account) is left out: it has nothing to map to.
func (b *Backend) ListAccounts(ctx context.Context) ([]plugins.Account, error) {
	s, err := b.settings()
	if err != nil {
		return nil, err
	}
	rows, err := s.listUsers(ctx)
	if err != nil {
		return nil, err
	}
	var out []plugins.Account
	for _, u := range rows {
		if !u.UserID.Valid || u.UserID.V == 0 {
			continue
		}
		name := text(u.Username)
		if name == "" {
			name = text(u.FriendlyName)
		}
		if name == "" {
			name = u.UserID.String()
		}
		out = append(out, plugins.Account{ID: u.UserID.String(), Name: name, Admin: u.IsAdmin.V == 1})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Admin && !out[j].Admin })
	return out, nil
}

func (s *settings) listUsers(ctx context.Context) ([]userRow, error) {
	var rows []userRow
	if err := s.api.call(ctx, "get_users", nil, &rows); err != nil {
		return nil, fmt.Errorf("tautulli: list users: %w", unavailable(err))
	}
	return rows, nil
}

// unavailable marks failures that may pass (Tautulli down, overloaded) so
// the host retries later; a refused key or a bad answer stays as it is.
func unavailable(err error) error {
	var ae *httpx.AuthError
	var se *httpx.StatusError
	var api *apiError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &ae), errors.As(err, &api):
		return err
	case errors.As(err, &se) && se.Permanent():
		return err
	}
	return fmt.Errorf("%w: %w", plugins.ErrUnavailable, err)
}
