package tasks

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/keepwatch/keepwatch/core/store"
)

var (
	// ErrBusy is returned by Run when the task is already running, from its
	// schedule or on demand.
	ErrBusy = errors.New("task is already running")
	// ErrUnknownTask is returned by Run for a name that is not a task.
	ErrUnknownTask = errors.New("no such task")
	// ErrStopped is returned by Run once Stop has been called.
	ErrStopped = errors.New("scheduler is stopped")
)

// interruptedReason is the error of runs a previous daemon left running.
const interruptedReason = "interrupted: daemon stopped"

// Request is what one task run is asked to do. A scheduled run gets the zero
// value (import_full sets Full). Backends and User narrow import and export;
// backup and prune ignore them.
type Request struct {
	Backends []string
	User     string
	Full     bool
	DryRun   bool
}

// Syncer runs imports and exports through the engine; the daemon implements
// it. Each method creates its run (engine.StartRun) and calls started(runID)
// as soon as the run exists, before the long work, then returns the finished
// run.
type Syncer interface {
	Import(ctx context.Context, req Request, started func(runID uint64)) (*store.Run, error)
	Export(ctx context.Context, req Request, started func(runID uint64)) (*store.Run, error)
}

// Options configure New.
type Options struct {
	Store   *store.Store
	Syncer  Syncer
	Tasks   Config // missing tasks take DefaultConfig's entries
	DataDir string // backups go to DataDir/backups
	Logger  zerolog.Logger
	Now     func() time.Time // time.Now when nil
	// ImportOnStart runs the delta import once when Start begins the
	// schedules, if the import task is enabled: servers do not resend the
	// webhooks sent while keepwatch was stopped, and an "@every 1h" schedule
	// would otherwise leave what changed meanwhile (or, on the first start,
	// everything) unsynced for up to an hour.
	ImportOnStart bool
}

// TaskInfo describes one task for `keepwatch tasks list` and the API.
type TaskInfo struct {
	Name     string `json:"name"`
	Schedule string `json:"schedule"`
	Enabled  bool   `json:"enabled"`
	Running  bool   `json:"running"`
	RunID    uint64 `json:"run_id,omitempty"` // the run in progress, once it exists
	// The last finished (or current) run this task made, as the store has it now:
	// a held import approved later shows its new status.
	LastRunID  uint64    `json:"last_run_id,omitempty"`
	LastStatus string    `json:"last_status,omitempty"`
	LastEnded  time.Time `json:"last_ended,omitzero"`
	// Next is the next scheduled start; zero when the task is disabled.
	Next time.Time `json:"next,omitzero"`
}

// runFunc is one task's body. It creates its run, calls started with the
// run's id as soon as it exists and returns the finished run.
type runFunc func(ctx context.Context, req Request, started func(runID uint64)) (*store.Run, error)

type task struct {
	name  string
	cfg   TaskConfig
	sched cron.Schedule // nil when the task has no schedule
	entry cron.EntryID  // 0 when not scheduled (disabled)
	do    runFunc

	// Guarded by Scheduler.mu.
	running bool
	runID   uint64
	lastID  uint64
}

// Scheduler runs the tasks from their cron schedules and on demand, one run
// of each task at a time, and keeps every run in the store's run history.
type Scheduler struct {
	store   *store.Store
	syncer  Syncer
	dataDir string
	log     zerolog.Logger
	now     func() time.Time
	created time.Time // runs still "running" that started before this were left by a previous daemon

	cron      *cron.Cron
	ctx       context.Context // every run's context; cancelled by Stop
	cancel    context.CancelFunc
	wg        sync.WaitGroup // runs in progress, scheduled or on demand
	startOnce sync.Once
	// importOnStart is Options.ImportOnStart.
	importOnStart bool

	mu      sync.Mutex
	stopped bool
	tasks   map[string]*task
}

