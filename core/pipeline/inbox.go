package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keepwatch/keepwatch/core/engine"
	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/plugins"
)

// inboxBatch is how many pending deliveries one pass reads.
const inboxBatch = 64

// retryUnavailable is how long the processor waits when a plugin is
// restarting before it tries the same delivery again.
const retryUnavailable = time.Second

// runInbox processes deliveries in arrival order until ctx ends, woken by
// KickInbox and, as a safety net, once a second.
func (p *Pipeline) runInbox(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		wait := p.drainInbox(ctx)
		if wait > 0 {
			tick.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.inboxKick:
		case <-tick.C:
		}
	}
}

// drainInbox processes every pending delivery; it answers how long to wait
// before trying again when a plugin was unavailable, else 0.
func (p *Pipeline) drainInbox(ctx context.Context) time.Duration {
	for ctx.Err() == nil {
		ds, err := p.store.PendingDeliveries(inboxBatch)
		if err != nil {
			p.log.Error().Err(err).Msg("read inbox")
			return retryUnavailable
		}
		if len(ds) == 0 {
			return 0
		}
		for _, d := range ds {
			if err := p.process(ctx, d); err != nil {
				// Deliveries stay in order: a plugin that is restarting holds
				// the rest back until it is ready again.
				p.log.Warn().Err(err).Uint64("delivery", d.ID).Str("backend", d.Backend).Msg("delivery postponed")
				return retryUnavailable
			}
		}
	}
	return 0
}

// process parses, filters and merges one delivery. It answers an error only
// when the delivery must be tried again later (the plugin is unavailable);
// every other outcome is recorded on the delivery.
func (p *Pipeline) process(ctx context.Context, d *store.Delivery) error {
	finish := func(status, reason string) error {
		if err := p.eng.FinishDelivery(d, status, reason); err != nil {
			return fmt.Errorf("pipeline: finish delivery %d: %w", d.ID, err)
		}
		p.hooks.delivery(d.Backend, status)
		return nil
	}
	if d.Truncated {
		return finish(store.DeliveryRejected, "body larger than the webhook size limit: not stored")
	}
	b, ok := p.backends[d.Backend]
	if !ok {
		return finish(store.DeliveryIgnored, "backend "+d.Backend+" is no longer configured")
	}
	res, err := b.Client.ParseWebhook(ctx, plugins.WebhookRequest{Method: d.Method, Headers: d.Header, Query: d.Query,
		Body: d.Body, ReceivedAt: d.ReceivedAt})
	switch {
	case errors.Is(err, plugins.ErrUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, plugins.ErrUnsupported):
		return finish(store.DeliveryRejected, b.Type+" backends do not receive webhooks")
	case err != nil:
		return finish(store.DeliveryRejected, err.Error())
	case res.Ignored != "":
		return finish(store.DeliveryIgnored, res.Ignored)
	}
	if why := b.serverRefused(res.ServerID); why != "" {
		return finish(store.DeliveryIgnored, why)
	}
	var obs []model.Observation
	excluded := 0
	if len(res.Observations) > 0 {
		user, why := p.actingUser(b, d.User, res)
		if why != "" {
			return finish(store.DeliveryIgnored, why)
		}
		for _, po := range res.Observations {
			if !b.libraryAllowed(po) {
				excluded++
				continue
			}
			o, _ := engine.FromPlugin(po)
			o.Backend, o.User, o.ObservedAt = b.Name, user, d.ReceivedAt
			if o.Account == "" {
				o.Account = res.AccountID
			}
			obs = append(obs, o)
		}
	}
	// An item added to the server is every user's news, whichever token
	// the event came in on: one stateless observation per user with an
	// account there, so each user's record can be linked to it.
	var added []model.Observation
	var users []string
	if len(res.Added) > 0 {
		users = p.dir.UsersOn(b.Name)
	}
	for _, po := range res.Added {
		if !b.libraryAllowed(po) {
			excluded++
			continue
		}
		o, _ := engine.FromPlugin(po)
		for _, u := range users {
			o.Backend, o.User, o.ObservedAt = b.Name, u, d.ReceivedAt
			added = append(added, o)
		}
	}
	if len(obs)+len(added) == 0 {
		reason := "the event carries no observation"
		switch {
		case excluded > 0:
			reason = "library excluded by the backend's libraries filter"
		case len(res.Added) > 0:
			reason = "item added, but no user has an account on " + b.Name
		}
		return finish(store.DeliveryIgnored, reason)
	}
	r, err := p.eng.ApplyDelivery(ctx, d, obs, added)
	if err != nil {
		return fmt.Errorf("pipeline: apply delivery %d: %w", d.ID, err)
	}
	p.hooks.delivery(d.Backend, d.Status)
	if r.Queued > 0 {
		p.KickPush()
	}
	return nil
}

// actingUser is the household user a delivery's observations belong to: the
// token's user, or for a backend-wide token the user mapped to the acting
// account. why says why the delivery is ignored instead.
func (p *Pipeline) actingUser(b *Backend, tokenUser string, res plugins.WebhookResult) (user, why string) {
	if tokenUser == "*" || tokenUser == "" {
		u, ok := p.dir.UserOf(b.Name, res.AccountID, res.AccountName)
		if !ok {
			return "", fmt.Sprintf("account %s (%s) on %s is not mapped to a user", res.AccountName, res.AccountID, b.Name)
		}
		return u, ""
	}
	if b.Webhook.MatchAccount && (res.AccountID != "" || res.AccountName != "") && !p.dir.Matches(tokenUser, b.Name, res.AccountID, res.AccountName) {
		return "", fmt.Sprintf("account %s (%s) is not %s's account on %s; set webhook.match_account: false to accept it",
			res.AccountName, res.AccountID, tokenUser, b.Name)
	}
	return tokenUser, ""
}
