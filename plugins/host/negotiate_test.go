package host

import (
	"context"
	"testing"
	"time"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/internal/memback"
	"github.com/keepwatch/keepwatch/plugins/plugintest"
)

// TestHostOffersNewerVersionToV1Plugin offers versions 1 and 2, as a host
// that has learnt a version 2 will, to a plugin that speaks only 1 (the
// test binary serving memback, see main_test.go): they agree on 1.
func TestHostOffersNewerVersionToV1Plugin(t *testing.T) {
	hostPluginSets = func() map[int]plugin.PluginSet {
		sets := plugins.HostPluginSets()
		sets[2] = sets[1] // stands in for a version 2 that does not exist yet
		return sets
	}
	t.Cleanup(func() { hostPluginSets = plugins.HostPluginSets })

	h, err := New(Options{Builtins: []string{memback.Type}, Logger: plugintest.TestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() }) // before hostPluginSets is restored
	in, err := h.Add(plugins.Config{Name: "v1", Type: memback.Type, URL: "mem://v1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := in.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if s := in.Status(); s.Protocol != 1 {
		t.Errorf("negotiated protocol %d, want 1", s.Protocol)
	}
	if _, err := in.ListAccounts(ctx); err != nil {
		t.Errorf("call over the negotiated protocol: %v", err)
	}
}
