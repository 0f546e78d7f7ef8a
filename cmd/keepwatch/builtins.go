package main

import (
	"github.com/spf13/cobra"

	"github.com/keepwatch/keepwatch/plugins"
)

// builtinBackends are the backend types this binary serves itself as
// `keepwatch plugin serve <type>`. None is built yet: the Plex, Jellyfin, Emby
// and Tautulli backends join this map as their issues land.
func builtinBackends() map[string]plugins.Factory { return map[string]plugins.Factory{} }

func init() {
	moreCommands = append(moreCommands, func(*globals) *cobra.Command { return newPluginCmd(builtinBackends()) })
}
