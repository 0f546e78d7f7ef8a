package config

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole of keepwatch.yaml after defaults, ${ENV} expansion and
// *_file reading. The yaml tags give each field's key; String uses them.
type Config struct {
	Server   Server    `yaml:"server"`
	Backends []Backend `yaml:"backends"`
	Users    Users     `yaml:"users"`
	Sync     Sync      `yaml:"sync"`
	Match    Match     `yaml:"match"`
	Tasks    Tasks     `yaml:"tasks"`
}

// Server configures the daemon process itself.
type Server struct {
	// Listen is the HTTP listen address (host:port).
	Listen string `yaml:"listen"`
	// PublicURL is how media servers reach keepwatch; used to print webhook
	// URLs. Empty when not configured; never ends in "/".
	PublicURL string `yaml:"public_url"`
	// DataDir holds keepwatch.db, api.key and backups/.
	DataDir string `yaml:"data_dir"`
	// APIKey guards the management API. When api_key_file is set, APIKey holds
	// that file's trimmed content.
	APIKey     Secret `yaml:"api_key"`
	APIKeyFile string `yaml:"api_key_file"`
	// PluginsDir is searched for external plugins (keepwatch-backend-<type>).
	PluginsDir string `yaml:"plugins_dir"`
	// WebhookMaxBytes bounds a stored webhook body; a larger delivery is
	// recorded as rejected.
	WebhookMaxBytes int `yaml:"webhook_max_bytes"`
}

// Backend is one configured media server.
type Backend struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	URL  string `yaml:"url"`
	// Token is the backend's credential. When token_file is set, Token holds
	// that file's trimmed content.
	Token     Secret `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// Import lets keepwatch read plays from this backend; Export lets it write.
	Import    bool              `yaml:"import"`
	Export    bool              `yaml:"export"`
	Libraries Libraries         `yaml:"libraries"`
	Webhook   WebhookFilter     `yaml:"webhook"`
	Options   map[string]string `yaml:"options"`
}

// Libraries filters which of a backend's libraries keepwatch syncs, by name.
// An empty Include means every library; Exclude wins over Include.
type Libraries struct {
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
}

// WebhookFilter says which webhook events of a backend are accepted.
type WebhookFilter struct {
	// MatchAccount drops events whose account is not the user's account on
	// this backend.
	MatchAccount bool `yaml:"match_account"`
	// MatchServer drops events sent by a server other than this backend.
	MatchServer bool `yaml:"match_server"`
	// AllowServers, when not empty, accepts only events from these server
	// ids; DenyServers drops events from these. Deny wins.
	AllowServers []string `yaml:"allow_servers"`
	DenyServers  []string `yaml:"deny_servers"`
}

// Users maps household members to their accounts on each backend.
type Users struct {
	// AutoMap treats the same account name on several backends as one user.
	AutoMap bool   `yaml:"auto_map"`
	List    []User `yaml:"list"`
}

// User is one household member.
type User struct {
	Name string `yaml:"name"`
	// Accounts maps a backend name to the user's account name or id there.
	Accounts map[string]string `yaml:"accounts"`
}

// Sync holds the merge rules' tunables (DESIGN.md "The sync rules").
type Sync struct {
	// MinProgress: resume positions below it count as 0.
	MinProgress time.Duration `yaml:"min_progress"`
	// WatchedPercent: position at or above this percent of the duration counts
	// as watched where the server sends no completion signal.
	WatchedPercent int `yaml:"watched_percent"`
	// RewatchResets lets a re-watch's progress make a watched record unwatched.
	RewatchResets bool  `yaml:"rewatch_resets"`
	Guard         Guard `yaml:"guard"`
}

// Guard holds an import run that flips too many of a backend's items.
// Both limits must be exceeded for the run to be held.
type Guard struct {
	MaxFraction float64 `yaml:"max_fraction"`
	MinItems    int     `yaml:"min_items"`
}

// Match tunes how observations are matched to records.
type Match struct {
	// TitleYear also matches by title and year when no GUID matches.
	TitleYear bool `yaml:"title_year"`
}

// Tasks holds the scheduled tasks. Schedules are cron expressions as
// robfig/cron/v3's ParseStandard reads them (5 fields, or @every 1h, @daily...).
type Tasks struct {
	Import     Task       `yaml:"import"`
	ImportFull Task       `yaml:"import_full"`
	Export     Task       `yaml:"export"`
	Backup     BackupTask `yaml:"backup"`
	Prune      PruneTask  `yaml:"prune"`
}

// Task is one scheduled task.
type Task struct {
	Schedule string `yaml:"schedule"`
	Enabled  bool   `yaml:"enabled"`
}

// BackupTask is the backup task; Keep is how many backups are kept.
type BackupTask struct {
	Task `yaml:",inline"`
	Keep int `yaml:"keep"`
}

// PruneTask is the prune task; history older than KeepDays days is removed.
type PruneTask struct {
	Task     `yaml:",inline"`
	KeepDays int `yaml:"keep_days"`
}

// Backend types built into keepwatch, in the order error messages list them.
const (
	TypePlex     = "plex"
	TypeJellyfin = "jellyfin"
	TypeEmby     = "emby"
	TypeTautulli = "tautulli"
)

// BuiltinTypes returns the backend types built into keepwatch.
func BuiltinTypes() []string {
	return []string{TypePlex, TypeJellyfin, TypeEmby, TypeTautulli}
}

// Defaults returns the configuration keepwatch runs on when keepwatch.yaml
// sets nothing: no backends, no users.
func Defaults() *Config {
	return &Config{
		Server: Server{
			Listen:          ":8686",
			DataDir:         "./data",
			PluginsDir:      "./plugins",
			WebhookMaxBytes: 10 << 20,
		},
		Users: Users{AutoMap: true},
		Sync: Sync{
			MinProgress:    60 * time.Second,
			WatchedPercent: 90,
			Guard:          Guard{MaxFraction: 0.10, MinItems: 25},
		},
		Tasks: Tasks{
			Import:     Task{Schedule: "@every 1h", Enabled: true},
			ImportFull: Task{Schedule: "0 3 * * 0", Enabled: true},
			Export:     Task{Schedule: "@every 1h", Enabled: true},
			Backup:     BackupTask{Task: Task{Schedule: "0 4 * * *", Enabled: true}, Keep: 7},
			Prune:      PruneTask{Task: Task{Schedule: "0 5 * * *", Enabled: true}, KeepDays: 90},
		},
	}
}

// defaultBackend returns a backend entry's defaults before its keys are read.
// Tautulli's export default is false (it cannot be written to); decode applies
// that once the type is known.
func defaultBackend() Backend {
	return Backend{
		Import:  true,
		Export:  true,
		Webhook: WebhookFilter{MatchAccount: true, MatchServer: true},
	}
}

// Backend returns the backend named name.
func (c *Config) Backend(name string) (Backend, bool) {
	for _, b := range c.Backends {
		if b.Name == name {
			return b, true
		}
	}
	return Backend{}, false
}

// String renders the effective configuration as YAML with every secret
// redacted, so it is safe to print or log.
func (c *Config) String() string {
	out, err := yaml.Marshal(c)
	if err != nil {
		// Marshal fails only on types this struct does not contain.
		return "config: " + err.Error()
	}
	return string(out)
}
