package engine

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// ProgressTolerance is how far two positions may differ and still count as the
// same: servers round positions and report them late.
const ProgressTolerance = 10 * time.Second

// writeEchoSlack is how long after one of our own writes a server-stamped play
// date still counts as the echo of that write rather than a new play (Plex
// stamps /:/scrobble with its own clock, which may run ahead of ours).
const writeEchoSlack = 2 * time.Minute

// Config is the part of keepwatch's configuration the engine acts on.
type Config struct {
	// MinProgress: positions below it count as 0 (default 60 s).
	MinProgress time.Duration
	// WatchedPercent: progress at or past this share of the duration is a
	// completion, for sources without a completion signal (default 90).
	WatchedPercent int
	// RewatchResets: a watched record that reports progress becomes unwatched.
	RewatchResets bool
	// MatchTitleYear: match on title + year when no GUID matches.
	MatchTitleYear bool
	// Guard holds mass flips found by one import run.
	Guard GuardConfig
	// Backends lists every configured backend by name.
	Backends map[string]BackendPolicy
	// Accounts maps user → backend → account id/name, for writes.
	Accounts map[string]map[string]string
	// AccountOf, when set, replaces Accounts: the daemon's account directory
	// changes as backends come and go.
	AccountOf func(user, backend string) (string, bool)
}

// GuardConfig is DESIGN rule 7: a run is held when it flips more than
// MaxFraction and more than MinItems of one backend's items in one direction.
type GuardConfig struct {
	MaxFraction float64
	MinItems    int
}

// BackendPolicy says what the engine may do with one backend.
type BackendPolicy struct {
	Import bool // observations from it may create records
	Export bool // records are written to it
	// Resolve: the backend can find an item by GUID, so a write may be queued
	// before it has reported the item.
	Resolve bool
}

// DefaultConfig returns the defaults of DESIGN.md.
func DefaultConfig() Config {
	return Config{
		MinProgress:    60 * time.Second,
		WatchedPercent: 90,
		Guard:          GuardConfig{MaxFraction: 0.10, MinItems: 25},
		Backends:       map[string]BackendPolicy{},
		Accounts:       map[string]map[string]string{},
	}
}

// Engine merges observations into records and plans and performs writes.
// It is safe for concurrent use; bbolt serialises the transactions.
type Engine struct {
	store *store.Store
	cfg   Config
	log   zerolog.Logger
	now   func() time.Time

	mu       sync.Mutex
	nextRand uint64 // jitter state for back-off
}

// Option changes an Engine at construction.
type Option func(*Engine)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// New returns an engine over st. log should carry the caller's context; the
// engine adds component=engine.
func New(st *store.Store, cfg Config, log zerolog.Logger, opts ...Option) *Engine {
	if cfg.Backends == nil {
		cfg.Backends = map[string]BackendPolicy{}
	}
	e := &Engine{store: st, cfg: cfg, log: log.With().Str("component", "engine").Logger(), now: time.Now, nextRand: 0x9e3779b97f4a7c15}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Store returns the engine's store.
func (e *Engine) Store() *store.Store { return e.store }

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

// ErrNotHeld is returned when approving or discarding a run that is not held.
var ErrNotHeld = errors.New("run is not held")

// Result counts what one Apply did.
type Result struct {
	Observed  int `json:"observed"`
	Created   int `json:"created"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	Stale     int `json:"stale"`
	Conflicts int `json:"conflicts"`
	Unmatched int `json:"unmatched"`
	Ignored   int `json:"ignored"`
	Held      int `json:"held"`
	Queued    int `json:"queued"`
	Invalid   int `json:"invalid"`
	// Linked counts records pointed at an item a backend says was added.
	Linked int `json:"linked"`
	// Writes of export runs.
	Written     int `json:"written"`
	WriteFailed int `json:"write_failed"`
	Retried     int `json:"retried"`
}

// Add adds o to r.
func (r *Result) Add(o Result) {
	r.Observed += o.Observed
	r.Created += o.Created
	r.Changed += o.Changed
	r.Unchanged += o.Unchanged
	r.Stale += o.Stale
	r.Conflicts += o.Conflicts
	r.Unmatched += o.Unmatched
	r.Ignored += o.Ignored
	r.Held += o.Held
	r.Queued += o.Queued
	r.Invalid += o.Invalid
	r.Linked += o.Linked
	r.Written += o.Written
	r.WriteFailed += o.WriteFailed
	r.Retried += o.Retried
}

// Counts returns r as a map for a run's counters.
func (r Result) Counts() map[string]int {
	return map[string]int{
		"observed": r.Observed, "created": r.Created, "changed": r.Changed, "unchanged": r.Unchanged,
		"stale": r.Stale, "conflicts": r.Conflicts, "unmatched": r.Unmatched, "ignored": r.Ignored,
		"held": r.Held, "queued": r.Queued, "invalid": r.Invalid, "linked": r.Linked,
		"written": r.Written, "write_failed": r.WriteFailed, "retried": r.Retried,
	}
}

// Changes is what a webhook delivery's outcome reports: records created or changed.
func (r Result) Changes() int { return r.Created + r.Changed }

// validate rejects observations the engine cannot place.
func validate(o *model.Observation) error {
	switch {
	case o.Backend == "":
		return errors.New("observation has no backend")
	case o.User == "":
		return fmt.Errorf("observation from %s has no user", o.Backend)
	case o.Item.Kind != model.KindMovie && o.Item.Kind != model.KindEpisode:
		return fmt.Errorf("observation from %s: item kind %q is not movie or episode", o.Backend, o.Item.Kind)
	}
	return nil
}
