package mbbackend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/keepwatch/keepwatch/backends/internal/httpx"
	"github.com/keepwatch/keepwatch/backends/internal/mediabrowser/client"
	"github.com/keepwatch/keepwatch/plugins"
)

// Apply performs a batch of writes with bounded concurrency and answers one outcome per
// write, in order.
func (b *Backend) Apply(ctx context.Context, writes []plugins.Write) ([]plugins.WriteOutcome, error) {
	cf, err := b.current()
	if err != nil {
		return nil, err
	}
	out := make([]plugins.WriteOutcome, len(writes))
	if len(writes) == 0 {
		return out, nil
	}
	var sessions []client.Session
	for _, w := range writes {
		if w.Kind == plugins.WriteProgress {
			if sessions, err = cf.c.Sessions(ctx); err != nil {
				return nil, b.errorf("apply: list sessions (to spare items playing now)", err)
			}
			break
		}
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		batchErr error
	)
	slots := make(chan struct{}, cf.concurrency)
	for i, w := range writes {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			o, err := b.write(ctx, cf.c, w, sessions)
			if err != nil {
				mu.Lock()
				if batchErr == nil {
					batchErr = err
				}
				mu.Unlock()
				return
			}
			out[i] = o
		}()
	}
	wg.Wait()
	if batchErr != nil {
		return nil, batchErr
	}
	return out, nil
}

// write performs one write. An error means the batch cannot go on (bad credentials, server
// unreachable, cancelled); anything about this one item is an outcome.
func (b *Backend) write(ctx context.Context, c *client.Client, w plugins.Write, sessions []client.Session) (plugins.WriteOutcome, error) {
	if w.AccountID == "" || w.ItemID == "" {
		return plugins.Failed(true, fmt.Sprintf("write %s: account id %q or item id %q is empty", w.Kind, w.AccountID, w.ItemID)), nil
	}
	var err error
	switch w.Kind {
	case plugins.WriteWatched:
		err = markPlayed(ctx, c, w.AccountID, w.ItemID, w.PlayedAt)
	case plugins.WriteUnwatched:
		err = markUnplayed(ctx, c, w.AccountID, w.ItemID)
	case plugins.WriteProgress:
		for _, s := range sessions {
			if s.Playing(w.AccountID, w.ItemID) {
				return plugins.SkippedPlaying(), nil
			}
		}
		ticks := client.Ticks(max(w.Progress, 0))
		err = c.UpdateUserData(ctx, w.AccountID, w.ItemID, client.UserDataUpdate{PlaybackPositionTicks: &ticks})
	default:
		return plugins.Failed(true, fmt.Sprintf("write kind %q is not watched, unwatched or progress", w.Kind)), nil
	}
	if err == nil {
		return plugins.Succeeded(), nil
	}
	return b.outcome(c, w, err)
}

// outcome sorts a failed write: a 4xx says this item cannot be written (404: it is gone;
// Jellyfin answers 400 to an id that is not a Guid), a 5xx that survived the retries may
// pass later, and authentication or transport failures stop the batch.
func (b *Backend) outcome(c *client.Client, w plugins.Write, err error) (plugins.WriteOutcome, error) {
	var ae *httpx.AuthError
	if errors.As(err, &ae) {
		return plugins.WriteOutcome{}, b.errorf("apply", err)
	}
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return plugins.WriteOutcome{}, b.errorf(fmt.Sprintf("apply %s to item %s", w.Kind, w.ItemID), err)
	}
	msg := fmt.Sprintf("%s: %s of item %s for account %s: %v", b.d.Type, w.Kind, w.ItemID, w.AccountID, err)
	if se.Status == http.StatusNotFound && w.Kind == plugins.WriteProgress && c.LegacyRoutes() {
		return plugins.Failed(true, fmt.Sprintf("%s: progress of item %s: setting a resume position needs Jellyfin 10.9 or newer (POST UserData); this server only has the older routes", b.d.Type, w.ItemID)), nil
	}
	if se.Status == http.StatusNotFound {
		msg = fmt.Sprintf("%s: %s of item %s for account %s: the server has no such item or user (404)", b.d.Type, w.Kind, w.ItemID, w.AccountID)
	}
	return plugins.Failed(se.Permanent(), msg), nil
}

// markPlayed marks played unless the server already has the item played at that date (or
// at any date when none is asked): sending it again would count another play.
func markPlayed(ctx context.Context, c *client.Client, user, item string, at time.Time) error {
	it, err := c.Item(ctx, user, item)
	if err != nil {
		return err
	}
	if ud := it.UserData; ud != nil && ud.Played {
		if at.IsZero() || ud.LastPlayedDate.Truncate(time.Second).Equal(at.UTC().Truncate(time.Second)) {
			return nil
		}
	}
	return c.MarkPlayed(ctx, user, item, at)
}

// markUnplayed marks unplayed unless the item is already unplayed with no position.
func markUnplayed(ctx context.Context, c *client.Client, user, item string) error {
	it, err := c.Item(ctx, user, item)
	if err != nil {
		return err
	}
	if ud := it.UserData; ud != nil && !ud.Played && ud.PlaybackPositionTicks == 0 {
		return nil
	}
	return c.MarkUnplayed(ctx, user, item)
}