// New validates the configuration (every schedule, enabled or not) and
// prepares the scheduler; Start begins the schedules.
func New(opts Options) (*Scheduler, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("tasks: Options.Store is nil")
	case opts.Syncer == nil:
		return nil, errors.New("tasks: Options.Syncer is nil (import and export run through it)")
	case opts.DataDir == "":
		return nil, errors.New("tasks: Options.DataDir is empty (backups are written to DataDir/backups)")
	}
	cfg, err := opts.Tasks.resolve()
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	log := opts.Logger.With().Str("component", "tasks").Logger()
	cl := cronLogger{log: log}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		store: opts.Store, syncer: opts.Syncer, dataDir: opts.DataDir, log: log, now: now, created: now(),
		cron: cron.New(cron.WithLogger(cl), cron.WithChain(cron.Recover(cl), cron.SkipIfStillRunning(cl))),
		ctx:  ctx, cancel: cancel, tasks: map[string]*task{}, importOnStart: opts.ImportOnStart,
	}
	bodies := map[string]runFunc{
		TaskImport:     s.syncer.Import,
		TaskImportFull: s.syncer.Import,
		TaskExport:     s.syncer.Export,
		TaskBackup: func(ctx context.Context, req Request, started func(uint64)) (*store.Run, error) {
			return s.backup(ctx, req, started, cfg[TaskBackup].Keep)
		},
		TaskPrune: func(ctx context.Context, req Request, started func(uint64)) (*store.Run, error) {
			return s.prune(ctx, req, started, cfg[TaskPrune].KeepDays)
		},
	}
	for _, name := range Names {
		t := &task{name: name, cfg: cfg[name], do: bodies[name]}
		if t.cfg.Schedule != "" {
			t.sched, _ = parseSchedule(t.cfg.Schedule) // resolve has checked it
		}
		if t.cfg.Enabled {
			t.entry = s.cron.Schedule(t.sched, cron.FuncJob(func() { s.runScheduled(t) }))
		}
		s.tasks[name] = t
	}
	if err := s.loadLastRuns(); err != nil {
		return nil, err
	}
	return s, nil
}

// loadLastRuns finds each task's latest run in the history, so List shows
// it after a restart.
func (s *Scheduler) loadLastRuns() error {
	runs, err := s.store.ListRuns(1000)
	if err != nil {
		return fmt.Errorf("tasks: read run history: %w", err)
	}
	for _, r := range runs { // newest first
		if t := s.tasks[taskOf(r)]; t != nil && t.lastID == 0 {
			t.lastID = r.ID
		}
	}
	return nil
}

// taskOf names the task a stored run belongs to: the Syncer may record a full
// import as kind "import" with Full set.
func taskOf(r *store.Run) string {
	if r.Kind == TaskImport && r.Full {
		return TaskImportFull
	}
	return r.Kind
}

// Start marks the runs a previous daemon left running as failed, then starts
// the schedules, and the catch-up import when Options.ImportOnStart asks for
// it. Calling it again, or after Stop, does nothing.
func (s *Scheduler) Start() {
	s.startOnce.Do(func() {
		ids, err := s.store.FailInterruptedRuns(s.created, s.now(), interruptedReason)
		if err != nil {
			s.log.Error().Err(err).Msg("mark interrupted runs failed")
		} else if len(ids) > 0 {
			s.log.Warn().Interface("runs", ids).Msg("runs left running by a previous daemon marked failed")
		}
		s.mu.Lock()
		stopped := s.stopped
		if !stopped {
			s.cron.Start()
		}
		s.mu.Unlock()
		if stopped || !s.importOnStart || !s.tasks[TaskImport].cfg.Enabled {
			return
		}
		// Taken here, not in the goroutine, so the run counts for Stop and
		// blocks a second import from the moment Start returns.
		t, err := s.acquire(TaskImport)
		if err != nil {
			s.log.Info().Err(err).Msg("import at start skipped")
			return
		}
		s.log.Info().Msg("import at start: catching up on what changed while keepwatch was stopped")
		go s.runClaimed(t)
	})
}

// Stop stops the schedules, cancels the context of the runs in progress and
// waits until they have ended or ctx is done.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cancel()
	cronDone := s.cron.Stop()
	ended := make(chan struct{})
	go func() {
		s.wg.Wait()
		<-cronDone.Done()
		close(ended)
	}()
	select {
	case <-ended:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("tasks: stop: %w (still running: %s)", ctx.Err(), strings.Join(s.runningNames(), ", "))
	}
}

func (s *Scheduler) runningNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, name := range Names {
		if s.tasks[name].running {
			names = append(names, name)
		}
	}
	return names
}

