package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/keepwatch/keepwatch/core/engine"
	"github.com/keepwatch/keepwatch/core/pipeline"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/tasks"
)

func (m *Management) listTasks(w http.ResponseWriter, r *http.Request) error {
	out := m.deps.Tasks.List()
	if out == nil {
		out = []tasks.TaskInfo{}
	}
	return ok(w, r, out)
}

// RunRequest is the body of POST /tasks/{name}/run. Backends and User narrow
// import and export; backup and prune ignore them.
type RunRequest struct {
	Backends []string `json:"backends"`
	User     string   `json:"user"`
	Full     bool     `json:"full"`
	DryRun   bool     `json:"dry_run"`
}

// RunStarted answers POST /tasks/{name}/run: follow the run with GET
// /runs/{run_id}.
type RunStarted struct {
	RunID uint64 `json:"run_id"`
}

func (m *Management) runTask(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	var req RunRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	for _, b := range req.Backends {
		if _, err := m.knownBackend("backends", b); err != nil {
			return err
		}
	}
	if req.User != "" {
		if err := m.knownUser("user", req.User, false); err != nil {
			return err
		}
	}
	// The run goes on after this request: only the wait for it to exist is
	// bound to the request.
	id, _, err := m.deps.Tasks.Run(r.Context(), name, tasks.Request{Backends: req.Backends, User: req.User, Full: req.Full, DryRun: req.DryRun})
	switch {
	case errors.Is(err, tasks.ErrUnknownTask):
		return notFound("task %q does not exist (the tasks are: %s)", name, strings.Join(tasks.Names, ", "))
	case errors.Is(err, tasks.ErrBusy):
		return conflict("%s: wait for it to end (GET %s/tasks shows its run)", strings.TrimPrefix(err.Error(), "tasks: "), APIPrefix)
	case errors.Is(err, tasks.ErrStopped):
		return &apiError{http.StatusServiceUnavailable, "unavailable", "keepwatch is stopping: no new runs"}
	case errors.Is(err, pipeline.ErrUnknownBackend), errors.Is(err, pipeline.ErrUnknownUser):
		return notFound("%v", err)
	case err != nil:
		return err
	}
	writeJSON(w, r, http.StatusAccepted, RunStarted{RunID: id})
	return nil
}

func (m *Management) listRuns(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryLimit(r, 20, 1000)
	if err != nil {
		return err
	}
	runs, err := m.deps.Store.ListRuns(limit)
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []*store.Run{}
	}
	return ok(w, r, runs)
}

// run returns the {id} run or a 404.
func (m *Management) run(r *http.Request) (*store.Run, error) {
	id, err := pathID(r, "run")
	if err != nil {
		return nil, err
	}
	run, err := m.deps.Store.Run(id)
	if err != nil {
		return nil, notFoundAs(err, "run %d does not exist (list runs with GET %s/runs)", id, APIPrefix)
	}
	return run, nil
}

func (m *Management) showRun(w http.ResponseWriter, r *http.Request) error {
	run, err := m.run(r)
	if err != nil {
		return err
	}
	return ok(w, r, run)
}

// decideHeld approves or discards a held run.
func (m *Management) decideHeld(w http.ResponseWriter, r *http.Request, verb string,
	decide func(ctx context.Context, runID uint64) (*store.Run, error)) error {
	run, err := m.run(r)
	if err != nil {
		return err
	}
	if run.Status != store.RunHeld {
		return conflict("run %d is %s, not held: only a run held by the guard can be %s", run.ID, run.Status, verb)
	}
	done, err := decide(r.Context(), run.ID)
	if errors.Is(err, engine.ErrNotHeld) {
		return conflict("run %d is no longer held: %v", run.ID, err)
	}
	if err != nil {
		return fmt.Errorf("run %d: %w", run.ID, err)
	}
	m.log.Info().Uint64("run", run.ID).Str("status", done.Status).Msg("held run " + verb)
	return ok(w, r, done)
}

func (m *Management) approveRun(w http.ResponseWriter, r *http.Request) error {
	return m.decideHeld(w, r, "approved", m.deps.Engine.Approve)
}

func (m *Management) discardRun(w http.ResponseWriter, r *http.Request) error {
	return m.decideHeld(w, r, "discarded", m.deps.Engine.Discard)
}

// undoRun answers the undo run (a run of kind "undo"), not the undone one.
func (m *Management) undoRun(w http.ResponseWriter, r *http.Request) error {
	run, err := m.run(r)
	if err != nil {
		return err
	}
	switch run.Status {
	case store.RunRunning:
		return conflict("run %d is still running: undo it once it has ended", run.ID)
	case store.RunUndone:
		return conflict("run %d is undone already", run.ID)
	}
	undo, err := m.deps.Engine.Undo(r.Context(), run.ID)
	if err != nil {
		return fmt.Errorf("undo run %d: %w", run.ID, err)
	}
	m.log.Info().Uint64("run", run.ID).Uint64("undo_run", undo.ID).Msg("run undone")
	return ok(w, r, undo)
}

func (m *Management) health(w http.ResponseWriter, r *http.Request) error {
	out := Readiness{Status: "ok", Checks: []CheckResult{}}
	if m.deps.Health != nil {
		out = m.deps.Health.Run(r.Context())
	}
	code := http.StatusOK
	if len(out.Failing) > 0 {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, r, code, out)
	return nil
}
