package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/keepwatch/keepwatch/plugins"
)

// Status is a snapshot of an Instance, for /readyz and the API.
type Status struct {
	Name         string               `json:"name"`
	Type         string               `json:"type"`
	Source       Source               `json:"source"`
	Path         string               `json:"path"`
	State        State                `json:"state"`
	Since        time.Time            `json:"since"`
	Version      string               `json:"version,omitempty"`
	Capabilities []plugins.Capability `json:"capabilities,omitempty"`
	Protocol     int                  `json:"protocol,omitempty"`
	PID          int                  `json:"pid,omitempty"`
	// Restarts counts how often the plugin had to be started again: once
	// each time its process died, hung or failed to start.
	Restarts  int    `json:"restarts"`
	LastError string `json:"last_error,omitempty"`
}

// Instance is one configured backend's supervised plugin process. It is a
// plugins.Client: while the plugin is not ready, and when it dies during a
// call, calls answer an error matching plugins.ErrUnavailable.
type Instance struct {
	opts      Options
	log       zerolog.Logger // the host's own lines about this instance
	pluginLog zerolog.Logger // the plugin's lines and go-plugin's
	cmd       Command
	name      string

	ctx    context.Context // cancelled by stop
	cancel context.CancelFunc
	done   chan struct{} // closed when supervise returns
	kick   chan struct{} // asks the supervisor to check the process now

	mu       sync.Mutex
	cfg      plugins.Config // the last configuration the plugin accepted, replayed on restart
	state    State
	since    time.Time
	lastErr  error
	restarts int
	changed  chan struct{} // closed and replaced on every state change
	proc     *process      // the running plugin; nil unless ready
	desc     plugins.Description
	pid      int
	protocol int
}

var _ plugins.Client = (*Instance)(nil)

// streamWindow is the HTTP/2 flow-control window the host grants a plugin.
// gRPC's default (64 KiB, grown by bandwidth probing) holds less than one
// import page, so the plugin stalls on every page until the host has read
// it; a window of several pages lets the plugin encode the next pages while
// the host decodes this one.
const streamWindow = 4 << 20

// process is one launched plugin process.
type process struct {
	client   *plugin.Client
	cmd      *exec.Cmd
	conn     plugins.Client
	health   grpc_health_v1.HealthClient
	pid      int
	protocol int
}

func newInstance(opts Options, cmd Command, cfg plugins.Config) *Instance {
	ctx, cancel := context.WithCancel(context.Background())
	base := opts.Logger.With().Str("backend", cfg.Name).Str("backend_type", cmd.Type).Logger()
	return &Instance{
		opts:      opts,
		log:       base.With().Str("component", "plugin-host").Logger(),
		pluginLog: base,
		cmd:       cmd,
		name:      cfg.Name,
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
		kick:      make(chan struct{}, 1),
		cfg:       cfg,
		state:     StateStarting,
		since:     time.Now(),
		changed:   make(chan struct{}),
	}
}

// Name is the configured backend's name.
func (in *Instance) Name() string { return in.name }

// Status answers a snapshot of the instance.
func (in *Instance) Status() Status {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.statusLocked()
}

func (in *Instance) statusLocked() Status {
	s := Status{
		Name: in.name, Type: in.cmd.Type, Source: in.cmd.Source, Path: in.cmd.Path,
		State: in.state, Since: in.since, Version: in.desc.Version,
		Capabilities: append([]plugins.Capability(nil), in.desc.Capabilities...),
		Protocol:     in.protocol, Restarts: in.restarts,
	}
	if in.proc != nil {
		s.PID = in.pid
	}
	if in.lastErr != nil {
		s.LastError = in.lastErr.Error()
	}
	return s
}

func (in *Instance) setState(state State, err error, p *process) {
	in.mu.Lock()
	if state != in.state {
		in.since = time.Now()
	}
	if state == StateRestarting {
		in.restarts++
	}
	in.state, in.lastErr, in.proc = state, err, p
	if p != nil {
		in.pid, in.protocol = p.pid, p.protocol
	}
	close(in.changed)
	in.changed = make(chan struct{})
	status := in.statusLocked()
	in.mu.Unlock()

	switch state {
	case StateReady:
		in.log.Info().Int("pid", status.PID).Str("version", status.Version).Int("protocol", status.Protocol).Msg("plugin ready")
	case StateRestarting:
		in.log.Warn().Err(err).Int("restarts", status.Restarts).Msg("plugin restarting")
	case StateFailed:
		in.log.Error().Err(err).Msg("plugin failed; fix the cause and restart keepwatch")
	case StateStopped:
		in.log.Info().Msg("plugin stopped")
	}
	if in.opts.OnStateChange != nil {
		in.opts.OnStateChange(status)
	}
}

