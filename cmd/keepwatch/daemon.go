package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/api"
	"github.com/keepwatch/keepwatch/backends/tautulli"
	"github.com/keepwatch/keepwatch/config"
	"github.com/keepwatch/keepwatch/core/engine"
	"github.com/keepwatch/keepwatch/core/pipeline"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/host"
	"github.com/keepwatch/keepwatch/tasks"
)

// pluginStartWait bounds how long serve waits for the plugins' first start
// before it lists accounts; a plugin still starting is picked up by the
// pipeline's refresh loop.
const pluginStartWait = 30 * time.Second

// engineConfig maps the configuration onto the engine's.
func engineConfig(cfg *config.Config, dir *pipeline.Directory) engine.Config {
	ec := engine.DefaultConfig()
	ec.MinProgress = cfg.Sync.MinProgress
	ec.WatchedPercent = cfg.Sync.WatchedPercent
	ec.RewatchResets = cfg.Sync.RewatchResets
	ec.MatchTitleYear = cfg.Match.TitleYear
	ec.Guard = engine.GuardConfig{MaxFraction: cfg.Sync.Guard.MaxFraction, MinItems: cfg.Sync.Guard.MinItems}
	for _, b := range cfg.Backends {
		// Every built-in backend that exports can resolve items by GUID;
		// an external plugin that cannot answers ErrUnsupported and the
		// write fails permanently, journaled.
		ec.Backends[b.Name] = engine.BackendPolicy{Import: b.Import, Export: b.Export, Resolve: b.Export}
	}
	ec.AccountOf = dir.AccountID
	return ec
}

// directory builds the account directory from the configured users.
func directory(cfg *config.Config) *pipeline.Directory {
	users := make([]pipeline.UserSpec, len(cfg.Users.List))
	for i, u := range cfg.Users.List {
		users[i] = pipeline.UserSpec{Name: u.Name, Accounts: u.Accounts}
	}
	return pipeline.NewDirectory(users, cfg.Users.AutoMap)
}

// startBackends adds one supervised plugin per configured backend.
func startBackends(h *host.Host, cfg *config.Config) ([]*pipeline.Backend, error) {
	var out []*pipeline.Backend
	for _, b := range cfg.Backends {
		in, err := h.Add(plugins.Config{Name: b.Name, Type: b.Type, URL: b.URL, Token: b.Token.Value(), Options: pluginOptions(b, cfg.Sync)})
		if err != nil {
			return nil, err
		}
		out = append(out, &pipeline.Backend{Name: b.Name, Type: b.Type, Client: in, Import: b.Import, Export: b.Export,
			Libraries: plugins.LibraryFilter{Include: b.Libraries.Include, Exclude: b.Libraries.Exclude},
			Webhook: pipeline.WebhookFilter{MatchAccount: b.Webhook.MatchAccount, MatchServer: b.Webhook.MatchServer,
				AllowServers: b.Webhook.AllowServers, DenyServers: b.Webhook.DenyServers}})
	}
	return out, nil
}

// pluginOptions are the options a backend's plugin is configured with: the
// backend's own, and for Tautulli sync.watched_percent unless the backend
// sets its own: Tautulli decides by it the history rows that carry no
// watched_status (DESIGN rule 6), and the sync section reaches no plugin.
func pluginOptions(b config.Backend, s config.Sync) map[string]string {
	if b.Type != tautulli.Type {
		return b.Options
	}
	if _, set := b.Options["watched_percent"]; set {
		return b.Options
	}
	out := maps.Clone(b.Options)
	if out == nil {
		out = map[string]string{}
	}
	out["watched_percent"] = strconv.Itoa(s.WatchedPercent)
	return out
}

// waitPlugins waits, bounded, for every plugin's first start, logging the
// ones that did not make it.
func waitPlugins(ctx context.Context, h *host.Host, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, pluginStartWait)
	defer cancel()
	for _, st := range h.Statuses() {
		in, ok := h.Instance(st.Name)
		if !ok {
			continue
		}
		if err := in.WaitReady(ctx); err != nil {
			log.Warn().Err(err).Str("backend", st.Name).Msg("plugin not ready yet; the daemon goes on without it")
		}
	}
}

// issueTokens gives every backend a backend-wide webhook token and every
// mapped (user, backend) its own; existing tokens are kept.
func issueTokens(st *store.Store, p *pipeline.Pipeline) error {
	var pairs []api.TokenPair
	for _, b := range p.Backends() {
		pairs = append(pairs, api.TokenPair{User: api.AllUsers, Backend: b.Name})
	}
	for _, m := range p.Directory().Mappings() {
		pairs = append(pairs, api.TokenPair{User: m.User, Backend: m.Backend})
	}
	return api.EnsureTokens(st, pairs, time.Now())
}

// taskConfig maps the configuration's tasks block onto the scheduler's.
func taskConfig(t config.Tasks) tasks.Config {
	return tasks.Config{
		tasks.TaskImport:     {Schedule: t.Import.Schedule, Enabled: t.Import.Enabled},
		tasks.TaskImportFull: {Schedule: t.ImportFull.Schedule, Enabled: t.ImportFull.Enabled},
		tasks.TaskExport:     {Schedule: t.Export.Schedule, Enabled: t.Export.Enabled},
		tasks.TaskBackup:     {Schedule: t.Backup.Schedule, Enabled: t.Backup.Enabled, Keep: t.Backup.Keep},
		tasks.TaskPrune:      {Schedule: t.Prune.Schedule, Enabled: t.Prune.Enabled, KeepDays: t.Prune.KeepDays},
	}
}

// syncer adapts the pipeline to the scheduler's Syncer.
type syncer struct{ p *pipeline.Pipeline }

func selection(req tasks.Request) pipeline.Selection {
	return pipeline.Selection{Backends: req.Backends, User: req.User, Full: req.Full, DryRun: req.DryRun}
}

func (s syncer) Import(ctx context.Context, req tasks.Request, started func(uint64)) (*store.Run, error) {
	return s.p.Import(ctx, selection(req), started)
}

func (s syncer) Export(ctx context.Context, req tasks.Request, started func(uint64)) (*store.Run, error) {
	return s.p.Export(ctx, selection(req), started)
}

// APIKeyFileName is the API key generated into data_dir when none is configured.
const APIKeyFileName = "api.key"

// apiKey returns the configured API key, or the one in data_dir/api.key,
// generating it (mode 0600) on first start.
func apiKey(cfg *config.Config, log zerolog.Logger) (string, error) {
	if k := cfg.Server.APIKey.Value(); k != "" {
		return k, nil
	}
	path := filepath.Join(cfg.Server.DataDir, APIKeyFileName)
	k, err := readKeyFile(path)
	switch {
	case err == nil && k != "":
		return k, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read API key %s: %w", path, err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate API key: %w", err)
	}
	k = base64.RawURLEncoding.EncodeToString(b)
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write API key %s: %w (check data_dir's permissions)", path, err)
	}
	log.Info().Str("path", path).Msg("generated an API key for the management API")
	return k, nil
}

// readKeyFile reads an API key file, trimmed; "" when it is empty.
func readKeyFile(path string) (string, error) {
	raw, err := os.ReadFile(path)
	return strings.TrimSpace(string(raw)), err
}

// builtinTypes lists the types this binary serves as plugins.
func builtinTypes() []string {
	var out []string
	for t := range builtinBackends() {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
