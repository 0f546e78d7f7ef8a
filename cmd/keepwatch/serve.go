package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/keepwatch/keepwatch/api"
	"github.com/keepwatch/keepwatch/config"
	"github.com/keepwatch/keepwatch/core/engine"
	"github.com/keepwatch/keepwatch/core/pipeline"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/plugins/host"
	"github.com/keepwatch/keepwatch/tasks"
)

// Shutdown bounds: the HTTP server gets httpShutdownGrace to finish requests
// in flight, and every service together gets stopTimeout to return.
const (
	stopTimeout       = 10 * time.Second
	httpShutdownGrace = 8 * time.Second
)

func newServeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the keepwatch daemon",
		Long: "Run the keepwatch daemon: open the database in data_dir and serve HTTP on\n" +
			"server.listen (/healthz, /readyz). Without a config file it starts on the\n" +
			"defaults. SIGINT or SIGTERM stops it cleanly.",
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			log := g.logger("serve")
			cfg, err := loadServeConfig(g.configPath(cmd), log)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			return serve(ctx, cfg, g)
		}),
	}
}

// signalContext ends at the first SIGINT or SIGTERM. After it the default
// handling is back, so a second Ctrl-C kills a shutdown that hangs.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// loadServeConfig loads the config; a missing file means the defaults.
func loadServeConfig(path string, log zerolog.Logger) (*config.Config, error) {
	cfg, err := config.Load(path)
	switch {
	case errors.Is(err, config.ErrNotFound):
		log.Info().Str("config", path).
			Msgf("no config file at %s: starting on defaults, with no backends. To add a backend: run `keepwatch init`, then edit %s", path, path)
		return config.Defaults(), nil
	case err != nil:
		var problems config.Errors
		if errors.As(err, &problems) {
			return nil, &exitError{code: exitUsage, err: err}
		}
		return nil, err
	}
	log.Info().Str("config", path).Int("backends", len(cfg.Backends)).Int("users", len(cfg.Users.List)).Msg("configuration loaded")
	return cfg, nil
}

// serve opens what the daemon needs, runs it until ctx ends, and closes it.
func serve(ctx context.Context, cfg *config.Config, g *globals) error {
	log := g.logger("serve")
	a, err := newApp(cfg, g)
	if err != nil {
		return err
	}
	log.Info().Str("version", buildVersion()).Str("listen", a.addr.String()).Str("data_dir", cfg.Server.DataDir).Msg("keepwatch started")
	runErr := a.run(ctx)
	closeErr := a.close()
	if err := errors.Join(runErr, closeErr); err != nil {
		return err
	}
	log.Info().Msg("keepwatch stopped")
	return nil
}

// app is the running daemon: the resources serve opened (closed in reverse
// order once every service has stopped) and the services it runs. Later
// components (plugin host, processor, push workers, scheduler) are added here.
type app struct {
	log         zerolog.Logger
	stopTimeout time.Duration
	store       *store.Store
	addr        net.Addr
	services    []service
	closers     []closer
}

// service is a long-running part of the daemon. run blocks until ctx is done
// (then it must return promptly) or until it fails.
type service struct {
	name string
	run  func(ctx context.Context) error
}

type closer struct {
	name  string
	close func() error
}

