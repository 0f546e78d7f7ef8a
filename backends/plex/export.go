package plex

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/keepwatch/keepwatch/backends/internal/httpx"
	"github.com/keepwatch/keepwatch/plugins"
)

const libraryIdentifier = "com.plexapp.plugins.library"

// progressTolerance: a position this close to the server's counts as written.
const progressTolerance = time.Second

// Apply writes a batch: PUT /:/scrobble (watched), PUT /:/unscrobble
// (unwatched) and POST /:/timeline with state=stopped, time, duration and
// X-Plex-Client-Identifier (progress; PMS ignores a timeline without the last
// two). Each account's writes use that account's server token.
//
// Before writing, the items' current state is read in batches
// (/library/metadata/{a,b,…}, as the account sees it), so a write the server
// already reflects is not repeated: /:/scrobble would otherwise add a view
// each time. /:/scrobble takes no date; the play is dated by the server's
// clock. A progress write to an item the same account is playing now
// (/status/sessions) is skipped (SkippedPlaying). Writes run concurrently,
// bounded by the concurrency option.
func (b *Backend) Apply(ctx context.Context, writes []plugins.Write) ([]plugins.WriteOutcome, error) {
	st, err := b.state()
	if err != nil {
		return nil, err
	}
	out := make([]plugins.WriteOutcome, len(writes))
	if len(writes) == 0 {
		return out, nil
	}
	errs := make([]error, len(writes))

	// Group by account, keeping each write's index.
	byAccount := map[string][]int{}
	var order []string
	for i, w := range writes {
		if _, ok := byAccount[w.AccountID]; !ok {
			order = append(order, w.AccountID)
		}
		byAccount[w.AccountID] = append(byAccount[w.AccountID], i)
	}
	ex := &exporter{st: st, writes: writes, out: out, errs: errs}
	for _, ref := range order {
		idx := byAccount[ref]
		if err := ex.account(ctx, ref, idx); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			for _, i := range idx {
				errs[i] = err
				out[i] = outcomeOf(err)
			}
		}
	}
	// When every write failed for the same reason and that reason is the
	// server or the credentials, the batch as a whole did not run.
	if first := errs[0]; first != nil && !isItemError(first) {
		same := true
		for _, e := range errs[1:] {
			same = same && e != nil && !isItemError(e)
		}
		if same {
			return nil, fmt.Errorf("plex: apply %d writes: %w", len(writes), unavailable(first))
		}
	}
	return out, nil
}

type exporter struct {
	st     *state
	writes []plugins.Write
	out    []plugins.WriteOutcome
	errs   []error

	sessionsOnce sync.Once
	playing      map[string]map[string]bool // ratingKey → plex.tv account ids
	sessionsErr  error
}

// itemError is a failure that concerns one item, not the server.
type itemError struct{ msg string }

func (e *itemError) Error() string { return e.msg }

func isItemError(err error) bool {
	var ie *itemError
	var se *httpx.StatusError
	if errors.As(err, &ie) {
		return true
	}
	var ae *httpx.AuthError
	if errors.As(err, &ae) {
		return false
	}
	return errors.As(err, &se) && se.Permanent()
}

func outcomeOf(err error) plugins.WriteOutcome {
	var ie *itemError
	if errors.As(err, &ie) {
		return plugins.Failed(true, err.Error())
	}
	var ae *httpx.AuthError
	if errors.As(err, &ae) {
		return plugins.Failed(false, err.Error())
	}
	var se *httpx.StatusError
	if errors.As(err, &se) {
		return plugins.Failed(se.Permanent(), err.Error())
	}
	return plugins.Failed(false, err.Error())
}

// account runs the writes idx of one account; an error fails them all.
func (ex *exporter) account(ctx context.Context, ref string, idx []int) error {
	st := ex.st
	acct, err := st.dir.find(ctx, ref)
	if err != nil {
		return err
	}
	current, err := ex.current(ctx, acct, idx)
	if err != nil {
		return err
	}
	sem := make(chan struct{}, st.s.concurrent)
	var wg sync.WaitGroup
	for _, i := range idx {
		w := ex.writes[i]
		m, ok := current[w.ItemID]
		if !ok {
			ex.errs[i] = &itemError{fmt.Sprintf("plex: item %q is not on the server (or not visible to %s)", w.ItemID, acct.name)}
			ex.out[i] = outcomeOf(ex.errs[i])
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out, err := ex.write(ctx, acct, w, m)
			if err != nil {
				ex.errs[i] = fmt.Errorf("plex: %s %q for %s: %w", w.Kind, w.ItemID, acct.name, err)
				out = outcomeOf(ex.errs[i])
			}
			ex.out[i] = out
		}()
	}
	wg.Wait()
	return nil
}

