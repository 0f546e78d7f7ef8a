package plugins

import (
	"context"

	"github.com/rs/zerolog"
)

// Backend is what every backend implements.
type Backend interface {
	// Describe says what the backend is. It must answer the same before and
	// after Configure, and must not do I/O.
	Describe(ctx context.Context) (Description, error)
	// Configure checks and takes a configuration. A configuration that can
	// never work (missing URL, bad option) is refused with a *ConfigError.
	// Configure may be called again to replace the configuration. It should
	// not contact the server: CheckHealth does that.
	Configure(ctx context.Context, cfg Config) error
	// CheckHealth contacts the server. An unreachable server is reported in
	// Health (Reachable false, Detail saying why), not as an error; errors are
	// for the plugin itself failing.
	CheckHealth(ctx context.Context) (Health, error)
	// ListAccounts lists the server's user accounts.
	ListAccounts(ctx context.Context) ([]Account, error)
}

// WebhookParser is implemented by backends that receive webhooks.
type WebhookParser interface {
	// ParseWebhook turns one delivery into observations. A delivery that is
	// well formed but carries nothing to sync (a test event, library.new)
	// answers a result with Ignored set. Garbage answers an error made with
	// Reject, saying what is wrong with it. It must never panic.
	ParseWebhook(ctx context.Context, req WebhookRequest) (WebhookResult, error)
}

// Importer is implemented by backends that can read play state.
type Importer interface {
	// Import reads the play state of one account and hands it to emit one
	// page at a time, in a stable order. It stops and returns emit's error
	// when emit fails, and ctx.Err() when ctx is cancelled. The backend may
	// reuse the page slice once emit returns, so emit does not keep it; emit
	// may keep the observations' strings and GUID slices, so the backend
	// does not modify those after emitting them.
	Import(ctx context.Context, req ImportRequest, emit func(page []Observation) error) error
}

// Exporter is implemented by backends that can write play state.
type Exporter interface {
	// Apply performs a batch of writes and answers one outcome per write, in
	// order. A failure of one write is an outcome, not an error; an error
	// means the batch as a whole did not run (server down) and the caller
	// retries all of it. Writing the same state twice must succeed twice.
	Apply(ctx context.Context, writes []Write) ([]WriteOutcome, error)
}

// Resolver is implemented by backends that can find items by GUID.
type Resolver interface {
	// Resolve answers one Resolution per query, in order; an item that is
	// not found has an empty ItemID.
	Resolve(ctx context.Context, req ResolveRequest) ([]Resolution, error)
}

// Client is a backend as a host holds it: every capability method is
// present and answers ErrUnsupported when the backend lacks that capability.
// Describe's Capabilities tell which ones are real.
type Client interface {
	Backend
	WebhookParser
	Importer
	Exporter
	Resolver
}

// Env is what a plugin process hands the backend it builds.
type Env struct {
	// Logger reaches the host's log with the plugin's name and each line's
	// level preserved.
	Logger zerolog.Logger
}

// Factory builds an unconfigured backend. Serve calls it once per process;
// tests call it once per backend under test.
type Factory func(env Env) Backend

// Capabilities lists the capability interfaces b implements, in a fixed order.
func Capabilities(b Backend) []Capability {
	var caps []Capability
	if _, ok := b.(WebhookParser); ok {
		caps = append(caps, CapabilityWebhook)
	}
	if _, ok := b.(Importer); ok {
		caps = append(caps, CapabilityImport)
	}
	if _, ok := b.(Exporter); ok {
		caps = append(caps, CapabilityExport)
	}
	if _, ok := b.(Resolver); ok {
		caps = append(caps, CapabilityResolve)
	}
	return caps
}