// WaitReady waits until the instance is ready. It answers early with an
// error when the instance failed or stopped, or when ctx ends.
func (in *Instance) WaitReady(ctx context.Context) error {
	for {
		in.mu.Lock()
		state, lastErr, changed := in.state, in.lastErr, in.changed
		in.mu.Unlock()
		switch state {
		case StateReady:
			return nil
		case StateFailed:
			return fmt.Errorf("backend %q: plugin failed: %w", in.name, lastErr)
		case StateStopped:
			return fmt.Errorf("backend %q: %w", in.name, ErrClosed)
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("backend %q: plugin still %s (last error: %v): %w", in.name, state, lastErr, ctx.Err())
			}
			return fmt.Errorf("backend %q: plugin still %s: %w", in.name, state, ctx.Err())
		case <-changed:
		}
	}
}

// permanentError is a start failure that restarting cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

var errStopping = errors.New("stopping")

// hostPluginSets is what the host offers in the handshake; a variable so
// that a test can offer a version beside 1 before there is one.
var hostPluginSets = plugins.HostPluginSets

// hostVersions lists the protocol versions the host offers, for errors.
func hostVersions() string {
	var vs []string
	for _, v := range slices.Sorted(maps.Keys(hostPluginSets())) {
		vs = append(vs, strconv.Itoa(v))
	}
	return strings.Join(vs, ", ")
}

// incompatible reports whether go-plugin failed to start a plugin for a
// reason no restart can fix: the executable's handshake names a protocol
// this host does not speak, or what it printed is no handshake at all.
//
// go-plugin (v1.8, client.go: Start and checkProtoVersion) returns these as
// plain errors, with no type or sentinel to test for, so they are told by
// their wording, case-insensitively: go-plugin has capitalised it in some
// releases and not in others. TestStartFailuresThatNeedAPerson pins the
// wording, so an upgrade that changes it fails that test; were it missed,
// such a plugin would be restarted with the maximum backoff instead of
// failing, its error still shown.
//
// A process that exits before its handshake is a crash, restarted like any
// other: go-plugin says "plugin exited before we could connect", or, when
// it sees stdout close first, "Unrecognized remote plugin message" with
// "Failed to read any lines".
func incompatible(err error) bool {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "incompatible api version"), strings.Contains(msg, "incompatible core api version"):
		return true
	case strings.Contains(msg, "unrecognized remote plugin message"):
		return !strings.Contains(msg, "failed to read any lines")
	}
	return false
}

// supervise starts the plugin, watches it and restarts it until stop.
func (in *Instance) supervise() {
	defer close(in.done)
	delays := newBackoff(in.opts)
	for {
		p, err := in.start()
		if in.ctx.Err() != nil {
			if p != nil {
				in.kill(p, true)
			}
			in.setState(StateStopped, nil, nil)
			return
		}
		if err != nil {
			var perm *permanentError
			if errors.As(err, &perm) {
				in.setState(StateFailed, err, nil)
				<-in.ctx.Done()
				in.setState(StateStopped, err, nil)
				return
			}
			in.setState(StateRestarting, err, nil)
			if !in.sleep(delays.next(0)) {
				in.setState(StateStopped, nil, nil)
				return
			}
			continue
		}

		in.setState(StateReady, nil, p)
		readyAt := time.Now()
		reason := in.watch(p)
		if errors.Is(reason, errStopping) {
			in.setState(StateStopped, nil, nil)
			in.kill(p, true)
			return
		}
		// Callers see the instance unavailable before the old process is
		// cleaned up.
		in.setState(StateRestarting, reason, nil)
		in.kill(p, false)
		if !in.sleep(delays.next(time.Since(readyAt))) {
			in.setState(StateStopped, nil, nil)
			return
		}
	}
}

func (in *Instance) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-in.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// pluginLogLevel is the level a plugin is told to log at: the host's, so
// that lines the host would drop are never written.
func (in *Instance) pluginLogLevel() string {
	l := in.log.GetLevel()
	if g := zerolog.GlobalLevel(); g > l {
		l = g
	}
	if l == zerolog.NoLevel {
		l = zerolog.TraceLevel
	}
	return l.String()
}

