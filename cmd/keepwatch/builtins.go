package main

import (
	"github.com/spf13/cobra"

	"github.com/keepwatch/keepwatch/backends/emby"
	"github.com/keepwatch/keepwatch/backends/jellyfin"
	"github.com/keepwatch/keepwatch/backends/plex"
	"github.com/keepwatch/keepwatch/backends/tautulli"
	"github.com/keepwatch/keepwatch/plugins"
)

// builtinBackends are the backend types this binary serves itself as
// `keepwatch plugin serve <type>`.
func builtinBackends() map[string]plugins.Factory {
	return map[string]plugins.Factory{
		plex.Type:     plex.New,
		jellyfin.Type: jellyfin.New,
		emby.Type:     emby.New,
		tautulli.Type: tautulli.New,
	}
}

func init() {
	moreCommands = append(moreCommands, func(g *globals) *cobra.Command { return newPluginCmd(g, builtinBackends()) })
}
