package pipeline

import (
	"context"
	"time"

	"github.com/keepwatch/keepwatch/core/engine"
	"github.com/keepwatch/keepwatch/core/model"
)

// pushPoll is how often a push worker looks for entries whose back-off has
// run out when nothing wakes it sooner.
const pushPoll = 5 * time.Second

// runPush drains one backend's outbox whenever something is queued (a kick)
// and every pushPoll for retries that came due, until ctx ends. Nothing is
// lost when the backend is down: entries stay queued with their back-off.
func (p *Pipeline) runPush(ctx context.Context, b *Backend, kick <-chan struct{}) {
	w := p.writer(b)
	tick := time.NewTicker(pushPoll)
	defer tick.Stop()
	for {
		res, err := p.eng.Drain(ctx, model.Origin{Kind: model.OriginPush}, b.Name, w)
		if err != nil && ctx.Err() == nil {
			p.log.Warn().Err(err).Str("backend", b.Name).Msg("push")
		}
		p.hooks.push(b.Name, res)
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-tick.C:
		}
	}
}

// writer is the engine's Writer for b, through its plugin.
func (p *Pipeline) writer(b *Backend) engine.Writer {
	return engine.PluginWriter{Exporter: b.Client, Resolver: b.Client}
}

// KickPush wakes every push worker.
func (p *Pipeline) KickPush() {
	for _, k := range p.pushKick {
		select {
		case k <- struct{}{}:
		default: // already woken: the pending drain sees the new entries
		}
	}
}
