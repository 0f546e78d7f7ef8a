package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// DefaultCheckTimeout bounds one readiness check when NewHealth is given 0.
const DefaultCheckTimeout = 5 * time.Second

// Check reports whether one dependency can serve; nil means ready. It must
// return once ctx is done.
type Check func(ctx context.Context) error

// Health serves liveness (/healthz: the process answers) and readiness
// (/readyz: every named check passes). Checks may be added while serving.
type Health struct {
	timeout time.Duration

	mu     sync.RWMutex
	checks []namedCheck
}

type namedCheck struct {
	name  string
	check Check
}

// NewHealth returns a Health with no checks, each check bounded by
// checkTimeout (DefaultCheckTimeout when 0).
func NewHealth(checkTimeout time.Duration) *Health {
	if checkTimeout <= 0 {
		checkTimeout = DefaultCheckTimeout
	}
	return &Health{timeout: checkTimeout}
}

// AddCheck registers a readiness check. Names are what /readyz reports; an
// empty or repeated name is a programming error and panics.
func (h *Health) AddCheck(name string, check Check) {
	if name == "" || check == nil {
		panic("api: AddCheck needs a name and a check")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.checks {
		if c.name == name {
			panic(fmt.Sprintf("api: readiness check %q added twice", name))
		}
	}
	h.checks = append(h.checks, namedCheck{name: name, check: check})
}

// CheckResult is one check's outcome in the /readyz body.
type CheckResult struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "ok" or "fail"
	Error  string `json:"error,omitempty"`
}

// Readiness is the /readyz body. Failing names the failing checks.
type Readiness struct {
	Status  string        `json:"status"` // "ok" or "unavailable"
	Failing []string      `json:"failing,omitempty"`
	Checks  []CheckResult `json:"checks"`
}

// Live returns the /healthz handler: 200 {"status":"ok"} whenever the process
// can answer at all. It checks nothing else, so an orchestrator restarts the
// process only when it is truly stuck.
func (h *Health) Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowRead(w, r) {
			return
		}
		writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// Ready returns the /readyz handler: it runs every check concurrently and
// answers 200 when all pass, 503 naming the failing ones otherwise.
func (h *Health) Ready() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowRead(w, r) {
			return
		}
		result := h.Run(r.Context())
		status := http.StatusOK
		if len(result.Failing) > 0 {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, r, status, result)
	})
}

// Run runs every readiness check concurrently, each bounded by the check
// timeout, and reports them in the order they were added.
func (h *Health) Run(ctx context.Context) Readiness {
	h.mu.RLock()
	checks := append([]namedCheck(nil), h.checks...)
	h.mu.RUnlock()

	results := make([]CheckResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = CheckResult{Name: c.name, Status: "ok"}
			if err := h.runOne(ctx, c.check); err != nil {
				results[i].Status, results[i].Error = "fail", err.Error()
			}
		}()
	}
	wg.Wait()

	out := Readiness{Status: "ok", Checks: results}
	for _, res := range results {
		if res.Status != "ok" {
			out.Failing = append(out.Failing, res.Name)
		}
	}
	if len(out.Failing) > 0 {
		out.Status = "unavailable"
	}
	return out
}

// runOne runs a check under the timeout. The check runs in its own goroutine
// so one that ignores its context cannot hold /readyz open, and a panic
// becomes a failure instead of taking the server down.
func (h *Health) runOne(ctx context.Context, check Check) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("check panicked: %v", p)
			}
		}()
		done <- check(ctx)
	}()
	select {
	case err := <-done:
		if err != nil && ctx.Err() != nil {
			// Failed because its time ran out: report it like a check that
			// never answered, so the message does not depend on who won.
			return fmt.Errorf("no answer within %s: %w", h.timeout, ctx.Err())
		}
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s: %w", h.timeout, ctx.Err())
	}
}

func allowRead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}
