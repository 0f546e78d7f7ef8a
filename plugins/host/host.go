package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/plugins"
)

// State is where an Instance is in its life.
type State string

// Instance states.
const (
	StateStarting   State = "starting"   // first start: launching, handshake, Configure
	StateReady      State = "ready"      // calls go through
	StateRestarting State = "restarting" // the process died or stopped answering; waiting out the backoff or starting again
	StateFailed     State = "failed"     // cannot work until a person acts (refused configuration, incompatible plugin)
	StateStopped    State = "stopped"    // Close was called
)

// Source says where a backend type's plugin comes from.
type Source string

// Plugin sources.
const (
	SourceBuiltin  Source = "builtin"  // served by the keepwatch binary itself
	SourceExternal Source = "external" // keepwatch-backend-<type> in the plugins directory
)

// ExecutablePrefix starts the name of every external plugin executable.
const ExecutablePrefix = "keepwatch-backend-"

// Options configure a Host. Zero durations take the defaults in brackets.
type Options struct {
	// Executable is the keepwatch binary, re-executed as
	// `<Executable> plugin serve <type>` for built-in types [os.Executable()].
	Executable string
	// Builtins are the types the executable serves. A built-in type wins
	// over an external plugin of the same type.
	Builtins []string
	// PluginsDir is searched for keepwatch-backend-<type> executables.
	PluginsDir string
	// Logger receives the host's and the plugins' logs.
	Logger zerolog.Logger

	// StartTimeout bounds a start: process launch, handshake, Describe and
	// Configure [15s].
	StartTimeout time.Duration
	// PingInterval is how often a ready plugin is pinged [5s]; PingTimeout
	// how long a ping may take before the plugin counts as hung [3s].
	PingInterval time.Duration
	PingTimeout  time.Duration
	// WatchInterval is how often the process is checked for exit [100ms].
	WatchInterval time.Duration
	// MinBackoff and MaxBackoff bound the delay before a restart; it doubles
	// with each failure in a row [250ms, 1m].
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// StableAfter is how long a plugin must stay ready for its failure
	// count, and so its backoff, to start again from MinBackoff [1m].
	StableAfter time.Duration

	// OnStateChange, when set, is called with an instance's new status on
	// every state change, from the instance's supervisor goroutine.
	OnStateChange func(Status)
}

func (o *Options) setDefaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.StartTimeout, 15*time.Second)
	def(&o.PingInterval, 5*time.Second)
	def(&o.PingTimeout, 3*time.Second)
	def(&o.WatchInterval, 100*time.Millisecond)
	def(&o.MinBackoff, 250*time.Millisecond)
	def(&o.MaxBackoff, time.Minute)
	def(&o.StableAfter, time.Minute)
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Executable == "" && len(o.Builtins) > 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("plugin host: find the keepwatch executable to serve built-in backends: %w", err)
		}
		o.Executable = exe
	}
	return nil
}

// Host owns the plugin processes of the configured backends.
type Host struct {
	opts Options
	log  zerolog.Logger

	mu        sync.Mutex
	instances map[string]*Instance
	closed    bool
}

// New makes a Host. It starts nothing until Add.
func New(opts Options) (*Host, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	return &Host{
		opts:      opts,
		log:       opts.Logger.With().Str("component", "plugin-host").Logger(),
		instances: make(map[string]*Instance),
	}, nil
}

// Command says how the plugin of a backend type is started.
type Command struct {
	Type   string
	Source Source
	Path   string
	Args   []string
}

// Resolve finds the plugin for a backend type: the built-in first, then
// keepwatch-backend-<type> in the plugins directory.
func (h *Host) Resolve(typ string) (Command, error) {
	return resolve(typ, h.opts.Executable, h.opts.Builtins, h.opts.PluginsDir)
}

func resolve(typ, executable string, builtins []string, dir string) (Command, error) {
	if !plugins.ValidType(typ) {
		return Command{}, fmt.Errorf("backend type %q is not a valid type name: use lower-case letters, digits and dashes", typ)
	}
	if slices.Contains(builtins, typ) {
		return Command{Type: typ, Source: SourceBuiltin, Path: executable, Args: []string{"plugin", "serve", typ}}, nil
	}
	if dir != "" {
		path := filepath.Join(dir, ExecutablePrefix+typ)
		if ok, _ := isExecutable(path); ok {
			return Command{Type: typ, Source: SourceExternal, Path: path}, nil
		}
	}
	known := append([]string(nil), builtins...)
	if found, err := Discover(dir); err == nil {
		for _, c := range found {
			known = append(known, c.Type)
		}
	}
	sort.Strings(known)
	where := "no plugins directory is set"
	if dir != "" {
		where = fmt.Sprintf("no executable %s%s in the plugins directory %s", ExecutablePrefix, typ, dir)
	}
	return Command{}, fmt.Errorf("backend type %q: no built-in backend and %s (known types: %s); install the plugin there or fix the type",
		typ, where, strings.Join(known, ", "))
}

// ErrClosed answers Add after Close.
var ErrClosed = errors.New("plugin host is closed")

// Add starts supervising a plugin process for one configured backend and
// answers at once; WaitReady waits for the first start. cfg.Name must be
// unique and cfg.Type must resolve to a plugin.
func (h *Host) Add(cfg plugins.Config) (*Instance, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("plugin host: a backend needs a name")
	}
	cmd, err := h.Resolve(cfg.Type)
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", cfg.Name, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if _, dup := h.instances[cfg.Name]; dup {
		return nil, fmt.Errorf("plugin host: backend %q is already running", cfg.Name)
	}
	in := newInstance(h.opts, cmd, cfg)
	h.instances[cfg.Name] = in
	h.log.Debug().Str("backend", cfg.Name).Str("backend_type", cfg.Type).Str("source", string(cmd.Source)).
		Str("path", cmd.Path).Msg("supervising plugin")
	go in.supervise()
	return in, nil
}

// Instance answers the instance of a configured backend.
func (h *Host) Instance(name string) (*Instance, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	in, ok := h.instances[name]
	return in, ok
}

// Statuses answers the status of every instance, sorted by backend name.
func (h *Host) Statuses() []Status {
	h.mu.Lock()
	all := make([]*Instance, 0, len(h.instances))
	for _, in := range h.instances {
		all = append(all, in)
	}
	h.mu.Unlock()
	out := make([]Status, len(all))
	for i, in := range all {
		out[i] = in.Status()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Ready answers nil when every instance is ready, and otherwise an error
// naming those that are not, with their state and last error: what /readyz
// shows.
func (h *Host) Ready() error {
	var errs []error
	for _, s := range h.Statuses() {
		if s.State == StateReady {
			continue
		}
		if s.LastError != "" {
			errs = append(errs, fmt.Errorf("backend %q is %s: %s", s.Name, s.State, s.LastError))
		} else {
			errs = append(errs, fmt.Errorf("backend %q is %s", s.Name, s.State))
		}
	}
	return errors.Join(errs...)
}

// Close stops every plugin and waits for their processes to end.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	all := make([]*Instance, 0, len(h.instances))
	for _, in := range h.instances {
		all = append(all, in)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stop()
		}()
	}
	wg.Wait()
	return nil
}
