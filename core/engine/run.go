package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// errDryRun rolls back a dry run's transaction after its effects were computed.
var errDryRun = errors.New("dry run")

// batch is what applyBatch merges in one transaction.
type batch struct {
	origin model.Origin
	guard  *guardState // nil: nothing is held
	dryRun bool
	obs    []model.Observation
	// added are items that appeared on a backend (stateless; see link).
	added []model.Observation
	// finish, when set, runs last in the same transaction: a webhook
	// delivery is finished with the merge, so a crash can neither lose it
	// nor apply it twice.
	finish func(*store.Tx, Result) error
}

// applyBatch merges b in one transaction under b.origin.
func (e *Engine) applyBatch(ctx context.Context, b batch) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	var a *applyTx
	guard := b.guard.begin()
	err := e.store.Update(func(tx *store.Tx) error {
		a = &applyTx{e: e, tx: tx, origin: b.origin, now: e.now(), guard: guard}
		for i := range b.obs {
			if err := a.apply(b.obs[i]); err != nil {
				return fmt.Errorf("engine: apply observation %d of %d from %s: %w", i+1, len(b.obs), b.obs[i].Backend, err)
			}
		}
		for i := range b.added {
			if err := a.link(b.added[i]); err != nil {
				return fmt.Errorf("engine: link item %s added on %s: %w", b.added[i].RemoteID, b.added[i].Backend, err)
			}
		}
		if b.finish != nil {
			if err := b.finish(tx, a.res); err != nil {
				return err
			}
		}
		if b.dryRun {
			return errDryRun
		}
		return nil
	})
	if b.dryRun && errors.Is(err, errDryRun) {
		// Nothing was written; journal what would have been, for the run's report.
		err = e.store.Update(func(tx *store.Tx) error {
			for _, ev := range a.events {
				ev.DryRun = true
				if err := tx.AppendJournal(&ev); err != nil {
					return err
				}
			}
			return nil
		})
		guard.rollback()
	} else if err != nil {
		guard.rollback()
	} else {
		guard.commit()
	}
	if err != nil {
		return Result{}, err
	}
	return a.res, nil
}

// ApplyDelivery merges the observations parsed from one webhook delivery,
// links the items it says were added, and finishes the delivery with its
// outcome, all in one transaction. Webhooks are never held by the guard: a
// person acted, one item at a time.
func (e *Engine) ApplyDelivery(ctx context.Context, d *store.Delivery, obs, added []model.Observation) (Result, error) {
	return e.applyBatch(ctx, batch{origin: model.Origin{Kind: model.OriginDelivery, ID: d.ID}, obs: obs, added: added,
		finish: func(tx *store.Tx, r Result) error {
			status, reason := deliveryOutcome(r, len(obs), len(added))
			return tx.FinishDelivery(d, status, reason, r.Changes()+r.Linked, e.now())
		}})
}

// deliveryOutcome is the status and reason a delivery of nObs observations and
// nAdded added items ends with, from what merging them did.
func deliveryOutcome(r Result, nObs, nAdded int) (status, reason string) {
	if nObs == 0 && nAdded > 0 {
		switch {
		case r.Linked > 0 || r.Queued > 0:
			return store.DeliveryApplied, fmt.Sprintf("item added: %d record(s) linked, %d write(s) queued", r.Linked, r.Queued)
		case r.Unmatched+r.Ignored+r.Invalid == r.Observed:
			return store.DeliveryIgnored, "item added: no configured user, or no guid to match it on"
		default:
			return store.DeliveryApplied, "item added: no record needs writing to it"
		}
	}
	switch {
	case r.Observed > 0 && r.Unmatched == r.Observed:
		return store.DeliveryUnmatched, "no guid or known id to match on"
	case r.Observed > 0 && r.Ignored+r.Invalid == r.Observed:
		return store.DeliveryIgnored, "no configured backend or user for its observations"
	}
	return store.DeliveryApplied, ""
}

// FinishDelivery records a delivery's outcome without merging anything (a
// payload that could not be parsed, an event with nothing to sync).
func (e *Engine) FinishDelivery(d *store.Delivery, status, reason string) error {
	return e.store.Update(func(tx *store.Tx) error { return tx.FinishDelivery(d, status, reason, 0, e.now()) })
}