// start launches the plugin and brings it to ready: handshake, Describe
// (the type must match) and Configure with the last accepted configuration.
func (in *Instance) start() (*process, error) {
	in.mu.Lock()
	cfg := in.cfg
	in.mu.Unlock()

	cmd := exec.Command(in.cmd.Path, in.cmd.Args...)
	cmd.Env = []string{plugins.LogLevelEnv + "=" + in.pluginLogLevel()}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake,
		VersionedPlugins: hostPluginSets(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogBridge(in.pluginLog),
		StartTimeout:     in.opts.StartTimeout,
		SyncStdout:       newLineLogger(in.pluginLog, zerolog.InfoLevel, "stdout"),
		SyncStderr:       newLineLogger(in.pluginLog, zerolog.WarnLevel, "stderr"),
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(plugins.MaxMessageBytes), grpc.MaxCallSendMsgSize(plugins.MaxMessageBytes)),
			grpc.WithInitialWindowSize(streamWindow),
			grpc.WithInitialConnWindowSize(streamWindow),
		},
	})
	p := &process{client: client, cmd: cmd}
	ok := false
	defer func() {
		if !ok {
			in.kill(p, false)
		}
	}()

	proto, err := client.Client()
	if err != nil {
		if incompatible(err) {
			return nil, &permanentError{fmt.Errorf("start %s: not a compatible keepwatch plugin (this keepwatch speaks plugin protocol %s): %w",
				in.cmd.Path, hostVersions(), err)}
		}
		return nil, fmt.Errorf("start %s: %w", in.cmd.Path, err)
	}
	if cmd.Process != nil {
		p.pid = cmd.Process.Pid
	}
	p.protocol = client.NegotiatedVersion()
	raw, err := proto.Dispense(plugins.PluginName)
	if err != nil {
		return nil, &permanentError{fmt.Errorf("plugin %s serves no %q plugin: %w", in.cmd.Path, plugins.PluginName, err)}
	}
	conn, isClient := raw.(plugins.Client)
	grpcClient, isGRPC := proto.(*plugin.GRPCClient)
	if !isClient || !isGRPC {
		return nil, &permanentError{fmt.Errorf("plugin %s: unexpected client types %T, %T", in.cmd.Path, raw, proto)}
	}
	p.conn = conn
	p.health = grpc_health_v1.NewHealthClient(grpcClient.Conn)

	ctx, cancel := context.WithTimeout(in.ctx, in.opts.StartTimeout)
	defer cancel()
	desc, err := conn.Describe(ctx)
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	if desc.Type != in.cmd.Type {
		return nil, &permanentError{fmt.Errorf("%s serves backend type %q, not %q", in.cmd.Path, desc.Type, in.cmd.Type)}
	}
	if err := conn.Configure(ctx, cfg); err != nil {
		if errors.Is(err, plugins.ErrInvalidConfig) {
			return nil, &permanentError{fmt.Errorf("configuration refused: %w", err)}
		}
		return nil, fmt.Errorf("configure: %w", err)
	}
	in.mu.Lock()
	in.desc = desc
	in.mu.Unlock()
	ok = true
	return p, nil
}

// watch blocks until the process exits, stops answering pings, or the
// instance is stopped, and says which.
func (in *Instance) watch(p *process) error {
	exitTicker := time.NewTicker(in.opts.WatchInterval)
	defer exitTicker.Stop()
	pingTicker := time.NewTicker(in.opts.PingInterval)
	defer pingTicker.Stop()
	for {
		select {
		case <-in.ctx.Done():
			return errStopping
		case <-exitTicker.C:
			if p.client.Exited() {
				return in.exitError(p)
			}
		case <-in.kick:
			if err := in.check(p); err != nil {
				return err
			}
		case <-pingTicker.C:
			if err := in.check(p); err != nil {
				return err
			}
		}
	}
}

func (in *Instance) exitError(p *process) error {
	// client.Exited() is set after cmd.Wait returned, so ProcessState is
	// there.
	if p.cmd.ProcessState != nil {
		return fmt.Errorf("plugin process %d exited: %s", p.pid, p.cmd.ProcessState)
	}
	return fmt.Errorf("plugin process %d exited", p.pid)
}

// check answers nil when the process is alive and answers a ping in time.
func (in *Instance) check(p *process) error {
	if p.client.Exited() {
		return in.exitError(p)
	}
	ctx, cancel := context.WithTimeout(in.ctx, in.opts.PingTimeout)
	defer cancel()
	resp, err := p.health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if p.client.Exited() {
		return in.exitError(p)
	}
	if err != nil {
		if in.ctx.Err() != nil {
			return errStopping
		}
		return fmt.Errorf("plugin process %d failed a ping: %w", p.pid, err)
	}
	if resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		return fmt.Errorf("plugin process %d reports %s", p.pid, resp.GetStatus())
	}
	return nil
}

// kill ends a process. Gracefully, go-plugin asks the plugin to shut down
// and waits up to 2 s; a hung plugin would never answer, so after a bound
// the process is killed outright.
func (in *Instance) kill(p *process, graceful bool) {
	if !graceful && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.client.Kill()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		if p.cmd.Process != nil {
			_ = p.cmd.Process.Kill()
		}
		<-done
	}
}

func (in *Instance) stop() {
	in.cancel()
	<-in.done
}

