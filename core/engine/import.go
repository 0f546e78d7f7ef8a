package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// ImportRequest asks a Source for one account's observations.
type ImportRequest struct {
	Account string
	// Since: zero for a full import; otherwise only what changed after it.
	Since time.Time
}

// Source streams a backend's observations page by page. page is called
// outside any transaction; an error from it stops the import.
type Source interface {
	Import(ctx context.Context, req ImportRequest, page func([]model.Observation) error) error
}

// ImportTarget is one backend to import from, with the accounts to read.
type ImportTarget struct {
	Backend  string
	Source   Source
	Accounts []AccountRef
}

// AccountRef is a household user's account on one backend.
type AccountRef struct {
	User    string
	Account string
}

// ImportOptions describe an import run.
type ImportOptions struct {
	Full   bool // ignore the watermark: read everything
	DryRun bool
	User   string // recorded on the run when the import is for one user
	// Started is called with the run's id as soon as the run exists.
	Started func(runID uint64)
}

// sinceOverlap re-reads a little before the watermark: server clocks and
// commit times are not exact, and re-reading is harmless (rule 1).
const sinceOverlap = 5 * time.Minute

func watermarkKey(backend, account string) string { return "import_since/" + backend + "/" + account }

// Import runs one import over targets: per backend and account, the source
// streams pages, and each page is merged and committed in its own transaction,
// so memory stays flat whatever the library size. A delta import (not Full)
// asks only for what changed since the account's last successful import. A
// failure midway keeps what was merged, leaves the watermark where it was,
// and never takes missing items as unwatched.
func (e *Engine) Import(ctx context.Context, targets []ImportTarget, opts ImportOptions) (*store.Run, error) {
	kind := "import"
	if opts.Full {
		kind = "import_full"
	}
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Backend
	}
	run, err := e.StartRun(ctx, RunOptions{Kind: kind, Backends: names, User: opts.User, Full: opts.Full, DryRun: opts.DryRun, Guarded: true})
	if err != nil {
		return nil, err
	}
	if opts.Started != nil {
		opts.Started(run.ID())
	}
	var runErr error
	for _, t := range targets {
		for _, acc := range t.Accounts {
			if err := e.importAccount(ctx, run, t, acc, opts); err != nil {
				runErr = errors.Join(runErr, err)
			}
		}
	}
	return run.Finish(ctx, runErr)
}

func (e *Engine) importAccount(ctx context.Context, run *Run, t ImportTarget, acc AccountRef, opts ImportOptions) error {
	key := watermarkKey(t.Backend, acc.Account)
	var since time.Time
	if !opts.Full {
		err := e.store.View(func(tx *store.Tx) error {
			if v := tx.Meta(key); v != nil {
				return since.UnmarshalText(v)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("engine: import %s/%s: read watermark: %w", t.Backend, acc.Account, err)
		}
		if !since.IsZero() {
			since = since.Add(-sinceOverlap)
		}
	}
	started := e.now()
	err := t.Source.Import(ctx, ImportRequest{Account: acc.Account, Since: since}, func(page []model.Observation) error {
		fetched := e.now()
		for i := range page {
			page[i].Backend, page[i].User = t.Backend, acc.User
			if page[i].Account == "" {
				page[i].Account = acc.Account
			}
			if page[i].ObservedAt.IsZero() {
				page[i].ObservedAt = fetched
			}
		}
		_, err := run.Apply(ctx, page)
		return err
	})
	if err != nil {
		return fmt.Errorf("engine: import %s account %s: %w", t.Backend, acc.Account, err)
	}
	if opts.DryRun {
		return nil
	}
	return e.store.Update(func(tx *store.Tx) error {
		v, _ := started.MarshalText()
		return tx.PutMeta(key, v)
	})
}