// Run is an import or export run in progress. Pages applied through it are
// journaled under the run's id, and the guard watches them.
type Run struct {
	e       *Engine
	mu      sync.Mutex
	run     *store.Run
	guard   *guardState
	res     Result
	savedAt time.Time // when the counters were last saved
}

// RunOptions describe a run to start.
type RunOptions struct {
	Kind     string // "import", "import_full", "export", "manual", …
	Backends []string
	User     string
	Full     bool
	DryRun   bool
	// Guarded: rule-2 flips are held until the run ends and the guard judges
	// them. Import runs are guarded; a person's manual change is not.
	Guarded bool
}

// StartRun creates a run record with status running.
func (e *Engine) StartRun(ctx context.Context, opts RunOptions) (*Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &store.Run{Kind: opts.Kind, Backends: opts.Backends, User: opts.User, Full: opts.Full, DryRun: opts.DryRun,
		Status: store.RunRunning, StartedAt: e.now()}
	if err := e.store.CreateRun(r); err != nil {
		return nil, fmt.Errorf("engine: start %s run: %w", opts.Kind, err)
	}
	run := &Run{e: e, run: r}
	if opts.Guarded {
		run.guard = newGuardState()
	}
	return run, nil
}

// ID returns the run's id.
func (r *Run) ID() uint64 { return r.run.ID }

// Result returns the counts so far.
func (r *Run) Result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res
}

// Apply merges one page of observations in one transaction.
func (r *Run) Apply(ctx context.Context, obs []model.Observation) (Result, error) {
	origin := model.Origin{Kind: model.OriginRun, ID: r.run.ID}
	res, err := r.e.applyBatch(ctx, batch{origin: origin, guard: r.guard, dryRun: r.run.DryRun, obs: obs})
	r.add(res)
	return res, err
}

// progressEvery is how often a running run's counters are saved, so that
// `keepwatch import` can show a live progress line.
const progressEvery = time.Second

// add counts res into the run and saves the counters when the last save is
// older than progressEvery.
func (r *Run) add(res Result) {
	r.mu.Lock()
	r.res.Add(res)
	now := r.e.now()
	if now.Sub(r.savedAt) < progressEvery {
		r.mu.Unlock()
		return
	}
	r.savedAt = now
	snap := *r.run
	snap.Counts = r.res.Counts()
	r.mu.Unlock()
	if err := r.e.store.PutRun(&snap); err != nil {
		r.e.log.Warn().Err(err).Uint64("run", snap.ID).Msg("save run progress")
	}
}

// Finish ends the run. When runErr is nil the guard judges the run's flips:
// a backend over the threshold keeps its flips held and the run ends held;
// the other backends' flips are applied now. A failed run commits nothing
// more: what it merged stays, held flips are applied only if not over the
// threshold, and missing items are never taken as unwatched.
func (r *Run) Finish(ctx context.Context, runErr error) (*store.Run, error) {
	r.mu.Lock()
	run := *r.run
	run.Counts = r.res.Counts()
	r.mu.Unlock()

	held := false
	if r.guard != nil {
		run.Guard = map[string]store.GuardCount{}
		for backend, c := range r.guard.counts {
			c.Held = r.e.overThreshold(c)
			c.HeldChange = c.ToWatched + c.ToUnwatch
			run.Guard[backend] = c
			if c.Held {
				held = true
				continue
			}
			if c.HeldChange > 0 && !run.DryRun {
				res, err := r.e.releaseHeld(ctx, run.ID, backend)
				if err != nil {
					runErr = errors.Join(runErr, err)
				}
				res.Held = 0
				addCounts(run.Counts, res)
			}
		}
	}
	run.EndedAt = r.e.now()
	switch {
	case runErr != nil:
		run.Status, run.Error = store.RunFailed, runErr.Error()
	case held:
		run.Status = store.RunHeld
	default:
		run.Status = store.RunOK
	}
	if err := r.e.store.PutRun(&run); err != nil {
		return nil, fmt.Errorf("engine: finish run %d: %w", run.ID, err)
	}
	r.e.log.Info().Uint64("run", run.ID).Str("kind", run.Kind).Str("status", run.Status).
		Int("observed", run.Counts["observed"]).Int("changed", run.Counts["changed"]).
		Int("created", run.Counts["created"]).Int("held", run.Counts["held"]).Msg("run finished")
	return &run, nil
}

