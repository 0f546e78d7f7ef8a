package engine

import (
	"fmt"
	"time"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// applyTx is the state of one merge transaction.
type applyTx struct {
	e      *Engine
	tx     *store.Tx
	origin model.Origin
	now    time.Time
	guard  *guardState // nil: nothing is held (webhooks, approvals)
	res    Result
	events []model.Event
}

// journal appends ev to the journal under the transaction's origin.
func (a *applyTx) journal(ev model.Event) error {
	ev.Origin, ev.At = a.origin, a.now
	a.events = append(a.events, ev)
	return a.tx.AppendJournal(&ev)
}

// normalise applies the configuration's thresholds to an observation: ObservedAt
// defaults to now; positions under min_progress count as 0; progress at or past
// watched_percent is a completion where the source has no completion signal of
// its own (DESIGN rule 6).
func (e *Engine) normalise(o *model.Observation, now time.Time) {
	if o.ObservedAt.IsZero() {
		o.ObservedAt = now
	}
	o.Item.GUIDs = model.SortGUIDs(o.Item.GUIDs)
	o.Item.ShowGUIDs = model.SortGUIDs(o.Item.ShowGUIDs)
	if !o.HasProgress {
		return
	}
	if o.InferCompletion && !o.HasWatched && o.Item.Duration > 0 && e.cfg.WatchedPercent > 0 &&
		o.Progress*100 >= o.Item.Duration*time.Duration(e.cfg.WatchedPercent) {
		o.HasWatched, o.Watched, o.Progress = true, true, 0
		if o.PlayedAt.IsZero() {
			o.PlayedAt = firstKnown(o.EventAt, o.ObservedAt)
		}
	}
	if o.Progress < e.cfg.MinProgress {
		o.Progress = 0
	}
}

// eventTime is when the observed change happened, as far as the observation
// knows: a play's date, else the server's event time (a webhook's), else zero —
// an unwatch found by an import carries no date.
func eventTime(o *model.Observation) time.Time {
	if o.HasWatched && o.Watched && !o.PlayedAt.IsZero() {
		return o.PlayedAt
	}
	return o.EventAt
}

func firstKnown(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// match finds the record an observation is about, in DESIGN's order: the
// (backend, remote id) index; then every GUID the observation carries —
// relative GUIDs of an episode's show and the item's own GUIDs — which must all
// agree; then, when enabled, title + year. conflict is true when two keys point
// at different records.
func (a *applyTx) match(o *model.Observation) (id uint64, found, conflict bool) {
	if o.RemoteID != "" {
		if id, ok := a.tx.FindByRemote(o.User, o.Backend, o.RemoteID); ok {
			return id, true, false
		}
	}
	for _, k := range guidKeys(&o.Item) {
		got, ok := a.tx.FindByKey(o.User, k)
		if !ok {
			continue
		}
		if found && got != id {
			return 0, false, true
		}
		id, found = got, true
	}
	if found {
		return id, true, false
	}
	if a.e.cfg.MatchTitleYear {
		if k := o.Item.TitleKey(); k != "" {
			if got, ok := a.tx.FindByKey(o.User, k); ok {
				return got, true, false
			}
		}
	}
	return 0, false, false
}

// guidKeys lists an item's GUID match keys: relative GUIDs first (an episode's
// own ids are often missing or differ between agents), then its own GUIDs.
func guidKeys(it *model.Item) []string {
	rel := it.RelativeGUIDs()
	keys := make([]string, 0, len(rel)+len(it.GUIDs))
	for _, r := range rel {
		keys = append(keys, string(r))
	}
	for _, g := range it.GUIDs {
		keys = append(keys, string(g))
	}
	return keys
}

// apply merges one observation. It is DESIGN's "sync rules" 1–6 plus the
// guard's hook (rule 7); push planning (rule 4) follows in plan.
func (a *applyTx) apply(o model.Observation) error {
	a.res.Observed++
	a.e.normalise(&o, a.now)
	if err := validate(&o); err != nil {
		a.res.Invalid++
		return nil
	}
	policy, known := a.e.cfg.Backends[o.Backend]
	if !known {
		a.res.Ignored++
		return nil
	}
	if a.guard != nil {
		a.guard.observe(o.Backend)
	}

	id, found, conflict := a.match(&o)
	if conflict {
		return a.conflict(&o)
	}
	if !found {
		if len(guidKeys(&o.Item)) == 0 && (!a.e.cfg.MatchTitleYear || o.Item.TitleKey() == "") {
			// No GUID and an id we never saw: nothing to match it with on any
			// other server. Count it and keep it listable.
			a.res.Unmatched++
			if err := a.tx.AddStats(o.Backend, store.BackendStats{Unmatched: 1}); err != nil {
				return err
			}
			return a.tx.PutUnmatched(&store.Unmatched{Backend: o.Backend, RemoteID: o.RemoteID, Title: o.Item.Title,
				Kind: string(o.Item.Kind), Reason: "no guid and no known id", LastSeen: a.now})
		}
		if !policy.Import {
			a.res.Ignored++
			return nil
		}
		return a.create(&o)
	}

	r, err := a.tx.Record(id)
	if err != nil {
		return err
	}
	base, hasBase := r.Bases[o.Backend]
	if hasBase && o.ObservedAt.Before(base.SeenAt) {
		// Older than what we already saw on this backend (a webhook that sat in
		// the inbox behind an import, a duplicate): it can only be stale.
		a.res.Stale++
		return a.tx.AddStats(o.Backend, store.BackendStats{Stale: 1})
	}

	if a.guard != nil && hasBase && base.WatchedKnown && o.HasWatched && o.Watched != base.Watched {
		// Rule 2 flip found by an import run: the guard decides at the end of
		// the run whether it is a person's doing or a server that lost its data.
		if a.guard.flip(o.Backend, o.Watched) {
			a.res.Held++
			return a.tx.PutHeld(&store.HeldChange{RunID: a.origin.ID, Observation: o})
		}
	}

	before := r.State
	enrich(r, &o)
	watchedChanged := a.mergeWatched(r, base, hasBase, &o)
	progressChanged := a.mergeProgress(r, base, hasBase, &o)
	r.Bases = setBase(r.Bases, &o)
	if o.RemoteID != "" {
		r.SetRef(o.Backend, model.Ref{RemoteID: o.RemoteID, Library: o.Library})
	}
	if err := a.tx.PutRecord(r); err != nil {
		return err
	}
	if watchedChanged || progressChanged {
		a.res.Changed++
		after := r.State
		if err := a.journal(model.Event{Kind: model.EventRecordChanged, RecordID: r.ID, User: r.User,
			Backend: o.Backend, Before: &before, After: &after}); err != nil {
			return err
		}
	} else {
		a.res.Unchanged++
	}
	return a.plan(r)
}

// conflict counts and journals an observation whose match keys point at
// different records: it is applied to neither.
func (a *applyTx) conflict(o *model.Observation) error {
	a.res.Conflicts++
	if err := a.tx.AddStats(o.Backend, store.BackendStats{Conflicts: 1}); err != nil {
		return err
	}
	return a.journal(model.Event{Kind: model.EventConflict, User: o.User, Backend: o.Backend,
		Reason: fmt.Sprintf("remote item %q: its guids %v point at different records", o.RemoteID, o.Item.GUIDs)})
}

// link handles an item that appeared on o.Backend (Plex library.new,
// Jellyfin ItemAdded): o names the item for one user and carries no state, so
// no record's state changes and no record is created — an item nobody has
// played is nothing to sync. The user's matching record gets the backend's
// reference, and plan queues the record's state for the backend where it
// differs. That is the write resolving by GUID could not make while the item
// did not exist, including one that failed for that reason earlier.
func (a *applyTx) link(o model.Observation) error {
	a.res.Observed++
	a.e.normalise(&o, a.now)
	if err := validate(&o); err != nil || o.RemoteID == "" {
		a.res.Invalid++
		return nil
	}
	if _, known := a.e.cfg.Backends[o.Backend]; !known {
		a.res.Ignored++
		return nil
	}
	id, found, conflict := a.match(&o)
	switch {
	case conflict:
		return a.conflict(&o)
	case !found && len(guidKeys(&o.Item)) == 0:
		a.res.Unmatched++
		return nil
	case !found:
		a.res.Unchanged++ // the user has no record of it: nothing to write
		return nil
	}
	r, err := a.tx.Record(id)
	if err != nil {
		return err
	}
	enrich(r, &o)
	ref := model.Ref{RemoteID: o.RemoteID, Library: o.Library}
	if old, ok := r.Refs[o.Backend]; !ok || old != ref {
		if ok && old.RemoteID != ref.RemoteID {
			// The base described the copy the old id named (the item was
			// deleted and added again, or replaced): the new copy's state is
			// unknown, so it must not suppress the write.
			delete(r.Bases, o.Backend)
		}
		r.SetRef(o.Backend, ref)
		a.res.Linked++
	} else {
		a.res.Unchanged++
	}
	if err := a.tx.PutRecord(r); err != nil {
		return err
	}
	return a.plan(r)
}

// create makes a record from an observation of an item no record matches
// (rule 3, "no R"). A record created unwatched has no UpdatedAt, so any play
// found later wins over it.
func (a *applyTx) create(o *model.Observation) error {
	r := &model.Record{User: o.User, Item: o.Item, ChangedAt: a.now, ChangedBy: o.Backend}
	if o.HasWatched && o.Watched {
		r.Watched = true
		r.PlayedAt = firstKnown(o.PlayedAt, o.EventAt, o.ObservedAt)
		r.UpdatedAt = eventTime(o)
	}
	if o.HasProgress && !r.Watched && o.Progress > 0 {
		r.Progress = o.Progress
		r.ProgressAt = firstKnown(o.EventAt, o.PlayedAt)
		r.ProgressChangedAt, r.ProgressBy = a.now, o.Backend
	}
	r.Bases = setBase(nil, o)
	if o.RemoteID != "" {
		r.SetRef(o.Backend, model.Ref{RemoteID: o.RemoteID, Library: o.Library})
	}
	if err := a.tx.PutRecord(r); err != nil {
		return err
	}
	a.res.Created++
	after := r.State
	if err := a.journal(model.Event{Kind: model.EventRecordCreated, RecordID: r.ID, User: r.User,
		Backend: o.Backend, After: &after}); err != nil {
		return err
	}
	return a.plan(r)
}

// enrich adds what the observation knows of the item and the record lacks:
// GUIDs no other record claims (match already ruled conflicts out), a title,
// year or duration. Matching gets better as servers report more ids.
func enrich(r *model.Record, o *model.Observation) {
	it := &r.Item
	known := len(it.GUIDs) + len(it.ShowGUIDs)
	it.GUIDs = model.SortGUIDs(append(it.GUIDs, o.Item.GUIDs...))
	it.ShowGUIDs = model.SortGUIDs(append(it.ShowGUIDs, o.Item.ShowGUIDs...))
	if len(it.GUIDs)+len(it.ShowGUIDs) > known {
		// A lookup by the new GUIDs may find what the old ones did not
		// (a Tautulli play known by its Plex guid, then by its IMDb id).
		r.Absent = nil
	}
	if it.Title == "" {
		it.Title = o.Item.Title
	}
	if it.Year == 0 {
		it.Year = o.Item.Year
	}
	if it.ShowTitle == "" {
		it.ShowTitle = o.Item.ShowTitle
	}
	if it.Kind == model.KindEpisode && it.Episode == 0 && o.Item.Episode > 0 {
		it.Season, it.Episode = o.Item.Season, o.Item.Episode
	}
	if it.Duration == 0 {
		it.Duration = o.Item.Duration
	}
}

// mergeWatched is the three-way merge of the watched flag (rules 1–3) for an
// observation o from backend B about record r, whose base for B is b.
func (a *applyTx) mergeWatched(r *model.Record, b model.Base, hasBase bool, o *model.Observation) bool {
	if !o.HasWatched {
		return false
	}
	if hasBase && b.WatchedKnown {
		// Rule 1/2: did B change since we last looked or wrote?
		playFloor := b.SeenAt
		if b.Written {
			playFloor = playFloor.Add(writeEchoSlack)
		}
		newerPlay := o.Watched && !o.PlayedAt.IsZero() && o.PlayedAt.After(b.PlayedAt) && o.PlayedAt.After(playFloor)
		if o.Watched == b.Watched && !newerPlay {
			return false // rule 1: an echo of our write or a re-read of old data
		}
		// Rule 2: a person acted on B. When another backend changed r after we
		// last saw B, both changed in the same window: the later event wins
		// where both times are known; otherwise watched wins, because a lost
		// play is worse than a stale one.
		concurrent := r.ChangedBy != "" && r.ChangedBy != o.Backend && r.ChangedAt.After(b.SeenAt)
		if concurrent {
			ot, rt := eventTime(o), r.UpdatedAt
			if !ot.IsZero() && !rt.IsZero() {
				if !ot.After(rt) {
					return false
				}
			} else if !o.Watched {
				return false // unknown time: an unwatch never beats a play
			}
		}
		if o.Watched && r.Watched && !newerPlay {
			return false
		}
		return a.setWatched(r, o)
	}
	// Rule 3: B is new to this item, so it is out of date rather than a source
	// of truth. Only a play newer than r's last change is taken; an unwatched
	// state never unwatches r, so adding a server cannot wipe history and a
	// first sync of several servers yields the union of their plays.
	if !o.Watched || r.Watched {
		if o.Watched && r.Watched && r.PlayedAt.IsZero() && !o.PlayedAt.IsZero() {
			r.PlayedAt = o.PlayedAt // fill in a date we never had; not a change of state
		}
		return false
	}
	if !r.UpdatedAt.IsZero() && !o.PlayedAt.IsZero() && !o.PlayedAt.After(r.UpdatedAt) {
		return false // r was unwatched after that play
	}
	return a.setWatched(r, o)
}

// setWatched applies o's watched flag to r. A completion resets the resume
// position, as every server does; an unwatch clears the play date.
func (a *applyTx) setWatched(r *model.Record, o *model.Observation) bool {
	was := r.State
	r.Watched = o.Watched
	if o.Watched {
		r.PlayedAt = firstKnown(o.PlayedAt, o.EventAt, o.ObservedAt)
		r.Progress = 0
	} else {
		r.PlayedAt = time.Time{}
	}
	r.UpdatedAt = eventTime(o)
	r.ChangedAt, r.ChangedBy = a.now, o.Backend
	return r.State != was
}

// mergeProgress is rule 5: the resume position follows the same three-way
// rule, separately from the watched flag.
func (a *applyTx) mergeProgress(r *model.Record, b model.Base, hasBase bool, o *model.Observation) bool {
	if !o.HasProgress {
		return false
	}
	if r.Watched {
		// A re-watch of a watched item keeps it watched unless the user asked
		// otherwise; its position is not worth pushing anywhere.
		if !a.e.cfg.RewatchResets || o.HasWatched || o.Progress == 0 || !o.ObservedAt.After(r.ChangedAt) {
			return false
		}
		r.Watched, r.PlayedAt = false, time.Time{}
		r.UpdatedAt = o.EventAt
		r.ChangedAt, r.ChangedBy = a.now, o.Backend
		a.setProgress(r, o)
		return true
	}
	if hasBase && b.ProgressKnown {
		if absDur(o.Progress-b.Progress) <= ProgressTolerance {
			return false // rule 1
		}
		concurrent := r.ProgressBy != "" && r.ProgressBy != o.Backend && r.ProgressChangedAt.After(b.SeenAt)
		if concurrent {
			ot, rt := firstKnown(o.EventAt, o.PlayedAt), r.ProgressAt
			if !ot.IsZero() && !rt.IsZero() {
				if !ot.After(rt) {
					return false
				}
			} else if o.Progress <= r.Progress {
				return false // unknown times: the further position wins
			}
		}
	} else {
		// B never told us a position for this item: take it only when r has
		// none, or when it is known to be newer than r's.
		ot := firstKnown(o.EventAt, o.PlayedAt)
		newer := !ot.IsZero() && !r.ProgressAt.IsZero() && ot.After(r.ProgressAt)
		if o.Progress == 0 || (r.Progress > 0 && !newer) {
			return false
		}
	}
	if absDur(o.Progress-r.Progress) <= ProgressTolerance {
		return false
	}
	a.setProgress(r, o)
	return true
}

func (a *applyTx) setProgress(r *model.Record, o *model.Observation) {
	r.Progress = o.Progress
	r.ProgressAt = firstKnown(o.EventAt, o.PlayedAt)
	r.ProgressChangedAt, r.ProgressBy = a.now, o.Backend
}

// setBase records o as B's base (rule 4, "after applying, R.base[B] = O"):
// each half only when o carries it.
func setBase(bases map[string]model.Base, o *model.Observation) map[string]model.Base {
	if bases == nil {
		bases = map[string]model.Base{}
	}
	b := bases[o.Backend]
	if o.HasWatched {
		b.Watched, b.PlayedAt, b.WatchedKnown = o.Watched, o.PlayedAt, true
		if o.Watched && !o.HasProgress {
			b.Progress = 0 // servers reset the position on completion
		}
	}
	if o.HasProgress {
		b.Progress, b.ProgressKnown = o.Progress, true
	}
	if o.ObservedAt.After(b.SeenAt) {
		b.SeenAt = o.ObservedAt
	}
	b.Written = false
	bases[o.Backend] = b
	return bases
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
