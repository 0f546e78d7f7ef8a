package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// waitForStop is a service that runs until its context ends and records it.
func waitForStop(name string, stopped chan<- string) service {
	return service{name: name, run: func(ctx context.Context) error {
		<-ctx.Done()
		stopped <- name
		return nil
	}}
}

func TestAppStopsEveryServiceOnCancel(t *testing.T) {
	stopped := make(chan string, 2)
	closed := false
	a := &app{log: zerolog.Nop(), stopTimeout: time.Minute,
		services: []service{waitForStop("one", stopped), waitForStop("two", stopped)},
		closers:  []closer{{"res", func() error { closed = true; return nil }}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.run(ctx); err != nil {
		t.Fatalf("run = %v, want nil after a clean stop", err)
	}
	if len(stopped) != 2 {
		t.Errorf("%d of 2 services saw the stop", len(stopped))
	}
	if err := a.close(); err != nil || !closed {
		t.Errorf("close = %v, closed = %v", err, closed)
	}
}

func TestAppFailingServiceStopsTheRest(t *testing.T) {
	stopped := make(chan string, 1)
	a := &app{log: zerolog.Nop(), stopTimeout: time.Minute, services: []service{
		waitForStop("http", stopped),
		{name: "worker", run: func(context.Context) error { return errors.New("disk full") }},
	}}
	err := a.run(context.Background())
	if err == nil || err.Error() != "worker: disk full" {
		t.Errorf("run = %v, want worker: disk full", err)
	}
	if got := <-stopped; got != "http" {
		t.Errorf("stopped %q", got)
	}
}

func TestAppServiceThatReturnsEarlyIsAFailure(t *testing.T) {
	a := &app{log: zerolog.Nop(), stopTimeout: time.Minute, services: []service{
		{name: "worker", run: func(context.Context) error { return nil }},
	}}
	if err := a.run(context.Background()); err == nil || err.Error() != "worker: stopped unexpectedly" {
		t.Errorf("run = %v", err)
	}
}

func TestAppBoundsTheStop(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	a := &app{log: zerolog.Nop(), stopTimeout: 10 * time.Millisecond, services: []service{
		{name: "stuck", run: func(context.Context) error { <-release; return nil }},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := a.run(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 service(s) still running after 10ms") {
		t.Errorf("run = %v, want a stop timeout", err)
	}
}