func addCounts(m map[string]int, r Result) {
	for k, v := range r.Counts() {
		m[k] += v
	}
}

// overThreshold is rule 7: more than max_fraction and more than min_items of
// the backend's observed items flipped in one direction.
func (e *Engine) overThreshold(c store.GuardCount) bool {
	g := e.cfg.Guard
	over := func(n int) bool {
		return n > g.MinItems && float64(n) > g.MaxFraction*float64(c.Observed)
	}
	return over(c.ToUnwatch) || over(c.ToWatched)
}

// releaseHeld applies a run's held changes for backend page by page, with the
// guard off, under the run's origin so undo covers them, then drops them.
func (e *Engine) releaseHeld(ctx context.Context, runID uint64, backend string) (Result, error) {
	var total Result
	origin := model.Origin{Kind: model.OriginRun, ID: runID}
	var after []byte
	for {
		page, next, err := e.store.HeldPage(runID, backend, after, 500)
		if err != nil {
			return total, err
		}
		obs := make([]model.Observation, len(page))
		for i, h := range page {
			obs[i] = h.Observation
			// Held changes were judged when fetched; now they are applied as
			// the newest word from that backend.
			obs[i].ObservedAt = e.now()
		}
		if len(obs) > 0 {
			res, err := e.applyBatch(ctx, batch{origin: origin, obs: obs})
			if err != nil {
				return total, err
			}
			total.Add(res)
		}
		if next == nil {
			break
		}
		after = next
	}
	_, err := e.store.DeleteHeld(runID, backend)
	return total, err
}

// Approve applies a held run's held changes; they then propagate like any
// other change.
func (e *Engine) Approve(ctx context.Context, runID uint64) (*store.Run, error) {
	run, err := e.heldRun(runID)
	if err != nil {
		return nil, err
	}
	for _, backend := range heldBackends(run) {
		res, err := e.releaseHeld(ctx, runID, backend)
		if err != nil {
			return nil, fmt.Errorf("engine: approve run %d: %w", runID, err)
		}
		addCounts(run.Counts, res)
	}
	run.Status = store.RunApproved
	return run, e.store.PutRun(run)
}

