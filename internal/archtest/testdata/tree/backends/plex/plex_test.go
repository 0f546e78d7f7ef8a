package plex_test

import (
	_ "example.com/kw/backends/plex/fake"
	_ "example.com/kw/plugins/plugintest"
)