func newApp(cfg *config.Config, g *globals) (*app, error) {
	a := &app{log: g.logger("app"), stopTimeout: stopTimeout}
	opened := false
	defer func() {
		if !opened {
			_ = a.close() // release what was opened before the failure
		}
	}()

	dbPath := filepath.Join(cfg.Server.DataDir, store.FileName)
	st, err := store.Open(dbPath, store.Options{})
	if err != nil {
		return nil, err
	}
	a.store = st
	a.closers = append(a.closers, closer{"store", st.Close})

	key, err := apiKey(cfg, a.log)
	if err != nil {
		return nil, err
	}

	// The packages below tag their own lines with a component; they get
	// the untagged process logger so the field is not written twice.
	h, err := host.New(host.Options{Builtins: builtinTypes(), PluginsDir: cfg.Server.PluginsDir, Logger: g.log})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, closer{"plugins", h.Close})
	backends, err := startBackends(h, cfg)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}

	metrics := api.NewMetrics(api.MetricsSources{Store: st, Plugins: h.Statuses, Logger: g.logger("metrics")})
	dir := directory(cfg)
	eng := engine.New(st, engineConfig(cfg, dir), g.log)
	var pipe *pipeline.Pipeline
	// Tokens follow the directory: an account that appears on a server
	// while keepwatch runs gets its webhook URL at the next refresh.
	refreshed := func() {
		if err := issueTokens(st, pipe); err != nil {
			a.log.Error().Err(err).Msg("issue webhook tokens")
		}
	}
	pipe = pipeline.New(pipeline.Options{Store: st, Engine: eng, Backends: backends, Directory: dir,
		Logger: g.log, RefreshEvery: time.Minute,
		Hooks: pipeline.Hooks{Delivery: metrics.Delivery, Push: metrics.Push, Refreshed: refreshed}})
	sched, err := tasks.New(tasks.Options{Store: st, Syncer: syncer{pipe}, Tasks: taskConfig(cfg.Tasks),
		DataDir: cfg.Server.DataDir, Logger: g.log, ImportOnStart: true})
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	a.services = append(a.services, service{name: "pipeline", run: func(ctx context.Context) error {
		waitPlugins(ctx, h, a.log)
		pipe.Start(ctx) // its first Refresh issues the webhook tokens
		sched.Start()   // and catches up with an import
		<-ctx.Done()
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout/2)
		defer cancel()
		schedErr := sched.Stop(stopCtx)
		pipe.Stop()
		return schedErr
	}})

	health := api.NewHealth(0)
	health.AddCheck("store", func(context.Context) error { return st.Check() })
	health.AddCheck("plugins", func(context.Context) error { return h.Ready() })

	router := mux.NewRouter()
	router.Handle("/healthz", health.Live())
	router.Handle("/readyz", health.Ready())
	router.Handle("/metrics", metrics.Handler())
	api.NewWebhooks(api.WebhookOptions{Store: st, Received: pipe.KickInbox, InvalidToken: metrics.InvalidToken,
		MaxBytes: int64(cfg.Server.WebhookMaxBytes), Logger: g.log}).Register(router)
	api.NewManagement(api.Deps{Backends: pipe, Engine: eng, Store: st, Tasks: sched, Health: health, Plugins: h.Statuses,
		PublicURL: cfg.Server.PublicURL}, key, g.log).Register(router)

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (set server.listen to a free address)", cfg.Server.Listen, err)
	}
	a.addr = ln.Addr()
	httpLog := g.logger("http")
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          newStdLogger(httpLog),
	}
	a.services = append(a.services, httpService(srv, ln, httpShutdownGrace))
	opened = true
	return a, nil
}

// httpService serves on ln until ctx ends, then shuts down gracefully.
func httpService(srv *http.Server, ln net.Listener, grace time.Duration) service {
	return service{name: "http", run: func(ctx context.Context) error {
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		select {
		case err := <-served:
			return err
		case <-ctx.Done():
		}
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			_ = srv.Close()
			return fmt.Errorf("shut down: %w", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}}
}

// run starts every service and waits until ctx ends or one service stops;
// then it stops the rest and waits for them, at most a.stopTimeout.
func (a *app) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(a.services))
	for _, s := range a.services {
		go func() { results <- result{s.name, s.run(ctx)} }()
	}

	var errs []error
	pending := len(a.services)
	select {
	case <-ctx.Done():
		a.log.Info().Msg("stopping: signal received")
	case r := <-results:
		pending--
		switch {
		case ctx.Err() != nil:
			// The signal came first and this service simply stopped first.
			a.log.Info().Msg("stopping: signal received")
			if r.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
			}
		default:
			if r.err == nil {
				r.err = errors.New("stopped unexpectedly")
			}
			errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
			a.log.Error().Err(r.err).Str("service", r.name).Msg("stopping: a service failed")
		}
	}
	cancel()

	deadline := time.NewTimer(a.stopTimeout)
	defer deadline.Stop()
	for pending > 0 {
		select {
		case r := <-results:
			pending--
			if r.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
			}
		case <-deadline.C:
			errs = append(errs, fmt.Errorf("stop: %d service(s) still running after %s", pending, a.stopTimeout))
			return errors.Join(errs...)
		}
	}
	return errors.Join(errs...)
}

// close releases resources in reverse order of opening.
func (a *app) close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i].close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", a.closers[i].name, err))
		}
	}
	a.closers = nil
	return errors.Join(errs...)
}
