package plugintest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/internal/memback"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

// A broken backend is memback with one flaw. The suite must fail on each,
// saying what is wrong.
type broken struct {
	*memback.Backend
	flaw     string
	describe atomic.Int32
}

func (b *broken) Describe(ctx context.Context) (plugins.Description, error) {
	d, err := b.Backend.Describe(ctx)
	if b.flaw == "describe unstable" && b.describe.Add(1) > 1 {
		d.Summary += " (again)"
	}
	return d, err
}

func (b *broken) Configure(ctx context.Context, cfg plugins.Config) error {
	if b.flaw == "accepts bad config" && cfg.URL != "mem://suite" {
		cfg.URL = "mem://suite"
	}
	err := b.Backend.Configure(ctx, cfg)
	if b.flaw == "config error without field" && err != nil {
		return errors.New("bad config")
	}
	return err
}

func (b *broken) Import(ctx context.Context, req plugins.ImportRequest, emit func([]plugins.Observation) error) error {
	first := true
	return b.Backend.Import(ctx, req, func(page []plugins.Observation) error {
		switch b.flaw {
		case "duplicate item":
			if first {
				page = append(page, page[0])
			}
		case "bad guid":
			page[0].GUIDs = []string{"IMDB:tt1"}
		}
		first = false
		return emit(page)
	})
}

func (b *broken) Apply(ctx context.Context, ws []plugins.Write) ([]plugins.WriteOutcome, error) {
	out, err := b.Backend.Apply(ctx, ws)
	if b.flaw == "missing item retryable" {
		for i := range out {
			out[i].Permanent = false
		}
	}
	return out, err
}

func (b *broken) ParseWebhook(ctx context.Context, req plugins.WebhookRequest) (plugins.WebhookResult, error) {
	if b.flaw == "webhook panics" && len(req.Body) == 0 {
		var m map[string]int
		m["boom"]++ // nil map write: a panic, as a careless parser would
	}
	return b.Backend.ParseWebhook(ctx, req)
}

var flaws = map[string]string{
	"describe unstable":          "Describe is not stable",
	"accepts bad config":         "Configure accepted a bad configuration",
	"config error without field": "not a *plugins.ConfigError",
	"duplicate item":             "imported twice",
	"bad guid":                   "source must be lower-case",
	"missing item retryable":     "want failed, permanent",
	"webhook panics":             "backend panicked in ParseWebhook",
}

const flawEnv = "PLUGINTEST_FLAW"

// TestSuiteCatchesBrokenBackends runs the suite on each broken backend in a
// child process (a failing suite fails the test that runs it, so it cannot
// run here) and checks the child fails for the right reason.
func TestSuiteCatchesBrokenBackends(t *testing.T) {
	if flaw := os.Getenv(flawEnv); flaw != "" {
		plugintest.Run(t, plugintest.Suite{
			Factory: func(env plugins.Env) plugins.Backend {
				return &broken{Backend: memback.New(env).(*memback.Backend), flaw: flaw}
			},
			Config: memConfig,
		})
		return
	}
	for flaw, want := range flaws {
		t.Run(flaw, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesBrokenBackends$", "-test.v")
			cmd.Env = append(os.Environ(), flawEnv+"="+flaw)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed a backend whose flaw is %q (err %v):\n%s", flaw, err, out)
			}
			if !strings.Contains(string(out), want) {
				t.Errorf("the suite failed without saying %q:\n%s", want, out)
			}
		})
	}
}
