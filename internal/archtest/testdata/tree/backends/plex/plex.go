package plex

import (
	_ "example.com/kw/backends/internal/httpx"
	_ "example.com/kw/backends/jellyfin" // violation: another backend
	_ "example.com/kw/core/store"        // violation: backends never import core
	_ "example.com/kw/plugins"
)