// current reads the account's view of the items written, in batches.
func (ex *exporter) current(ctx context.Context, acct account, idx []int) (map[string]metadata, error) {
	var keys []string
	seen := map[string]bool{}
	for _, i := range idx {
		k := ex.writes[i].ItemID
		// A ratingKey is a number on every PMS seen; anything else cannot be
		// one and would break the comma-separated list.
		if !seen[k] && k != "" && !strings.ContainsAny(k, ",/?#") {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	out := map[string]metadata{}
	for len(keys) > 0 {
		n := min(len(keys), metadataBatch)
		batch := keys[:n]
		keys = keys[n:]
		var mc container
		err := ex.st.dir.withToken(ctx, acct, func(tok string) error {
			return ex.st.c.get(ctx, tok, "/library/metadata/"+strings.Join(batch, ","), nil, &mc)
		})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("plex: read the state of %d items for %s: %w", len(batch), acct.name, err)
		}
		for _, m := range mc.MediaContainer.Metadata {
			if _, ok := kindOf(m.Type); ok {
				out[m.RatingKey] = m
			}
		}
	}
	return out, nil
}

// write performs one write whose item's current state is m.
func (ex *exporter) write(ctx context.Context, acct account, w plugins.Write, m metadata) (plugins.WriteOutcome, error) {
	st := ex.st
	q := url.Values{"identifier": {libraryIdentifier}, "key": {w.ItemID}}
	put := func(path string) error {
		return st.dir.withToken(ctx, acct, func(tok string) error {
			resp, err := st.c.do(ctx, request{method: http.MethodPut, base: st.s.url, path: path, query: q, token: tok})
			if err == nil {
				resp.Body.Close()
			}
			return err
		})
	}
	switch w.Kind {
	case plugins.WriteWatched:
		if m.ViewCount > 0 {
			return plugins.Succeeded(), nil
		}
		return plugins.Succeeded(), put("/:/scrobble")
	case plugins.WriteUnwatched:
		if m.ViewCount == 0 && m.ViewOffset == 0 {
			return plugins.Succeeded(), nil
		}
		return plugins.Succeeded(), put("/:/unscrobble")
	case plugins.WriteProgress:
		return ex.progress(ctx, acct, w, m)
	}
	return plugins.Failed(true, fmt.Sprintf("plex: unknown write kind %q", w.Kind)), nil
}

func (ex *exporter) progress(ctx context.Context, acct account, w plugins.Write, m metadata) (plugins.WriteOutcome, error) {
	st := ex.st
	if w.Progress < 0 {
		return plugins.Failed(true, fmt.Sprintf("plex: negative progress %s", w.Progress)), nil
	}
	playing, err := ex.isPlaying(ctx, acct, w.ItemID)
	if err != nil {
		return plugins.WriteOutcome{}, fmt.Errorf("read sessions: %w", err)
	}
	if playing {
		return plugins.SkippedPlaying(), nil
	}
	d := ms(m.Duration)
	if d <= 0 {
		d = w.Duration
	}
	if d <= 0 {
		return plugins.Failed(true, fmt.Sprintf("plex: item %q has no duration; PMS ignores a position without one", w.ItemID)), nil
	}
	if diff := ms(m.ViewOffset) - w.Progress; diff > -progressTolerance && diff < progressTolerance {
		return plugins.Succeeded(), nil
	}
	q := url.Values{
		"ratingKey": {w.ItemID}, "key": {"/library/metadata/" + w.ItemID}, "identifier": {libraryIdentifier},
		"state": {"stopped"}, "time": {itoa(w.Progress.Milliseconds())}, "duration": {itoa(d.Milliseconds())},
	}
	err = st.dir.withToken(ctx, acct, func(tok string) error {
		resp, err := st.c.do(ctx, request{method: http.MethodPost, base: st.s.url, path: "/:/timeline", query: q, token: tok})
		if err == nil {
			resp.Body.Close()
		}
		return err
	})
	return plugins.Succeeded(), err
}

// isPlaying reports whether acct plays ratingKey now. /status/sessions is read
// once per batch with the owner's token (other tokens may not read it).
// Sessions name users by PMS-local id: 1 is the owner.
func (ex *exporter) isPlaying(ctx context.Context, acct account, ratingKey string) (bool, error) {
	ex.sessionsOnce.Do(func() {
		st := ex.st
		owner, err := st.dir.owner(ctx)
		if err != nil {
			ex.sessionsErr = err
			return
		}
		var mc container
		err = st.dir.withToken(ctx, owner, func(tok string) error { return st.c.get(ctx, tok, "/status/sessions", nil, &mc) })
		if err != nil {
			ex.sessionsErr = err
			return
		}
		ex.playing = map[string]map[string]bool{}
		for _, m := range mc.MediaContainer.Metadata {
			who := "*" // a session without a user blocks every account
			if m.User != nil && m.User.ID != "" {
				who = string(m.User.ID)
				if who == localOwnerID {
					who = owner.id
				}
			}
			if ex.playing[m.RatingKey] == nil {
				ex.playing[m.RatingKey] = map[string]bool{}
			}
			ex.playing[m.RatingKey][who] = true
		}
	})
	if ex.sessionsErr != nil {
		return false, ex.sessionsErr
	}
	users := ex.playing[ratingKey]
	return users[acct.id] || users["*"], nil
}
