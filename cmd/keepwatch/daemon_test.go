package main

import (
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/config"
)

func TestPluginOptions(t *testing.T) {
	sync := config.Sync{WatchedPercent: 85}
	tests := []struct {
		name    string
		backend config.Backend
		want    map[string]string
	}{
		{"tautulli gets sync.watched_percent", config.Backend{Type: "tautulli"}, map[string]string{"watched_percent": "85"}},
		{"tautulli keeps its other options", config.Backend{Type: "tautulli", Options: map[string]string{"page_size": "50"}},
			map[string]string{"page_size": "50", "watched_percent": "85"}},
		{"tautulli's own setting wins", config.Backend{Type: "tautulli", Options: map[string]string{"watched_percent": "95"}},
			map[string]string{"watched_percent": "95"}},
		{"other types get their options as they are", config.Backend{Type: "plex", Options: map[string]string{"page_size": "50"}},
			map[string]string{"page_size": "50"}},
		{"other types get no watched_percent", config.Backend{Type: "jellyfin"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := maps.Clone(tt.backend.Options)
			got := pluginOptions(tt.backend, sync)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.backend.Options); diff != "" {
				t.Errorf("the config's own options changed (-before +after):\n%s", diff)
			}
		})
	}
}