// Run starts task name now and answers as soon as its run exists, with the
// run's id and a channel that delivers the finished run (then closes). The
// task keeps running after ctx ends: ctx bounds only the wait for the run to
// exist. It fails with ErrUnknownTask, ErrBusy when the task is running
// already, ErrStopped after Stop, or the task's own error when it failed
// before its run existed (the Syncer refusing the request).
func (s *Scheduler) Run(ctx context.Context, name string, req Request) (runID uint64, done <-chan *store.Run, err error) {
	t, err := s.acquire(name)
	if err != nil {
		return 0, nil, err
	}
	type outcome struct {
		run *store.Run
		err error
	}
	startedCh := make(chan uint64, 1)
	finished := make(chan outcome, 1)
	final := make(chan *store.Run, 1)
	go func() {
		run, err := s.execute(t, t.request(req), false, func(id uint64) { startedCh <- id })
		s.release(t, run)
		if run != nil {
			final <- run
		}
		close(final)
		finished <- outcome{run, err}
	}()
	select {
	case id := <-startedCh:
		return id, final, nil
	case o := <-finished:
		if o.run != nil {
			return o.run.ID, final, nil
		}
		return 0, nil, o.err
	case <-ctx.Done():
		return 0, nil, fmt.Errorf("tasks: %s: waiting for the run to start: %w (the task goes on)", name, ctx.Err())
	}
}

// List describes every task in the order of Names.
func (s *Scheduler) List() []TaskInfo {
	s.mu.Lock()
	infos := make([]TaskInfo, 0, len(Names))
	entries := make([]cron.EntryID, 0, len(Names))
	for _, name := range Names {
		t := s.tasks[name]
		infos = append(infos, TaskInfo{Name: name, Schedule: t.cfg.Schedule, Enabled: t.cfg.Enabled,
			Running: t.running, RunID: t.runID, LastRunID: t.lastID})
		entries = append(entries, t.entry)
	}
	s.mu.Unlock()

	now := s.now()
	for i := range infos {
		info := &infos[i]
		t := s.tasks[info.Name]
		if entries[i] != 0 {
			// The cron entry knows the real next start (an @every counts
			// from Start); before Start, count from now.
			if info.Next = s.cron.Entry(entries[i]).Next; info.Next.IsZero() {
				info.Next = t.sched.Next(now)
			}
		}
		if info.LastRunID == 0 {
			continue
		}
		r, err := s.store.Run(info.LastRunID)
		if err != nil {
			s.log.Warn().Err(err).Str("task", info.Name).Uint64("run", info.LastRunID).Msg("read last run")
			continue
		}
		info.LastStatus, info.LastEnded = r.Status, r.EndedAt
	}
	return infos
}

// request is what one run of t is asked: import_full always imports in full.
func (t *task) request(req Request) Request {
	if t.name == TaskImportFull {
		req.Full = true
	}
	return req
}

// exclusive names the tasks that must not run beside a task: a delta and a
// full import read the same servers into the same records, so both at once
// only doubles the load on the servers and the guard's counts.
var exclusive = map[string][]string{TaskImport: {TaskImportFull}, TaskImportFull: {TaskImport}}

// acquire claims t for one run, or says why it cannot run now.
func (s *Scheduler) acquire(name string) (*task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, fmt.Errorf("tasks: %s: %w", name, ErrStopped)
	}
	t := s.tasks[name]
	if t == nil {
		return nil, fmt.Errorf("tasks: %q: %w (the tasks are %s)", name, ErrUnknownTask, strings.Join(Names, ", "))
	}
	if t.running {
		if t.runID != 0 {
			return nil, fmt.Errorf("tasks: %s: %w (run %d)", name, ErrBusy, t.runID)
		}
		return nil, fmt.Errorf("tasks: %s: %w", name, ErrBusy)
	}
	for _, other := range exclusive[name] {
		if o := s.tasks[other]; o != nil && o.running {
			return nil, fmt.Errorf("tasks: %s: %w: %s is running (run %d) and reads the same servers", name, ErrBusy, other, o.runID)
		}
	}
	t.running, t.runID = true, 0
	s.wg.Add(1)
	return t, nil
}

// release ends t's claim; run is the run it made, if any.
func (s *Scheduler) release(t *task, run *store.Run) {
	s.mu.Lock()
	t.running, t.runID = false, 0
	if run != nil {
		t.lastID = run.ID
	}
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Scheduler) setRunID(t *task, id uint64) {
	s.mu.Lock()
	t.runID, t.lastID = id, id
	s.mu.Unlock()
}