// Discard drops a held run's held changes and treats the backend as out of
// date instead: its base becomes what it reported, so the outbox writes the
// household's state back to it.
func (e *Engine) Discard(ctx context.Context, runID uint64) (*store.Run, error) {
	run, err := e.heldRun(runID)
	if err != nil {
		return nil, err
	}
	origin := model.Origin{Kind: model.OriginRun, ID: runID}
	for _, backend := range heldBackends(run) {
		var after []byte
		for {
			page, next, err := e.store.HeldPage(runID, backend, after, 500)
			if err != nil {
				return nil, err
			}
			err = e.store.Update(func(tx *store.Tx) error {
				a := &applyTx{e: e, tx: tx, origin: origin, now: e.now()}
				for i := range page {
					o := page[i].Observation
					id, found, conflict := a.match(&o)
					if !found || conflict {
						continue
					}
					r, err := tx.Record(id)
					if err != nil {
						return err
					}
					r.Bases = setBase(r.Bases, &o)
					if err := tx.PutRecord(r); err != nil {
						return err
					}
					if err := a.plan(r); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("engine: discard run %d: %w", runID, err)
			}
			if next == nil {
				break
			}
			after = next
		}
		if _, err := e.store.DeleteHeld(runID, backend); err != nil {
			return nil, err
		}
	}
	run.Status = store.RunDiscarded
	return run, e.store.PutRun(run)
}

func (e *Engine) heldRun(runID uint64) (*store.Run, error) {
	run, err := e.store.Run(runID)
	if err != nil {
		return nil, err
	}
	if run.Status != store.RunHeld {
		return nil, fmt.Errorf("engine: run %d is %s: %w", runID, run.Status, ErrNotHeld)
	}
	if run.Counts == nil {
		run.Counts = map[string]int{}
	}
	return run, nil
}

func heldBackends(run *store.Run) []string {
	var out []string
	for b, c := range run.Guard {
		if c.Held {
			out = append(out, b)
		}
	}
	sort.Strings(out)
	return out
}

// Undo restores what run runID did to records: each change the run journaled
// is reverted, newest first, where the record still holds the value the run
// set (a later change by someone else is left alone and counted). The
// restored state is then pushed like any change. Undo is itself a run.
func (e *Engine) Undo(ctx context.Context, runID uint64) (*store.Run, error) {
	target, err := e.store.Run(runID)
	if err != nil {
		return nil, err
	}
	events, err := e.store.Journal(model.Origin{Kind: model.OriginRun, ID: runID})
	if err != nil {
		return nil, err
	}
	undo, err := e.StartRun(ctx, RunOptions{Kind: "undo", Backends: target.Backends})
	if err != nil {
		return nil, err
	}
	origin := model.Origin{Kind: model.OriginRun, ID: undo.ID()}
	restored, skipped := 0, 0
	const pageSize = 500
	for end := len(events); end > 0; end -= pageSize {
		start := max(0, end-pageSize)
		err := e.store.Update(func(tx *store.Tx) error {
			a := &applyTx{e: e, tx: tx, origin: origin, now: e.now()}
			for i := end - 1; i >= start; i-- {
				ev := events[i]
				if ev.DryRun || ev.After == nil || (ev.Kind != model.EventRecordChanged && ev.Kind != model.EventRecordCreated) {
					continue
				}
				r, err := tx.Record(ev.RecordID)
				if errors.Is(err, store.ErrNotFound) {
					skipped++
					continue
				}
				if err != nil {
					return err
				}
				if r.State != *ev.After {
					skipped++ // changed again since: not ours to revert
					continue
				}
				prev := model.State{}
				if ev.Before != nil {
					prev = *ev.Before
				}
				cur := r.State
				r.State = prev
				// A person asked for this, now: it is the newest change.
				r.UpdatedAt, r.ChangedAt, r.ChangedBy = a.now, a.now, "undo"
				r.ProgressAt, r.ProgressChangedAt, r.ProgressBy = a.now, a.now, "undo"
				if err := tx.PutRecord(r); err != nil {
					return err
				}
				if err := a.journal(model.Event{Kind: model.EventUndone, RecordID: r.ID, User: r.User,
					Before: &cur, After: &prev, Reason: fmt.Sprintf("undo of run %d", runID)}); err != nil {
					return err
				}
				restored++
				if err := a.plan(r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return undo.Finish(ctx, fmt.Errorf("engine: undo run %d: %w", runID, err))
		}
	}
	undo.mu.Lock()
	undo.res.Changed, undo.res.Unchanged = restored, skipped
	undo.mu.Unlock()
	target.Status = store.RunUndone
	if err := e.store.PutRun(target); err != nil {
		return nil, err
	}
	return undo.Finish(ctx, nil)
}

// guardState counts, per backend, what one run observed and how many rule-2
// flips it held. Counts of a transaction that rolls back are discarded.
type guardState struct {
	mu      sync.Mutex
	counts  map[string]store.GuardCount
	pending map[string]store.GuardCount
}

func newGuardState() *guardState {
	return &guardState{counts: map[string]store.GuardCount{}}
}

func (g *guardState) begin() *guardState {
	if g == nil {
		return nil
	}
	g.mu.Lock() // held for the transaction: one page at a time per run
	g.pending = map[string]store.GuardCount{}
	return g
}

func (g *guardState) observe(backend string) {
	c := g.pending[backend]
	c.Observed++
	g.pending[backend] = c
}

// flip counts a rule-2 flip and reports that it must be held.
func (g *guardState) flip(backend string, toWatched bool) bool {
	c := g.pending[backend]
	if toWatched {
		c.ToWatched++
	} else {
		c.ToUnwatch++
	}
	g.pending[backend] = c
	return true
}

func (g *guardState) commit() {
	if g == nil {
		return
	}
	for b, p := range g.pending {
		c := g.counts[b]
		c.Observed += p.Observed
		c.ToWatched += p.ToWatched
		c.ToUnwatch += p.ToUnwatch
		g.counts[b] = c
	}
	g.pending = nil
	g.mu.Unlock()
}

func (g *guardState) rollback() {
	if g == nil {
		return
	}
	g.pending = nil
	g.mu.Unlock()
}