// poke asks the supervisor to check the process now.
func (in *Instance) poke() {
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// current answers the running process, or ErrUnavailable saying why not.
func (in *Instance) current() (*process, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state == StateReady && in.proc != nil {
		return in.proc, nil
	}
	if in.lastErr != nil {
		return nil, fmt.Errorf("backend %q: plugin is %s (last error: %v): %w", in.name, in.state, in.lastErr, plugins.ErrUnavailable)
	}
	return nil, fmt.Errorf("backend %q: plugin is %s: %w", in.name, in.state, plugins.ErrUnavailable)
}

// finish maps a call's error. A backend's own error passes unchanged. An
// error caused by the process dying, whatever form the broken transport
// gave it, becomes ErrUnavailable, and the supervisor is told at once.
func (in *Instance) finish(ctx context.Context, p *process, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, plugins.ErrUnavailable) {
		in.poke()
		return fmt.Errorf("backend %q: %w", in.name, err)
	}
	var ce *plugins.ConfigError
	var re *plugins.RejectedError
	if errors.As(err, &ce) || errors.As(err, &re) || errors.Is(err, plugins.ErrUnsupported) ||
		errors.Is(err, plugins.ErrNotConfigured) || ctx.Err() != nil {
		return err
	}
	if in.check(p) != nil {
		in.poke()
		return fmt.Errorf("backend %q: plugin process died during the call (%v): %w", in.name, err, plugins.ErrUnavailable)
	}
	return err
}

// Describe answers the description the plugin gave when it last started,
// without a call: it does not change while the plugin runs.
func (in *Instance) Describe(context.Context) (plugins.Description, error) {
	in.mu.Lock()
	d := in.desc
	in.mu.Unlock()
	if d.Type == "" {
		_, err := in.current()
		if err == nil {
			err = fmt.Errorf("backend %q: plugin has not described itself yet: %w", in.name, plugins.ErrUnavailable)
		}
		return plugins.Description{}, err
	}
	d.Capabilities = append([]plugins.Capability(nil), d.Capabilities...)
	return d, nil
}

// Configure replaces the configuration. Once accepted, it is the one
// replayed when the plugin restarts; a refused one changes nothing.
func (in *Instance) Configure(ctx context.Context, cfg plugins.Config) error {
	if cfg.Type != "" && cfg.Type != in.cmd.Type {
		return plugins.InvalidConfig("type", cfg.Type, fmt.Sprintf("backend %q runs type %q; a new type needs a new backend", in.name, in.cmd.Type))
	}
	p, err := in.current()
	if err != nil {
		return err
	}
	if err := p.conn.Configure(ctx, cfg); err != nil {
		return in.finish(ctx, p, err)
	}
	in.mu.Lock()
	in.cfg = cfg
	in.mu.Unlock()
	return nil
}

func (in *Instance) CheckHealth(ctx context.Context) (plugins.Health, error) {
	p, err := in.current()
	if err != nil {
		return plugins.Health{}, err
	}
	h, err := p.conn.CheckHealth(ctx)
	return h, in.finish(ctx, p, err)
}

func (in *Instance) ListAccounts(ctx context.Context) ([]plugins.Account, error) {
	p, err := in.current()
	if err != nil {
		return nil, err
	}
	as, err := p.conn.ListAccounts(ctx)
	return as, in.finish(ctx, p, err)
}

func (in *Instance) ParseWebhook(ctx context.Context, req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	p, err := in.current()
	if err != nil {
		return plugins.WebhookResult{}, err
	}
	r, err := p.conn.ParseWebhook(ctx, req)
	return r, in.finish(ctx, p, err)
}

// Import streams from the plugin. When the plugin dies mid-stream, the
// pages already emitted stay emitted and the error matches ErrUnavailable:
// the caller commits what it has and imports again once ready.
func (in *Instance) Import(ctx context.Context, req plugins.ImportRequest, emit func([]plugins.Observation) error) error {
	p, err := in.current()
	if err != nil {
		return err
	}
	var emitErr error
	err = p.conn.Import(ctx, req, func(page []plugins.Observation) error {
		emitErr = emit(page)
		return emitErr
	})
	if err != nil && emitErr != nil && errors.Is(err, emitErr) {
		return err // the consumer's own error, as it returned it
	}
	return in.finish(ctx, p, err)
}

func (in *Instance) Apply(ctx context.Context, writes []plugins.Write) ([]plugins.WriteOutcome, error) {
	p, err := in.current()
	if err != nil {
		return nil, err
	}
	out, err := p.conn.Apply(ctx, writes)
	return out, in.finish(ctx, p, err)
}

func (in *Instance) Resolve(ctx context.Context, req plugins.ResolveRequest) ([]plugins.Resolution, error) {
	p, err := in.current()
	if err != nil {
		return nil, err
	}
	rs, err := p.conn.Resolve(ctx, req)
	return rs, in.finish(ctx, p, err)
}