// runScheduled is the cron job of t. A run already in progress (started on
// demand: cron's SkipIfStillRunning sees only scheduled ones) means skip.
func (s *Scheduler) runScheduled(t *task) {
	if _, err := s.acquire(t.name); err != nil {
		s.log.Info().Str("task", t.name).Err(err).Msg("scheduled run skipped")
		return
	}
	s.runClaimed(t)
}

// runClaimed makes a scheduled run of t, which the caller has acquired.
func (s *Scheduler) runClaimed(t *task) {
	run, _ := s.execute(t, t.request(Request{}), true, nil)
	s.release(t, run)
}

// execute runs t's body under the scheduler's context and makes sure the run
// ends in the history with a final status: a body that panics or returns
// without finishing its run gets it marked failed. A scheduled run that fails
// before its run exists still leaves a failed run, so the history shows it;
// a run on demand returns that error to its caller instead.
func (s *Scheduler) execute(t *task, req Request, scheduled bool, started func(uint64)) (run *store.Run, err error) {
	var id atomic.Uint64
	var once sync.Once
	mark := func(runID uint64) {
		once.Do(func() {
			id.Store(runID)
			s.setRunID(t, runID)
			if started != nil {
				started(runID)
			}
		})
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error().Str("task", t.name).Uint64("run", id.Load()).Interface("panic", p).
				Str("stack", string(debug.Stack())).Msg("task panicked")
			run, err = s.failRun(t.name, req, id.Load(), fmt.Errorf("panic: %v", p))
		}
		s.logOutcome(t.name, run, err)
	}()
	run, err = t.do(s.ctx, req, mark)
	switch {
	case run != nil && run.Status == store.RunRunning:
		cause := fmt.Errorf("%s ended without finishing its run", t.name)
		if err != nil {
			cause = err
		}
		return s.failRun(t.name, req, run.ID, cause)
	case run != nil:
		return run, err
	case err == nil:
		err = fmt.Errorf("%s returned no run", t.name)
	}
	if id.Load() != 0 || scheduled {
		return s.failRun(t.name, req, id.Load(), err)
	}
	return nil, fmt.Errorf("tasks: %s: %w", t.name, err)
}

// failRun marks run id failed with cause (unless it already ended), or, when
// id is 0, records a failed run of kind name.
func (s *Scheduler) failRun(name string, req Request, id uint64, cause error) (*store.Run, error) {
	now := s.now()
	var r *store.Run
	if id == 0 {
		r = &store.Run{Kind: name, Backends: req.Backends, User: req.User, Full: req.Full, DryRun: req.DryRun,
			Status: store.RunFailed, StartedAt: now, EndedAt: now, Error: cause.Error()}
		if err := s.store.CreateRun(r); err != nil {
			return nil, fmt.Errorf("tasks: %s: record failed run (%v): %w", name, cause, err)
		}
		return r, nil
	}
	r, err := s.store.Run(id)
	if err != nil {
		return nil, fmt.Errorf("tasks: %s: mark run %d failed (%v): %w", name, id, cause, err)
	}
	if r.Status != store.RunRunning {
		return r, nil
	}
	r.Status, r.Error, r.EndedAt = store.RunFailed, cause.Error(), now
	if err := s.store.PutRun(r); err != nil {
		return nil, fmt.Errorf("tasks: %s: mark run %d failed (%v): %w", name, id, cause, err)
	}
	return r, nil
}

func (s *Scheduler) logOutcome(name string, run *store.Run, err error) {
	switch {
	case run == nil:
		s.log.Error().Str("task", name).Err(err).Msg("task failed before its run existed")
	case run.Status == store.RunFailed:
		s.log.Error().Str("task", name).Uint64("run", run.ID).Str("error", run.Error).Msg("task failed")
	default:
		s.log.Info().Str("task", name).Uint64("run", run.ID).Str("status", run.Status).
			Interface("counts", run.Counts).Msg("task finished")
	}
}

// cronLogger adapts zerolog to cron.Logger. cron's Info lines (wake, run,
// schedule) are debug noise for us; its Error lines (a recovered panic) are not.
type cronLogger struct{ log zerolog.Logger }

func (l cronLogger) Info(msg string, keysAndValues ...any) {
	l.log.Debug().Fields(keysAndValues).Msg("cron: " + msg)
}

func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	l.log.Error().Err(err).Fields(keysAndValues).Msg("cron: " + msg)
}
