package engine

import (
	"time"

	"github.com/keepwatch/keepwatch/core/model"
)

// need says which halves of a record's state a backend must be sent.
type need struct {
	Watched  bool // write the watched flag (true or false, per the record)
	Progress bool // write the resume position
}

func (n need) any() bool { return n.Watched || n.Progress }

// needsWrite compares record r with backend C's base (rule 4, "if R differs
// from R.base[C]"). A play date alone is no difference: not every server can
// be given one (Plex stamps its own), so chasing it would never settle.
//
// Unwatched is only written where C is known to have the item watched: an
// unknown state on a server we never read must not be overwritten with
// "unwatched", or adding a server could wipe its history.
func needsWrite(r *model.Record, b model.Base, hasBase bool) need {
	var n need
	knownWatched := hasBase && b.WatchedKnown
	switch {
	case r.Watched:
		n.Watched = !knownWatched || !b.Watched
	case knownWatched && b.Watched:
		n.Watched = true
	}
	if !r.Watched && !n.Watched {
		knownProgress := hasBase && b.ProgressKnown
		switch {
		case r.Progress > 0:
			n.Progress = !knownProgress || absDur(r.Progress-b.Progress) > ProgressTolerance
		case knownProgress && b.Progress > ProgressTolerance:
			n.Progress = true // the position was reset elsewhere
		}
	}
	if !r.Watched && n.Watched && r.Progress > 0 {
		n.Progress = true // unwatching clears the position; restore ours after
	}
	return n
}

// absentRecheck is how long a backend found to lack an item is left alone
// before a write may look it up again. Additions reach keepwatch by webhook
// (library.new, ItemAdded) or by the backend's next full import, which set the
// ref at once; the recheck catches an item added where neither happens (no
// webhook configured, a weekly full import) within a day, while a server
// that lacks thousands of the household's items is asked about each once a
// day instead of at every import.
const absentRecheck = 24 * time.Hour

// writable says whether a write of r could reach backend name at now: the
// backend has a reference to the item, or can resolve one by GUID and was not
// found to lack it within absentRecheck (Record.Absent).
func writable(r *model.Record, name string, p BackendPolicy, now time.Time) bool {
	if _, ok := r.Refs[name]; ok {
		return true
	}
	at, absent := r.Absent[name]
	return p.Resolve && (!absent || now.Sub(at) >= absentRecheck)
}

// plan queues an outbox entry for every backend that exports and differs from
// r, and drops entries that no longer have anything to write. Which backends
// are targets, writable says.
func (a *applyTx) plan(r *model.Record) error {
	for name, p := range a.e.cfg.Backends {
		if !p.Export {
			continue
		}
		if !writable(r, name, p, a.now) {
			continue
		}
		if _, ok := a.e.account(r.User, name); !ok {
			continue // the user has no account there: nothing to write to
		}
		b, hasBase := r.Bases[name]
		if needsWrite(r, b, hasBase).any() {
			if err := a.tx.Enqueue(name, r.ID, r.User, a.now); err != nil {
				return err
			}
			a.res.Queued++
			continue
		}
		if err := a.tx.Dequeue(name, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// account returns user's account on backend. A user without an explicit
// mapping is assumed to share the name of their account (auto_map).
func (e *Engine) account(user, backend string) (string, bool) {
	if e.cfg.AccountOf != nil {
		return e.cfg.AccountOf(user, backend)
	}
	if m, ok := e.cfg.Accounts[user]; ok {
		acc, ok := m[backend]
		return acc, ok
	}
	if len(e.cfg.Accounts) == 0 {
		return user, true
	}
	return "", false
}
